import Embeddings
import Foundation
import Patterns

extension RuleSet {
    /// Inspects a prompt: regex rules on every message whose role a rule lists; semantic and guard rules on the last
    /// such message (earlier turns were inspected when they were sent). Never throws: a rule that cannot decide is
    /// handled per its `on_error` and reported in `failures`.
    ///
    /// On `.block`, send nothing upstream. Otherwise send `messages` (possibly transformed) and keep `tokens` to
    /// restore placeholders in the answer.
    public func inspectPrompt(messages: [InspectedMessage]) async -> PromptInspection {
        var inspection = inspectPromptPatterns(messages: messages)
        let semantic = semanticRules.filter { $0.definition.scope.coversPrompt && !isRefusalRule($0.pack) }
        let guards = guardRules.filter { $0.definition.scope.coversPrompt }
        guard !semantic.isEmpty || !guards.isEmpty else { return inspection }

        async let semanticPart = evaluateSemantic(
            semantic, texts: { rule in Self.lastMessage(messages, roles: rule.definition.roles) })
        async let guardPart = evaluateGuards(guards, prompt: messages, answer: nil)
        let (semanticResult, guardResult) = await (semanticPart, guardPart)
        var blocking = inspection.decision.blockingRules
        for part in [semanticResult, guardResult.model] {
            inspection.findings += part.findings
            inspection.failures += part.failures
            blocking += part.blocking
        }
        if !blocking.isEmpty { inspection.decision = .block(rules: Self.unique(blocking)) }
        return inspection
    }

    /// The regex part of `inspectPrompt`, synchronous (no model calls): what a request pays on its hot path.
    public func inspectPromptPatterns(messages: [InspectedMessage]) -> PromptInspection {
        var tokens = TokenizationMap()
        var findings: [Finding] = []
        var failures: [RuleFailure] = []
        var blocking: [String] = []
        var output = messages
        var modified = false
        for (index, message) in messages.enumerated() where !message.content.isEmpty {
            let role = message.role
            var content = message.content
            let rewritten: String? = content.withUTF8 { bytes in
                let result = scan(bytes, groups: inspectGroups, mode: .complete) { rule in
                    rule.definition.scope.coversPrompt && rule.definition.roles.contains(role)
                }
                for (rule, error) in result.failures {
                    let failure = regexFailure(rule, error)
                    failures.append(failure)
                    if failure.mode == .closed { blocking.append(rule.id) }
                }
                for hit in result.hits where hit.rule.definition.action == .block || hit.rule.definition.action == .flag {
                    findings.append(finding(hit, messageIndex: index))
                    if hit.rule.definition.action == .block { blocking.append(hit.rule.id) }
                }
                let transforming = result.transformingHits { $0.rule.definition.action.transformsText }
                guard !transforming.isEmpty else { return nil }
                findings += transforming.map { finding($0, messageIndex: index) }
                return Self.apply(transforming, to: bytes, tokens: &tokens, allowTokenize: true)
            }
            if let rewritten {
                output[index].content = rewritten
                modified = true
            }
        }
        return PromptInspection(
            decision: blocking.isEmpty ? .allow : .block(rules: Self.unique(blocking)), messages: output,
            isModified: modified, tokens: tokens, findings: findings, failures: failures)
    }

    // MARK: - Shared machinery

    func scan(
        _ bytes: UnsafeBufferPointer<UInt8>, from offset: Int = 0, groups: [ScanGroup], mode: PatternMatcher.Mode,
        include: (CompiledRegexRule) -> Bool
    ) -> RegexScanResult {
        var result = RegexScanResult()
        for group in groups {
            group.scan(bytes, from: offset, mode: mode, include: include, into: &result)
        }
        return result
    }

    func regexFailure(_ rule: CompiledRegexRule, _ error: PatternError) -> RuleFailure {
        let failure = RuleFailure(
            ruleID: rule.id, kind: .regex, code: .matchLimit, message: error.description, mode: rule.definition.onError)
        recordFailure(failure)
        return failure
    }

    func finding(_ hit: RegexHit, messageIndex: Int?) -> Finding {
        Finding(
            ruleID: hit.rule.id, pack: hit.rule.pack, kind: .regex, entity: hit.rule.definition.entity,
            action: hit.rule.definition.action, messageIndex: messageIndex, range: hit.range, score: hit.score)
    }

    /// `bytes` with each hit replaced per its rule's action. Hits are sorted and do not overlap.
    static func apply(
        _ hits: [RegexHit], to bytes: UnsafeBufferPointer<UInt8>, tokens: inout TokenizationMap, allowTokenize: Bool
    ) -> String {
        var result = ""
        result.reserveCapacity(bytes.count + 16 * hits.count)
        var position = 0
        for hit in hits where hit.range.lowerBound >= position && hit.range.upperBound <= bytes.count {
            result += String(decoding: UnsafeBufferPointer(rebasing: bytes[position..<hit.range.lowerBound]), as: UTF8.self)
            let original = String(decoding: UnsafeBufferPointer(rebasing: bytes[hit.range]), as: UTF8.self)
            result += Replacement.text(
                for: hit.rule.definition.action, label: hit.rule.definition.label, original: Substring(original),
                tokens: &tokens, allowTokenize: allowTokenize) ?? original
            position = hit.range.upperBound
        }
        result += String(decoding: UnsafeBufferPointer(rebasing: bytes[position...]), as: UTF8.self)
        return result
    }

    static func lastMessage(_ messages: [InspectedMessage], roles: [String]) -> String? {
        messages.last { roles.contains($0.role) && !$0.content.isEmpty }?.content
    }

    /// `ids` without repeats, first occurrence kept.
    public static func uniqueIDs(_ ids: [String]) -> [String] { unique(ids) }

    static func unique(_ ids: [String]) -> [String] {
        var seen: Set<String> = []
        return ids.filter { seen.insert($0).inserted }
    }

    struct ModelRulesResult: Sendable {
        var findings: [Finding] = []
        var failures: [RuleFailure] = []
        var blocking: [String] = []
    }

    /// Embeds what the rules read in one call, each distinct string once: the text cut into segments for exemplar
    /// comparison, and the whole trimmed text (as the model sees it, truncated to its window) for a classifier. A
    /// short text is its own single segment, so it is embedded once for both.
    func evaluateSemantic(
        _ rules: [CompiledSemanticRule], texts: (CompiledSemanticRule) -> String?
    ) async -> ModelRulesResult {
        var result = ModelRulesResult()
        guard let embedder, !rules.isEmpty else { return result }
        var inputs: [String] = []
        var inputIndex: [String: Int] = [:]
        func intern(_ input: String) -> Int {
            if let index = inputIndex[input] { return index }
            inputIndex[input] = inputs.count
            inputs.append(input)
            return inputs.count - 1
        }
        var segmentsByText: [String: [Int]] = [:]
        var plans: [(rule: CompiledSemanticRule, segments: [Int], whole: Int?)] = []
        for rule in rules {
            guard let text = texts(rule) else { continue }
            var segments: [Int] = []
            if rule.usesExemplars {
                if let known = segmentsByText[text] {
                    segments = known
                } else {
                    segments = TextSegmenter.segments(
                        text, maxWords: configuration.semanticSegmentWords,
                        maxSegments: configuration.maxSemanticSegments
                    ).map(intern)
                    segmentsByText[text] = segments
                }
            }
            var whole: Int?
            if rule.definition.classifier != nil {
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { whole = intern(trimmed) }
            }
            if !segments.isEmpty || whole != nil { plans.append((rule, segments, whole)) }
        }
        guard !inputs.isEmpty else { return result }
        let vectors: [[Float]]
        do {
            vectors = try await embedder.embed(inputs)
        } catch {
            for (rule, _, _) in plans {
                let failure = RuleFailure(
                    ruleID: rule.id, kind: .semantic, code: .embeddingUnavailable, message: "\(error)",
                    mode: rule.definition.onError)
                recordFailure(failure)
                result.failures.append(failure)
                if failure.mode == .closed && rule.definition.action == .block { result.blocking.append(rule.id) }
            }
            return result
        }
        for (rule, segments, whole) in plans {
            guard let evidence = rule.evidence(pieces: segments.map { vectors[$0] }, whole: whole.map { vectors[$0] })
            else { continue }
            result.findings.append(
                Finding(
                    ruleID: rule.id, pack: rule.pack, kind: .semantic, entity: rule.definition.entity,
                    action: rule.definition.action, messageIndex: nil, range: nil, score: evidence.score))
            if rule.definition.action == .block { result.blocking.append(rule.id) }
        }
        return result
    }

    /// Calls every guard rule concurrently; each honours its own timeout and `on_error`.
    func evaluateGuards(_ rules: [CompiledGuardRule], prompt messages: [InspectedMessage], answer: String?) async
        -> (model: ModelRulesResult, refusal: RefusalVerdict?)
    {
        var result = ModelRulesResult()
        guard let upstream, !rules.isEmpty else { return (result, nil) }
        let maxBytes = configuration.guardMaxResponseBytes
        let outcomes = await withTaskGroup(of: (Int, Result<GuardVerdict, InspectionError>?).self) { group in
            for (index, rule) in rules.enumerated() {
                let prompt = Self.lastMessage(messages, roles: rule.definition.roles) ?? ""
                if prompt.isEmpty && answer == nil { continue }
                group.addTask {
                    do throws(InspectionError) {
                        return (index, .success(try await rule.classify(
                            prompt: prompt, answer: answer, client: upstream, maxResponseBytes: maxBytes)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var collected: [(Int, Result<GuardVerdict, InspectionError>?)] = []
            for await outcome in group { collected.append(outcome) }
            return collected.sorted { $0.0 < $1.0 }
        }
        var refusal: RefusalVerdict?
        for (index, outcome) in outcomes {
            let rule = rules[index]
            switch outcome {
            case .success(let verdict)?:
                if verdict.refusal == true && refusal == nil {
                    refusal = RefusalVerdict(ruleID: rule.id, source: .guard, score: 1)
                }
                if rule.triggers(verdict) {
                    result.findings.append(
                        Finding(
                            ruleID: rule.id, pack: rule.pack, kind: .guard, entity: rule.definition.entity,
                            action: rule.definition.action, messageIndex: nil, range: nil, score: 1,
                            categories: verdict.categories))
                    if rule.definition.action == .block { result.blocking.append(rule.id) }
                }
            case .failure(let error)?:
                let failure = RuleFailure(
                    ruleID: rule.id, kind: .guard, code: error.code, message: error.message, mode: rule.definition.onError)
                recordFailure(failure)
                result.failures.append(failure)
                // Failing closed means acting as if the rule had triggered.
                if failure.mode == .closed && rule.definition.action == .block { result.blocking.append(rule.id) }
            case nil:
                break
            }
        }
        return (result, refusal)
    }
}

extension RuleAction {
    /// Whether the action rewrites the matched text.
    var transformsText: Bool { self == .redact || self == .mask || self == .tokenize }
}
