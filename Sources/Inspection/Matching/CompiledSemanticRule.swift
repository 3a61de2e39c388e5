import Foundation

/// A semantic rule with its exemplars embedded (unit vectors).
final class CompiledSemanticRule: Sendable {
    let definition: RuleDefinition
    let pack: String
    let exemplars: [[Float]]

    init(definition: RuleDefinition, pack: String, exemplars: [[Float]]) {
        self.definition = definition
        self.pack = pack
        self.exemplars = exemplars
    }

    var id: String { definition.id }

    /// Cosine similarity of `vector` (unit length) to the nearest exemplar.
    func similarity(_ vector: [Float]) -> Float {
        var best: Float = -1
        for exemplar in exemplars where exemplar.count == vector.count {
            var dot: Float = 0
            for index in vector.indices { dot += exemplar[index] * vector[index] }
            best = max(best, dot)
        }
        return best
    }
}

/// Cuts a text into pieces short enough that one sentence of intent is not drowned by the rest of a long message:
/// sentences merged up to `maxWords` words (or four times as many characters, for scripts without spaces), at most
/// `maxSegments`, taken from both ends when there are more.
enum TextSegmenter {
    static func segments(_ text: String, maxWords: Int, maxSegments: Int) -> [String] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return [] }
        let maxCharacters = maxWords * 4
        if trimmed.count <= maxCharacters && wordCount(trimmed) <= maxWords { return [trimmed] }
        var sentences: [Substring] = []
        var start = trimmed.startIndex
        for index in trimmed.indices {
            if "。！？!?;；\n".contains(trimmed[index])
                || (trimmed[index] == "." && trimmed.index(after: index) < trimmed.endIndex
                    && trimmed[trimmed.index(after: index)].isWhitespace)
            {
                let end = trimmed.index(after: index)
                sentences.append(trimmed[start..<end])
                start = end
            }
        }
        if start < trimmed.endIndex { sentences.append(trimmed[start...]) }
        var pieces: [String] = []
        var current = ""
        var currentWords = 0
        func flush() {
            let piece = current.trimmingCharacters(in: .whitespacesAndNewlines)
            if !piece.isEmpty { pieces.append(piece) }
            current = ""
            currentWords = 0
        }
        for sentence in sentences {
            var rest = Substring(sentence)
            // A single sentence longer than the limit is cut by characters.
            while rest.count > maxCharacters {
                flush()
                let cut = rest.index(rest.startIndex, offsetBy: maxCharacters)
                current = String(rest[..<cut])
                flush()
                rest = rest[cut...]
            }
            let words = wordCount(rest)
            if currentWords + words > maxWords || current.count + rest.count > maxCharacters { flush() }
            current += rest
            currentWords += words
        }
        flush()
        if pieces.count > maxSegments {
            let head = maxSegments / 2
            pieces = Array(pieces.prefix(head)) + Array(pieces.suffix(maxSegments - head))
        }
        return pieces
    }

    private static func wordCount<S: StringProtocol>(_ text: S) -> Int {
        text.split(whereSeparator: \.isWhitespace).count
    }
}
