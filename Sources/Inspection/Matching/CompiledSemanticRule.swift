import Foundation

/// A semantic rule with its exemplars embedded (unit vectors) and its classifier, if it names one.
final class CompiledSemanticRule: Sendable {
    /// Why a semantic rule matched, and how strongly.
    enum Evidence: Equatable {
        /// Cosine similarity of the nearest exemplar, at or above `threshold`.
        case exemplar(Double)
        /// The classifier's probability, at or above its threshold.
        case classifier(Double)

        var score: Double {
            switch self {
            case .exemplar(let score), .classifier(let score): score
            }
        }
    }

    let definition: RuleDefinition
    let pack: String
    let exemplars: [[Float]]

    init(definition: RuleDefinition, pack: String, exemplars: [[Float]]) {
        self.definition = definition
        self.pack = pack
        self.exemplars = exemplars
    }

    var id: String { definition.id }

    /// Whether the rule compares exemplars (and so needs the text's pieces embedded).
    var usesExemplars: Bool { !exemplars.isEmpty }

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

    /// The best exemplar similarity over `pieces` (nil without exemplars or pieces) and the classifier's
    /// probability of `whole` (nil without a classifier or a vector).
    func scores(pieces: [[Float]], whole: [Float]?) -> (similarity: Double?, probability: Double?) {
        let similarity = usesExemplars ? pieces.map { Double(self.similarity($0)) }.max() : nil
        let probability = whole.flatMap { whole in definition.classifier.map { $0.model.probability(whole) } }
        return (similarity, probability)
    }

    /// The rule matches when the nearest exemplar reaches `threshold` or the classifier reaches its threshold;
    /// the exemplar is asked first, so adding a classifier never changes how an exemplar match is reported.
    func evidence(pieces: [[Float]], whole: [Float]?) -> Evidence? {
        let (similarity, probability) = scores(pieces: pieces, whole: whole)
        if let similarity, similarity >= definition.threshold { return .exemplar(similarity) }
        if let probability, let classifier = definition.classifier, probability >= classifier.threshold {
            return .classifier(probability)
        }
        return nil
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
