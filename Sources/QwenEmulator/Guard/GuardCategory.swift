/// The harm categories Qwen3Guard-Gen names, spelled exactly as the model writes them, in the model's order.
enum GuardCategory: String, Sendable, CaseIterable, Hashable {
    case violent = "Violent"
    case nonViolentIllegalActs = "Non-violent Illegal Acts"
    case sexualContent = "Sexual Content or Sexual Acts"
    case pii = "PII"
    case suicideAndSelfHarm = "Suicide & Self-Harm"
    case unethicalActs = "Unethical Acts"
    case politicallySensitiveTopics = "Politically Sensitive Topics"
    case copyrightViolation = "Copyright Violation"
    /// Only for prompts: an answer is never judged a jailbreak by keyword.
    case jailbreak = "Jailbreak"

    /// The category named `name`, ignoring case and surrounding spaces.
    init?(named name: String) {
        let wanted = name.trimmingSpaces().lowercased()
        guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == wanted }) else { return nil }
        self = match
    }
}

/// The `Safety:` level of a verdict.
enum GuardSafety: String, Sendable, CaseIterable, Hashable {
    case safe = "Safe"
    case unsafe = "Unsafe"
    case controversial = "Controversial"

    /// The level named `name`, ignoring case and surrounding spaces.
    init?(named name: String) {
        let wanted = name.trimmingSpaces().lowercased()
        guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == wanted }) else { return nil }
        self = match
    }
}
