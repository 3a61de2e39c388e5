/// Splits text into tokens roughly the way real tokenizers do, losslessly: joining the tokens gives the text back.
///
/// A token is a run of characters up to the next whitespace, carrying the whitespace in front of it (`"Hello"`,
/// `" there"`); punctuation that ends a run becomes a token of its own (`" there"`, `","`); each CJK character or CJK
/// punctuation mark is one token. Everything else inside a run stays whole, so placeholders (`<EMAIL_1>`),
/// addresses (`jane.doe@example.com`) and digit groups (`4111`) are never cut.
enum TextTokens {
    static func split(_ text: String) -> [String] {
        var tokens: [String] = []
        var pendingSpace = ""
        var word = ""

        func flushWord() {
            guard !word.isEmpty else { return }
            tokens.append(contentsOf: splittingTrailingPunctuation(pendingSpace + word, leading: pendingSpace.count))
            pendingSpace = ""
            word = ""
        }

        for character in text {
            if character.isWhitespace {
                flushWord()
                pendingSpace.append(character)
            } else if isStandalone(character) {
                flushWord()
                tokens.append(pendingSpace + String(character))
                pendingSpace = ""
            } else {
                word.append(character)
            }
        }
        flushWord()
        // Whitespace at the very end has no word to lean on: it becomes the last token's tail.
        if !pendingSpace.isEmpty {
            if tokens.isEmpty { tokens.append(pendingSpace) } else { tokens[tokens.count - 1] += pendingSpace }
        }
        return tokens
    }

    /// `" there,"` → `[" there", ","]`; a run of nothing but punctuation keeps its first mark with the whitespace.
    private static func splittingTrailingPunctuation(_ token: String, leading: Int) -> [String] {
        let characters = Array(token)
        var end = characters.count
        while end > leading + 1, trailingPunctuation.contains(characters[end - 1]) { end -= 1 }
        return [String(characters[..<end])] + characters[end...].map { String($0) }
    }

    /// A character that is a token by itself: CJK ideographs, kana, Hangul and CJK punctuation.
    private static func isStandalone(_ character: Character) -> Bool {
        guard let scalar = character.unicodeScalars.first else { return false }
        if AnswerComposer.isCJK(scalar) { return true }
        switch scalar.value {
        case 0x3000...0x303F, 0xFF00...0xFF65: return true  // CJK symbols and punctuation, full-width forms
        default: return false
        }
    }

    private static let trailingPunctuation: Set<Character> = [",", ".", ";", ":", "!", "?", ")", "]", "}", "\"", "'"]
}
