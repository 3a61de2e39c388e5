import Embeddings
import Foundation
import Patterns

extension RuleSet {
    /// Inspects a prompt: regex rules on every message whose role a rule lists; then semantic and guard rules on
    /// every text of those roles, every turn, long texts in full. The model-based rules read the prompt as the regex
    /// rules left it (values tokenized, redacted or masked): text that may leave the host for an embedding or guard
    /// endpoint never carries what a rule took out. Never throws: a rule that cannot decide is handled per its
    /// `on_error` and reported in `failures`.
    ///
    /// On `.block`, send nothing upstream. Otherwise send `messages` (possibly transformed) and keep `tokens` to
    /// restore placeholders in the answer.
    public func inspectPrompt(messages: [InspectedMessage]) async -> PromptInspection {
        var inspection = inspectPromptPatterns(messages: messages)
        let semantic = semanticRules.filter { $0.definition.scope.coversPrompt && !isRefusalRule($0.pack) }
        let guards = guardRules.filter { $0.definition.scope.coversPrompt }
        guard !semantic.isEmpty || !guards.isEmpty else { return inspection }

        let checked = inspection.messages
        async let semanticPart = evaluateSemantic(
            semantic, texts: { rule in Self.texts(checked, roles: rule.definition.roles) })
        async let guardPart = evaluateGuards(guards, prompt: checked, answer: nil)
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
        // The NER model reads every text of the roles its rules cover, within the per-request budget.
        var entityRules = promptNERRules
        if !entityRules.isEmpty {
            let work = messages.reduce(0) { total, message in
                entityRules.contains { $0.definition.roles.contains(message.role) }
                    ? total + entityWork(message.content) : total
            }
            if work > configuration.maxEntityBytes {
                let failed = entityBudgetFailures(entityRules, bytes: work)
                failures += failed.failures
                blocking += failed.blocking
                entityRules = []
            }
        }
        for (index, message) in messages.enumerated() where !message.content.isEmpty {
            let role = message.role
            var content = message.content
            let text = message.content
            let entityRulesHere = entityRules.filter { $0.definition.roles.contains(role) }
            let rewritten: String? = content.withUTF8 { bytes in
                var result = scan(bytes, groups: inspectGroups, mode: .complete) { rule in
                    rule.definition.scope.coversPrompt && rule.definition.roles.contains(role)
                }
                result.hits += entityHits(entityRulesHere, text: text, bytes: bytes)
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
        let omitted = max(0, findings.count - Self.maxReportedFindings)
        if omitted > 0 { findings.removeLast(omitted) }
        var inspection = PromptInspection(
            decision: blocking.isEmpty ? .allow : .block(rules: Self.unique(blocking)), messages: output,
            isModified: modified, tokens: tokens, findings: findings, failures: failures)
        inspection.omittedFindings = omitted
        return inspection
    }

    /// Findings listed per inspection (metrics, log line, ledger); the rest are counted in `omittedFindings`.
    public static let maxReportedFindings = 1000

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

    func finding(_ hit: SpanHit, messageIndex: Int?) -> Finding {
        Finding(
            ruleID: hit.rule.id, pack: hit.rule.pack, kind: hit.rule.definition.kind, entity: hit.entity,
            action: hit.rule.definition.action, messageIndex: messageIndex, range: hit.range, score: hit.score)
    }

    /// `bytes` with each hit replaced per its rule's action. Hits are sorted and do not overlap.
    static func apply(
        _ hits: [SpanHit], to bytes: UnsafeBufferPointer<UInt8>, tokens: inout TokenizationMap, allowTokenize: Bool
    ) -> String {
        var result = ""
        result.reserveCapacity(bytes.count + 16 * hits.count)
        var position = 0
        for hit in hits where hit.range.lowerBound >= position && hit.range.upperBound <= bytes.count {
            result += String(decoding: UnsafeBufferPointer(rebasing: bytes[position..<hit.range.lowerBound]), as: UTF8.self)
            let original = String(decoding: UnsafeBufferPointer(rebasing: bytes[hit.range]), as: UTF8.self)
            result += Replacement.text(
                for: hit.rule.definition.action, label: hit.label, original: Substring(original),
                tokens: &tokens, allowTokenize: allowTokenize) ?? original
            position = hit.range.upperBound
        }
        result += String(decoding: UnsafeBufferPointer(rebasing: bytes[position...]), as: UTF8.self)
        return result
    }

    /// Every non-empty text of the given roles, in order.
    static func texts(_ messages: [InspectedMessage], roles: [String]) -> [String] {
        messages.compactMap { roles.contains($0.role) && !$0.content.isEmpty ? $0.content : nil }
    }

    /// The last non-empty text of the given roles.
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

    /// Every rule given fails with `code`: recorded, reported, and blocking where its `on_error` is `closed` and its
    /// action is `block`.
    func failing(
        _ rules: [(id: String, kind: RuleKind, definition: RuleDefinition)], _ code: InspectionError.Code,
        _ message: String
    ) -> ModelRulesResult {
        var result = ModelRulesResult()
        for rule in rules {
            let failure = RuleFailure(
                ruleID: rule.id, kind: rule.kind, code: code, message: message, mode: rule.definition.onError)
            recordFailure(failure)
            result.failures.append(failure)
            if failure.mode == .closed && rule.definition.action == .block { result.blocking.append(rule.id) }
        }
        return result
    }

    /// Embeds what the rules read in one call, each distinct string once: every text cut into segments for exemplar
    /// comparison, and for a classifier the whole text (or, when it is longer than the embedding model's window,
    /// consecutive windows of it). A short text is its own single segment and window, so it is embedded once for
    /// both. A rule matches when any piece of any of its texts does.
    func evaluateSemantic(
        _ rules: [CompiledSemanticRule], texts: (CompiledSemanticRule) -> [String]
    ) async -> ModelRulesResult {
        var result = ModelRulesResult()
        guard let embedder, !rules.isEmpty else { return result }
        var inputs: [String] = []
        var inputIndex: [String: Int] = [:]
        // The inspection budget: what the embedding model would read, estimated as it is collected.
        var estimatedTokens = 0
        func intern(_ input: String) -> Int {
            if let index = inputIndex[input] { return index }
            inputIndex[input] = inputs.count
            inputs.append(input)
            estimatedTokens += TextSegmenter.estimatedTokens(input)
            return inputs.count - 1
        }
        func overBudget() -> Bool {
            inputs.count > configuration.maxSemanticPieces || estimatedTokens > configuration.maxSemanticTokens
        }
        // Each text is cut once per kind of piece, however many rules read it.
        var piecesByText: [String: [Int]] = [:]
        func pieces(_ text: String, windows: Bool) -> [Int] {
            let memoKey = (windows ? "w\u{1F}" : "s\u{1F}") + text
            if let known = piecesByText[memoKey] { return known }
            let made = (windows
                ? TextSegmenter.windows(text, maxTokens: Self.classifierWindowTokens)
                : TextSegmenter.segments(text, maxWords: configuration.semanticSegmentWords)).map(intern)
            piecesByText[memoKey] = made
            return made
        }
        var plans: [(rule: CompiledSemanticRule, segments: [Int], windows: [Int])] = []
        for rule in rules {
            var segments: [Int] = []
            var windows: [Int] = []
            for text in texts(rule) {
                if rule.usesExemplars { segments += pieces(text, windows: false) }
                if rule.definition.classifier != nil { windows += pieces(text, windows: true) }
                if overBudget() { break }
            }
            if !segments.isEmpty || !windows.isEmpty { plans.append((rule, segments, windows)) }
        }
        guard !inputs.isEmpty else { return result }
        func fail(_ code: InspectionError.Code, _ message: String) -> ModelRulesResult {
            failing(plans.map { ($0.rule.id, .semantic, $0.rule.definition) }, code, message)
        }
        if inputs.count > configuration.maxSemanticPieces {
            return fail(
                .textTooLong,
                "the text needs more than \(configuration.maxSemanticPieces) pieces embedded to be judged in full")
        }
        if estimatedTokens > configuration.maxSemanticTokens {
            return fail(
                .textTooLong,
                "the text needs more than the inspection budget of \(configuration.maxSemanticTokens) tokens embedded to be judged in full")
        }
        let vectors: [[Float]]
        do {
            vectors = try await embedder.embed(inputs)
        } catch {
            return fail(.embeddingUnavailable, "\(error)")
        }
        for (rule, segments, windows) in plans {
            let pieces = segments.map { vectors[$0] }
            var best: CompiledSemanticRule.Evidence?
            // Each window is a whole for the classifier; the exemplars read every segment at once.
            for window in windows.isEmpty ? [nil] : windows.map(Optional.some) {
                guard let evidence = rule.evidence(pieces: pieces, whole: window.map { vectors[$0] }) else { continue }
                if best == nil || evidence.score > best!.score { best = evidence }
                if case .exemplar = evidence { break }
            }
            guard let evidence = best else { continue }
            result.findings.append(
                Finding(
                    ruleID: rule.id, pack: rule.pack, kind: .semantic, entity: rule.definition.entity,
                    action: rule.definition.action, messageIndex: nil, range: nil, score: evidence.score))
            if rule.definition.action == .block { result.blocking.append(rule.id) }
        }
        return result
    }

    /// The embedding model's window (MiniLM's 256 tokens): a classifier reads a longer text window by window.
    static let classifierWindowTokens = 256

    /// Calls every guard rule concurrently, each on every window of what it reads: for a prompt, every text of the
    /// rule's roles; for an answer, the whole answer (the last prompt text as its context). A rule triggers when any
    /// window does; each honours its own timeout and `on_error`.
    func evaluateGuards(_ rules: [CompiledGuardRule], prompt messages: [InspectedMessage], answer: String?) async
        -> (model: ModelRulesResult, refusal: RefusalVerdict?)
    {
        var result = ModelRulesResult()
        guard let upstream, !rules.isEmpty else { return (result, nil) }
        let maxBytes = configuration.guardMaxResponseBytes
        let width = max(256, configuration.guardWindowCharacters)
        // Per rule: the (prompt, answer) pairs to ask about, or nil when there are more than the rule may ask.
        var calls: [[(prompt: String, answer: String?)]?] = []
        for rule in rules {
            var pairs: [(String, String?)] = []
            if let answer {
                let context = String((Self.lastMessage(messages, roles: rule.definition.roles) ?? "").suffix(width / 4))
                pairs = Self.windows(of: answer, width: width).map { (context, $0) }
            } else {
                let prompt = Self.texts(messages, roles: rule.definition.roles).joined(separator: "\n\n")
                pairs = Self.windows(of: prompt, width: width).map { ($0, nil) }
            }
            calls.append(pairs.count > configuration.maxGuardWindows ? nil : pairs)
        }
        let outcomes = await withTaskGroup(
            of: (Int, Int, Result<GuardVerdict, InspectionError>).self
        ) { group in
            for (index, rule) in rules.enumerated() {
                for (window, pair) in (calls[index] ?? []).enumerated() {
                    group.addTask {
                        do throws(InspectionError) {
                            return (index, window, .success(try await rule.classify(
                                prompt: pair.prompt, answer: pair.answer, client: upstream, maxResponseBytes: maxBytes)))
                        } catch {
                            return (index, window, .failure(error))
                        }
                    }
                }
            }
            var collected: [(Int, Int, Result<GuardVerdict, InspectionError>)] = []
            for await outcome in group { collected.append(outcome) }
            return collected.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        }
        var refusal: RefusalVerdict?
        for (index, rule) in rules.enumerated() {
            var failure: RuleFailure?
            if calls[index] == nil {
                failure = RuleFailure(
                    ruleID: rule.id, kind: .guard, code: .textTooLong,
                    message: "the text needs more than \(configuration.maxGuardWindows) guard calls of "
                        + "\(width) characters to be judged in full", mode: rule.definition.onError)
            }
            var triggered: GuardVerdict?
            for (ruleIndex, window, outcome) in outcomes where ruleIndex == index {
                switch outcome {
                case .success(let verdict):
                    // A model declines at the start: the first window of the answer carries the refusal.
                    if window == 0, verdict.refusal == true, refusal == nil {
                        refusal = RefusalVerdict(ruleID: rule.id, source: .guard, score: 1)
                    }
                    if triggered == nil, rule.triggers(verdict) { triggered = verdict }
                case .failure(let error):
                    if failure == nil {
                        failure = RuleFailure(
                            ruleID: rule.id, kind: .guard, code: error.code, message: error.message,
                            mode: rule.definition.onError)
                    }
                }
            }
            if let verdict = triggered {
                result.findings.append(
                    Finding(
                        ruleID: rule.id, pack: rule.pack, kind: .guard, entity: rule.definition.entity,
                        action: rule.definition.action, messageIndex: nil, range: nil, score: 1,
                        categories: verdict.categories))
                if rule.definition.action == .block { result.blocking.append(rule.id) }
            } else if let failure {
                recordFailure(failure)
                result.failures.append(failure)
                // Failing closed means acting as if the rule had triggered.
                if failure.mode == .closed && rule.definition.action == .block { result.blocking.append(rule.id) }
            }
        }
        return (result, refusal)
    }

    /// `text` in consecutive pieces of at most `width` characters, cut after a line break or space where one is
    /// near; empty text has no windows.
    static func windows(of text: String, width: Int) -> [String] {
        guard !text.isEmpty else { return [] }
        guard text.count > width else { return [text] }
        var windows: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            guard rest.count > width else {
                windows.append(String(rest))
                break
            }
            var cut = rest.index(rest.startIndex, offsetBy: width)
            let floor = rest.index(rest.startIndex, offsetBy: width * 3 / 4)
            if let space = rest[floor..<cut].lastIndex(where: { $0.isNewline || $0.isWhitespace }) {
                cut = rest.index(after: space)
            }
            windows.append(String(rest[..<cut]))
            rest = rest[cut...]
        }
        return windows
    }
}

extension RuleAction {
    /// Whether the action rewrites the matched text.
    var transformsText: Bool { self == .redact || self == .mask || self == .tokenize }
}
