/// One Qwen3Guard-Gen verdict, rendered exactly as the model writes it:
/// `Safety: Unsafe\nCategories: Violent, Jailbreak`, plus `\nRefusal: Yes|No` when an answer was judged.
struct GuardJudgement: Sendable, Equatable {
    var safety: GuardSafety
    /// In the order written; empty renders as `None`.
    var categories: [GuardCategory]
    /// `nil` for a prompt; whether the judged answer declines, for an answer.
    var refusal: Bool?

    var text: String {
        let named = categories.isEmpty ? "None" : categories.map(\.rawValue).joined(separator: ", ")
        var text = "Safety: \(safety.rawValue)\nCategories: \(named)"
        if let refusal { text += "\nRefusal: " + (refusal ? "Yes" : "No") }
        return text
    }

    /// The verdict as answer tokens: words and lines, as the model would stream them.
    var tokens: [String] { TextTokens.split(text) }
}
