/// Where the content of a 200 answer comes from, decided before the first byte: by the fault served, then by the
/// model (a Qwen3Guard-Gen model gives a verdict), then by the prompt (`[[echo]]`).
enum AnswerSource: Sendable, Equatable {
    /// Deterministic words derived from the last user message.
    case composed
    /// The model declines, in the prompt's language (`refusal` fault).
    case refusal
    /// The last user message said back, markers removed (`[[echo]]`).
    case echo
    /// A Qwen3Guard-Gen verdict.
    case guardVerdict(GuardJudgement)
    /// Fixed text with personal data the prompt never contained (`pii_leak` fault).
    case piiLeak

    /// What a request gets when no fault replaces its content: the guard verdict when there is one, its echo when
    /// asked for, composed words otherwise.
    static func natural(for request: ChatRequest, verdict: GuardJudgement?) -> AnswerSource {
        if let verdict { return .guardVerdict(verdict) }
        return EchoAnswer.isRequested(in: request.lastUserText) ? .echo : .composed
    }
}
