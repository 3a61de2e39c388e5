import Foundation

/// The BERT uncased tokenizer of all-MiniLM-L6-v2, token for token the same as the reference (`tokenizers`
/// with the model's tokenizer.json): special tokens written in the text, then clean-up, CJK spacing, NFD
/// with accents stripped, lowercase, whitespace and punctuation splitting, and greedy longest-match WordPiece.
public struct BertTokenizer: Sendable {
    /// The longest sequence, `[CLS]` and `[SEP]` included (sentence-transformers' `max_seq_length`).
    public let maxSequenceLength: Int
    public let clsID: Int32
    public let sepID: Int32
    public let unkID: Int32
    public let padID: Int32
    public var vocabularySize: Int { vocabulary.count }

    /// Words longer than this many characters become `[UNK]` without being split.
    static let maxCharactersPerWord = 100
    private static let continuationPrefix = "##"

    private let vocabulary: [String: Int32]
    /// Special tokens recognised verbatim in the input text, as the reference's added vocabulary does.
    private let specialTokens: [(text: [UInt8], id: Int32)]
    /// No vocabulary entry is longer than this many Unicode scalars, which bounds the WordPiece search.
    private let longestPiece: Int

    /// Reads a `vocab.txt`: one token a line, the line number is the id.
    public init(vocabularyFile path: String, maxSequenceLength: Int = 256) throws(EmbeddingError) {
        let contents: String
        do {
            contents = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw EmbeddingError(.modelMissing, "cannot read vocabulary \(path): \(error.localizedDescription)")
        }
        var tokens = contents.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        if tokens.last == "" { tokens.removeLast() }
        try self.init(vocabulary: tokens, maxSequenceLength: maxSequenceLength)
    }

    public init(vocabulary tokens: [String], maxSequenceLength: Int = 256) throws(EmbeddingError) {
        guard maxSequenceLength >= 2 else {
            throw EmbeddingError(.invalidConfiguration, "maxSequenceLength \(maxSequenceLength) must be at least 2")
        }
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(tokens.count)
        var longest = 1
        for (index, token) in tokens.enumerated() where vocabulary[token] == nil {
            vocabulary[token] = Int32(index)
            longest = max(longest, token.unicodeScalars.count)
        }
        func required(_ token: String) throws(EmbeddingError) -> Int32 {
            guard let id = vocabulary[token] else {
                throw EmbeddingError(.invalidVocabulary, "the vocabulary has no \(token)")
            }
            return id
        }
        self.vocabulary = vocabulary
        self.maxSequenceLength = maxSequenceLength
        self.longestPiece = longest
        self.clsID = try required("[CLS]")
        self.sepID = try required("[SEP]")
        self.unkID = try required("[UNK]")
        self.padID = try required("[PAD]")
        self.specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { token in
            vocabulary[token].map { (Array(token.utf8), $0) }
        }
    }

    /// Token ids of one text: `[CLS]`, at most `maxSequenceLength - 2` word pieces, `[SEP]`.
    public func encode(_ text: String) -> [Int32] {
        let budget = maxSequenceLength - 2
        var ids: [Int32] = [clsID]
        ids.reserveCapacity(min(budget, text.utf8.count + 8) + 2)
        var pieceCount = 0
        forEachSegment(of: text) { segment, specialID in
            if let specialID {
                if pieceCount < budget { ids.append(specialID) }
                pieceCount += 1
                return pieceCount < budget
            }
            for word in preTokenize(normalize(segment)) {
                if pieceCount >= budget { return false }
                wordPiece(word) { id in
                    if pieceCount < budget { ids.append(id) }
                    pieceCount += 1
                }
            }
            return pieceCount < budget
        }
        ids.append(sepID)
        return ids
    }

    /// Splits the text around special tokens written in it, leftmost first.
    private func forEachSegment(of text: String, _ body: (Substring, Int32?) -> Bool) {
        let utf8 = text.utf8
        var segmentStart = utf8.startIndex
        var index = utf8.startIndex
        while index != utf8.endIndex {
            if utf8[index] == UInt8(ascii: "["), let (token, id) = specialToken(at: index, in: utf8) {
                let end = utf8.index(index, offsetBy: token.count)
                if segmentStart != index, !body(text[segmentStart..<index], nil) { return }
                if !body(text[index..<end], id) { return }
                segmentStart = end
                index = end
            } else {
                index = utf8.index(after: index)
            }
        }
        if segmentStart != utf8.endIndex { _ = body(text[segmentStart..<utf8.endIndex], nil) }
    }

    private func specialToken(at index: String.UTF8View.Index, in utf8: String.UTF8View) -> ([UInt8], Int32)? {
        for (token, id) in specialTokens {
            var cursor = index
            var matched = true
            for byte in token {
                guard cursor != utf8.endIndex, utf8[cursor] == byte else {
                    matched = false
                    break
                }
                cursor = utf8.index(after: cursor)
            }
            if matched { return (token, id) }
        }
        return nil
    }

    /// clean_text, handle_chinese_chars, strip_accents (NFD, drop nonspacing marks), lowercase: in the
    /// reference's order.
    func normalize(_ text: Substring) -> [Unicode.Scalar] {
        var cleaned: [Unicode.Scalar] = []
        cleaned.reserveCapacity(text.utf8.count)
        var isASCII = true
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if BertCharacterClass.isRemoved(value) { continue }
            if BertCharacterClass.isWhitespace(value) {
                cleaned.append(" ")
            } else if BertCharacterClass.isIdeograph(value) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
                isASCII = false
            } else {
                cleaned.append(scalar)
                if value >= 0x80 { isASCII = false }
            }
        }
        if isASCII {
            for i in cleaned.indices where (0x41...0x5A).contains(cleaned[i].value) {
                cleaned[i] = Unicode.Scalar(cleaned[i].value + 0x20)!
            }
            return cleaned
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: cleaned)
        let decomposed = String(view).decomposedStringWithCanonicalMapping
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(cleaned.count)
        for scalar in decomposed.unicodeScalars where !BertCharacterClass.isNonspacingMark(scalar.value) {
            if scalar.value < 0x80 {
                result.append((0x41...0x5A).contains(scalar.value) ? Unicode.Scalar(scalar.value + 0x20)! : scalar)
            } else if scalar.properties.changesWhenLowercased {
                // Per character, as the reference does: no context-dependent rules such as final sigma.
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                result.append(scalar)
            }
        }
        return result
    }

    /// Splits on whitespace (dropped) and punctuation (kept as one-character words).
    func preTokenize(_ scalars: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var start = 0
        for (index, scalar) in scalars.enumerated() {
            let value = scalar.value
            if value == 0x20 || BertCharacterClass.isWhitespace(value) {
                if start < index { words.append(scalars[start..<index]) }
                start = index + 1
            } else if BertCharacterClass.isPunctuation(value) {
                if start < index { words.append(scalars[start..<index]) }
                words.append(scalars[index..<index + 1])
                start = index + 1
            }
        }
        if start < scalars.count { words.append(scalars[start..<scalars.count]) }
        return words
    }

    /// Greedy longest-match-first WordPiece; a word with any unmatched part is a single `[UNK]`.
    func wordPiece(_ word: ArraySlice<Unicode.Scalar>, _ emit: (Int32) -> Void) {
        if word.count > Self.maxCharactersPerWord {
            emit(unkID)
            return
        }
        var pieces: [Int32] = []
        var start = word.startIndex
        while start < word.endIndex {
            var end = min(word.endIndex, start + longestPiece)
            var found: Int32?
            while end > start {
                var candidate = String.UnicodeScalarView()
                if start > word.startIndex { candidate.append(contentsOf: Self.continuationPrefix.unicodeScalars) }
                candidate.append(contentsOf: word[start..<end])
                if let id = vocabulary[String(candidate)] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                emit(unkID)
                return
            }
            pieces.append(id)
            start = end
        }
        pieces.forEach(emit)
    }
}
