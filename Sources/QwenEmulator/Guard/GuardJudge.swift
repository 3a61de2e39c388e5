/// Answers like Qwen3Guard-Gen. A conversation whose last message is from the assistant is an answer to judge (the
/// verdict adds `Refusal:`); otherwise the last user message is a prompt to judge. A `[[guard:…]]` marker in the
/// judged text forces the level and categories; without one, ``GuardKeywords`` decide (any hit is `Unsafe`, none is
/// `Safe`). Other `[[…]]` markers are ignored.
enum GuardJudge {
    static func judge(_ messages: [ChatRequest.Message]) -> Result<GuardJudgement, QwenAPIError> {
        let judgingAnswer = messages.last?.role == "assistant"
        let judged =
            judgingAnswer
            ? messages.last?.text ?? ""
            : messages.last(where: { $0.role == "user" })?.text ?? ""
        let text = MarkerText.strippedAll(judged)
        let refusal = judgingAnswer ? RefusalDetector.isRefusal(text) : nil

        switch GuardMarker.forced(in: judged) {
        case .failure(let error):
            return .failure(error)
        case .success(let forced?):
            return .success(GuardJudgement(safety: forced.safety, categories: forced.categories, refusal: refusal))
        case .success(nil):
            let categories = GuardKeywords.categories(in: text, includeJailbreak: !judgingAnswer)
            return .success(
                GuardJudgement(
                    safety: categories.isEmpty ? .safe : .unsafe, categories: categories, refusal: refusal))
        }
    }
}
