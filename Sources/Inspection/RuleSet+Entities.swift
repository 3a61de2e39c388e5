import NamedEntities
import Patterns

extension RuleSet {
    /// The enabled NER rules that read prompts.
    var promptNERRules: [CompiledNERRule] { nerRules.filter { $0.definition.scope.coversPrompt } }
    /// The enabled NER rules that read answers.
    var outputNERRules: [CompiledNERRule] { nerRules.filter { $0.definition.scope.coversOutput } }

    /// How many bytes of `text` the NER model would read (0 without NER rules).
    func entityWork(_ text: String) -> Int {
        recognizer?.workBytes(text) ?? 0
    }

    /// Every rule of `rules` fails with `text_too_long` because the text is over the NER budget: recorded; those
    /// failing closed block, whatever their action (a span that was never read cannot be tokenized or redacted).
    func entityBudgetFailures(_ rules: [CompiledNERRule], bytes: Int) -> ModelRulesResult {
        var result = ModelRulesResult()
        for rule in rules {
            let failure = RuleFailure(
                ruleID: rule.id, kind: .ner, code: .textTooLong,
                message: "the text needs \(bytes) bytes read by the NER model, over the budget of "
                    + "\(configuration.maxEntityBytes)", mode: rule.definition.onError)
            recordFailure(failure)
            result.failures.append(failure)
            if failure.mode == .closed { result.blocking.append(rule.id) }
        }
        return result
    }

    /// The findings of `rules` in `text` (whose UTF-8 is `bytes`): the model runs once, each rule keeps the types and
    /// scores it wants. An entity that overlaps a placeholder (`<PERSON_1>`) is left alone: the placeholder is
    /// restored later and must stay whole.
    func entityHits(_ rules: [CompiledNERRule], text: String, bytes: UnsafeBufferPointer<UInt8>) -> [SpanHit] {
        guard !rules.isEmpty, let recognizer else { return [] }
        var entities = recognizer.entities(in: text)
        if !entities.isEmpty, bytes.contains(UInt8(ascii: "<")) {
            let placeholders = placeholderRanges(bytes)
            if !placeholders.isEmpty {
                entities.removeAll { entity in placeholders.contains { $0.overlaps(entity.range) } }
            }
        }
        return rules.flatMap { $0.hits(entities, in: bytes) }
    }

    /// Where placeholders of the `<LABEL_n>` form are in `bytes`.
    func placeholderRanges(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        let matcher = PatternMatcher(placeholderPattern)
        var ranges: [Range<Int>] = []
        var position = 0
        while position < bytes.count, let match = try? matcher.match(bytes, from: position, mode: .complete) {
            ranges.append(match.range)
            position = max(match.range.upperBound, match.range.lowerBound + 1)
        }
        return ranges
    }
}

extension RuleSet {
    /// What inspecting these prompt texts asks of the NER models: nothing, linear work (the English model: feature
    /// sums, inline for a short prompt like a regex scan), or a network (LAC: on the pool however short the text).
    public func promptEntityWork(_ messages: [InspectedMessage]) -> PromptEntityWork {
        let rules = promptNERRules
        guard !rules.isEmpty, let recognizer else { return .none }
        var kind = PromptEntityWork.none
        for message in messages where rules.contains(where: { $0.definition.roles.contains(message.role) }) {
            let work = recognizer.work(message.content)
            if work.network { return .network }
            if work.bytes > 0 { kind = .linear }
        }
        return kind
    }

    public enum PromptEntityWork: Sendable {
        case none, linear, network
    }

    /// Whether answers are read by the NER model.
    public var outputNeedsEntityModel: Bool { !outputNERRules.isEmpty }
}
