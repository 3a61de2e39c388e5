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
/// sentences merged up to `maxWords` words (or four times as many characters, for scripts without spaces). Every
/// piece of the text is returned, in order: a long text is judged in full, never sampled.
enum TextSegmenter {
    static func segments(_ text: String, maxWords: Int) -> [String] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return [] }
        let maxCharacters = maxWords * 4
        if trimmed.count <= maxCharacters && wordCount(trimmed) <= maxWords { return [trimmed] }
        var pieces: [String] = []
        var current = ""
        var currentWords = 0
        func flush() {
            let piece = current.trimmingCharacters(in: .whitespacesAndNewlines)
            if !piece.isEmpty { pieces.append(piece) }
            current = ""
            currentWords = 0
        }
        for sentence in sentences(trimmed) {
            var rest = sentence
            // A single sentence longer than the limit is cut by characters. Its length is counted once and then
            // decremented: counting the rest again at every cut made a 1 MiB sentence quadratic.
            var restCount = rest.count
            while restCount > maxCharacters {
                flush()
                let cut = rest.index(rest.startIndex, offsetBy: maxCharacters)
                current = String(rest[..<cut])
                flush()
                rest = rest[cut...]
                restCount -= maxCharacters
            }
            let words = wordCount(rest)
            if currentWords + words > maxWords || current.count + rest.count > maxCharacters { flush() }
            current += rest
            currentWords += words
        }
        flush()
        return pieces
    }

    /// What a classifier reads: the whole text when it fits the embedding model's window (`maxTokens`, estimated),
    /// else consecutive windows that each fit, cut at sentence ends where possible, so no part of a long text goes
    /// unread behind the model's truncation.
    static func windows(_ text: String, maxTokens: Int) -> [String] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return [] }
        if estimatedTokens(trimmed) <= maxTokens { return [trimmed] }
        let target = max(8, maxTokens * 3 / 4)
        var pieces: [String] = []
        var current = ""
        var currentTokens = 0
        func flush() {
            let piece = current.trimmingCharacters(in: .whitespacesAndNewlines)
            if !piece.isEmpty { pieces.append(piece) }
            current = ""
            currentTokens = 0
        }
        for sentence in sentences(trimmed) {
            // The sentence is estimated once; each cut then takes its own count off (estimating the rest again at
            // every cut was quadratic: 117 s for a 1 MiB prompt without sentence ends).
            var tokens = estimatedTokens(sentence)
            var rest = sentence
            while tokens > target && !rest.isEmpty {
                // Too long for one window: cut it where the estimate reaches the target.
                flush()
                var count = 0.0
                var cut = rest.startIndex
                var inWord = false
                while cut < rest.endIndex, count < Double(target) {
                    count += tokenWeight(rest[cut], inWord: &inWord)
                    cut = rest.index(after: cut)
                }
                if cut == rest.startIndex { cut = rest.index(after: cut) }
                current = String(rest[..<cut])
                flush()
                rest = rest[cut...]
                tokens = rest.isEmpty ? 0 : max(1, tokens - Int(count.rounded(.down)))
            }
            if currentTokens + tokens > target { flush() }
            current += rest
            currentTokens += tokens
        }
        flush()
        return pieces
    }

    /// A rough WordPiece token count: a word of Latin script is about 1.3 tokens, a CJK character one.
    static func estimatedTokens<S: StringProtocol>(_ text: S) -> Int {
        var total = 0.0
        var inWord = false
        for character in text { total += tokenWeight(character, inWord: &inWord) }
        return Int(total.rounded(.up))
    }

    private static func tokenWeight(_ character: Character, inWord: inout Bool) -> Double {
        if character.isWhitespace {
            inWord = false
            return 0
        }
        if let scalar = character.unicodeScalars.first, isDense(scalar) {
            inWord = false
            return 1
        }
        if character.isPunctuation || character.isSymbol {
            inWord = false
            return 1
        }
        defer { inWord = true }
        return inWord ? 0 : 1.3
    }

    /// Scripts written without spaces, where a tokenizer spends about one token per character.
    private static func isDense(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7AF, 0xF900...0xFAFF, 0x20000...0x2FA1F:
            return true
        default:
            return false
        }
    }

    private static func sentences(_ trimmed: String) -> [Substring] {
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
        return sentences
    }

    private static func wordCount<S: StringProtocol>(_ text: S) -> Int {
        text.split(whereSeparator: \.isWhitespace).count
    }
}
