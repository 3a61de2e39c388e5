import Embeddings
import Patterns

extension RuleSet {
    /// Inspects a whole answer (not streamed): regex rules with output scope (tokenize acts as redact), semantic and
    /// guard rules, refusal detection; then restores the prompt's placeholders. `prompt` is what the guard judges the
    /// answer against.
    public func inspectOutput(text: String, prompt: [InspectedMessage] = [], tokens: TokenizationMap = .init()) async
        -> OutputInspection
    {
        let patterns = inspectOutputPatterns(text: text)
        // The model-based rules read the answer with the output rules applied and the placeholders kept.
        let models = await inspectOutputModels(text: patterns.text, prompt: prompt)
        let answer = tokens.restore(in: patterns.text)
        let blocking = patterns.decision.blockingRules + models.decision.blockingRules
        return OutputInspection(
            decision: blocking.isEmpty ? .allow : .block(rules: Self.unique(blocking)), text: answer,
            isModified: answer != text, findings: patterns.findings + models.findings,
            failures: patterns.failures + models.failures, refusal: models.refusal)
    }

    /// The regex part of `inspectOutput`, synchronous: output-scope rules applied (tokenize acts as redact), no
    /// placeholder restored, no refusal detection. What a cache stores is this text.
    public func inspectOutputPatterns(text: String) -> OutputInspection {
        var findings: [Finding] = []
        var failures: [RuleFailure] = []
        var blocking: [String] = []
        var source = text
        var entityRules = outputNERRules
        if !entityRules.isEmpty, case let work = entityWork(text), work > configuration.maxEntityBytes {
            let failed = entityBudgetFailures(entityRules, bytes: work)
            failures += failed.failures
            blocking += failed.blocking
            entityRules = []
        }
        let rewritten: String? = source.withUTF8 { bytes in
            var result = scan(bytes, groups: inspectGroups, mode: .complete) { $0.definition.scope.coversOutput }
            result.hits += entityHits(entityRules, text: text, bytes: bytes)
            for (rule, error) in result.failures {
                let failure = regexFailure(rule, error)
                failures.append(failure)
                if failure.mode == .closed { blocking.append(rule.id) }
            }
            for hit in result.hits where hit.rule.definition.action == .block || hit.rule.definition.action == .flag {
                findings.append(finding(hit, messageIndex: nil))
                if hit.rule.definition.action == .block { blocking.append(hit.rule.id) }
            }
            let transforming = result.transformingHits { $0.rule.definition.action.transformsText }
            guard !transforming.isEmpty else { return nil }
            findings += transforming.map { finding($0, messageIndex: nil) }
            var scratch = TokenizationMap()
            return Self.apply(transforming, to: bytes, tokens: &scratch, allowTokenize: false)
        }
        return OutputInspection(
            decision: blocking.isEmpty ? .allow : .block(rules: Self.unique(blocking)), text: rewritten ?? text,
            isModified: rewritten != nil, findings: findings, failures: failures, refusal: nil)
    }

    /// Whether any enabled semantic or guard rule reads answers (refusal detection aside).
    public var inspectsOutputWithModels: Bool {
        semanticRules.contains { $0.definition.scope.coversOutput && !isRefusalRule($0.pack) }
            || guardRules.contains { $0.definition.scope.coversOutput }
    }

    /// The model-based part of `inspectOutput`: semantic and guard rules on the whole answer, and refusal detection
    /// (phrases, then the refusal pack's semantic rules, or a guard's `Refusal: Yes`). The text is not changed. For
    /// a stream this runs once the answer is complete.
    ///
    /// `complete: false` says `text` is only the opening of a longer answer (a stream past what Airlock keeps): refusal
    /// detection reads the opening as always, and every semantic and guard rule fails with `text_too_long`, which its
    /// `on_error` turns into a block or a pass; no rule is told it judged text it never saw.
    public func inspectOutputModels(text: String, prompt: [InspectedMessage] = [], complete: Bool = true) async
        -> OutputInspection
    {
        let semantic = semanticRules.filter { $0.definition.scope.coversOutput && !isRefusalRule($0.pack) }
        let guards = guardRules.filter { $0.definition.scope.coversOutput }
        let semanticResult: ModelRulesResult
        let guardResult: (model: ModelRulesResult, refusal: RefusalVerdict?)
        let refusalByRules: RefusalVerdict?
        if complete {
            async let semanticPart = evaluateSemantic(semantic, texts: { _ in [text] })
            async let guardPart = evaluateGuards(guards, prompt: prompt, answer: text)
            async let refusalPart = detectRefusal(text: text)
            (semanticResult, guardResult, refusalByRules) = await (semanticPart, guardPart, refusalPart)
        } else {
            let message = "the answer is longer than Airlock keeps of a streamed answer"
            semanticResult = failing(semantic.map { ($0.id, .semantic, $0.definition) }, .textTooLong, message)
            guardResult = (failing(guards.map { ($0.id, .guard, $0.definition) }, .textTooLong, message), nil)
            refusalByRules = await detectRefusal(text: text)
        }
        var findings: [Finding] = []
        var failures: [RuleFailure] = []
        var blocking: [String] = []
        for part in [semanticResult, guardResult.model] {
            findings += part.findings
            failures += part.failures
            blocking += part.blocking
        }
        return OutputInspection(
            decision: blocking.isEmpty ? .allow : .block(rules: Self.unique(blocking)), text: text,
            isModified: false, findings: findings, failures: failures, refusal: refusalByRules ?? guardResult.refusal)
    }

    /// Whether `text` reads as the model declining, by the refusal pack's phrase and lexical rules (synchronous,
    /// no embedding: microseconds).
    public func isRefusal(text: String) -> Bool {
        refusalByPatterns(text: text) != nil
    }

    /// The first refusal phrase rule that matches `text`, else the lexical rule with the highest probability at or
    /// above its threshold.
    public func refusalByPatterns(text: String) -> RefusalVerdict? {
        guard !text.isEmpty else { return nil }
        if !refusalGroups.isEmpty {
            var bytes = text
            let phrase: RefusalVerdict? = bytes.withUTF8 { bytes in
                let result = scan(bytes, groups: refusalGroups, mode: .complete) { _ in true }
                guard let hit = result.hits.first else { return nil }
                return RefusalVerdict(ruleID: hit.rule.id, source: .phrase, score: hit.score)
            }
            if let phrase { return phrase }
        }
        var best: RefusalVerdict?
        for rule in lexicalRules {
            if let score = rule.evidence(text), score > (best?.score ?? -1) {
                best = RefusalVerdict(ruleID: rule.id, source: .lexical, score: score)
            }
        }
        return best
    }

    /// Phrase and lexical rules, then the refusal pack's semantic rules on the answer's opening: exemplars of
    /// declining answers (the best similarity wins), then classifiers (the best probability wins). Both read the same
    /// opening.
    public func detectRefusal(text: String) async -> RefusalVerdict? {
        if let verdict = refusalByPatterns(text: text) { return verdict }
        let rules = semanticRules.filter { isRefusalRule($0.pack) }
        guard !rules.isEmpty, let embedder else { return nil }
        // A model declines at the start; the opening is what carries it.
        let opening = String(text.prefix(Self.refusalOpeningCharacters))
        guard !opening.isEmpty, let vector = try? await embedder.embed([opening]).first else { return nil }
        var bestExemplar: (rule: CompiledSemanticRule, score: Double)?
        var bestClassifier: (rule: CompiledSemanticRule, score: Double)?
        for rule in rules {
            switch rule.evidence(pieces: [vector], whole: vector) {
            case .exemplar(let score)?:
                if score > (bestExemplar?.score ?? -2) { bestExemplar = (rule, score) }
            case .classifier(let score)?:
                if score > (bestClassifier?.score ?? -2) { bestClassifier = (rule, score) }
            case nil:
                break
            }
        }
        if let (rule, score) = bestExemplar { return RefusalVerdict(ruleID: rule.id, source: .semantic, score: score) }
        if let (rule, score) = bestClassifier {
            return RefusalVerdict(ruleID: rule.id, source: .classifier, score: score)
        }
        return nil
    }

    /// How much of an answer the refusal pack's semantic rules read (characters from the start).
    public static let refusalOpeningCharacters = 400

    /// Findings of every enabled regex rule that names an entity and of every NER rule, all scopes and roles, overlaps
    /// resolved as for redaction. Ranges are UTF-8 byte offsets. For evaluation and tooling.
    public func detectEntities(in text: String) -> [Finding] {
        var source = text
        return source.withUTF8 { bytes in
            var result = scan(bytes, groups: inspectGroups, mode: .complete) { $0.definition.entity != nil }
            result.hits += entityHits(nerRules, text: text, bytes: bytes)
            return result.transformingHits { _ in true }.map { finding($0, messageIndex: nil) }
        }
    }

    /// Every enabled rule (regex and semantic, not guard) of the inspect packs that matches `text` as a prompt from
    /// `role`. For evaluation and tooling.
    public func matchingRules(prompt text: String, role: String = "user", packs: Set<String>? = nil) async -> [Finding] {
        let inspection = await inspectPrompt(messages: [InspectedMessage(role: role, content: text)])
        return inspection.findings.filter { packs?.contains($0.pack) ?? true }
    }
}
