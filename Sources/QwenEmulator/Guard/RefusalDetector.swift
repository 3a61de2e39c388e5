/// Whether an answer declines: it opens with one of the emulator's own refusals or a common refusal phrase.
enum RefusalDetector {
    static let phrases: [String] = [
        AnswerComposer.refusalTokens(prompt: "refuse").joined(),
        AnswerComposer.refusalTokens(prompt: "拒绝").joined(),
        "I'm sorry, but I can't", "I'm sorry, but I cannot", "I am sorry, but I cannot", "I cannot", "I can't help",
        "I can't assist", "I won't help", "Sorry, I can't", "抱歉", "对不起，我无法", "很抱歉", "我无法",
    ]

    static func isRefusal(_ text: String) -> Bool {
        let opening = normalized(text)
        return phrases.contains { opening.hasPrefix(normalized($0)) }
    }

    /// Lower-cased, trimmed, typographic apostrophes made straight.
    private static func normalized(_ text: String) -> String {
        text.trimmingSpaces().lowercased().replacing("\u{2019}", with: "'")
    }
}
