/// One message of a chat prompt, as inspection sees it: a role and its text.
public struct InspectedMessage: Sendable, Hashable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Something a rule found. Holds offsets and ids, never the matched text, so it is safe to log.
public struct Finding: Sendable, Hashable {
    public var ruleID: String
    public var pack: String
    public var kind: RuleKind
    public var entity: String?
    public var action: RuleAction
    /// The prompt message it was found in; nil for output.
    public var messageIndex: Int?
    /// UTF-8 byte range in the text as it was given to inspection; nil for semantic and guard findings.
    public var range: Range<Int>?
    /// Regex: confidence after context words; semantic: cosine similarity of the nearest exemplar, or the
    /// classifier's probability when the classifier matched and the exemplars did not; guard: 1.
    public var score: Double
    /// Guard categories, where the guard named any.
    public var categories: [String]

    public init(
        ruleID: String, pack: String, kind: RuleKind, entity: String?, action: RuleAction, messageIndex: Int?,
        range: Range<Int>?, score: Double, categories: [String] = []
    ) {
        self.ruleID = ruleID
        self.pack = pack
        self.kind = kind
        self.entity = entity
        self.action = action
        self.messageIndex = messageIndex
        self.range = range
        self.score = score
        self.categories = categories
    }
}

/// A rule that could not decide (guard down or slow, embedder failed, regex limit hit) and what was done about it.
public struct RuleFailure: Sendable, Hashable, CustomStringConvertible {
    public var ruleID: String
    public var kind: RuleKind
    public var code: InspectionError.Code
    public var message: String
    /// `open`: carried on as if the rule had not matched; `closed`: treated as a block by this rule.
    public var mode: FailureMode

    public var description: String { "rule \(ruleID) (\(kind)) failed \(mode): \(code): \(message)" }
}

/// Whether a prompt or answer may go on.
public enum InspectionDecision: Sendable, Hashable {
    case allow
    /// Stopped by these rules (ids, in rule-set order).
    case block(rules: [String])

    public var isBlocked: Bool {
        if case .block = self { return true }
        return false
    }

    public var blockingRules: [String] {
        if case .block(let rules) = self { return rules }
        return []
    }
}

/// The result of `RuleSet.inspectPrompt`.
public struct PromptInspection: Sendable {
    public var decision: InspectionDecision
    /// The messages to send upstream: redacted, masked and tokenized where rules said so; the input otherwise.
    public var messages: [InspectedMessage]
    /// Whether `messages` differ from the input.
    public var isModified: Bool
    /// Placeholders put into `messages`, to restore in the answer (`OutputScanner`, `TokenizationMap.restore`).
    public var tokens: TokenizationMap
    /// What the rules found, at most `RuleSet.maxReportedFindings` (every value is still transformed: the cap bounds
    /// the report, never the rules' effect).
    public var findings: [Finding]
    public var failures: [RuleFailure]
    /// Findings past the cap, counted but not listed.
    public var omittedFindings = 0
}

/// The result of `RuleSet.inspectOutput` for a whole (non-streamed) answer.
public struct OutputInspection: Sendable {
    public var decision: InspectionDecision
    /// The answer to give the client: rules applied, then placeholders restored.
    public var text: String
    public var isModified: Bool
    public var findings: [Finding]
    public var failures: [RuleFailure]
    /// Set when a refusal rule or a guard's `Refusal: Yes` says the model declined.
    public var refusal: RefusalVerdict?

    public init(
        decision: InspectionDecision, text: String, isModified: Bool, findings: [Finding] = [],
        failures: [RuleFailure] = [], refusal: RefusalVerdict? = nil
    ) {
        self.decision = decision
        self.text = text
        self.isModified = isModified
        self.findings = findings
        self.failures = failures
        self.refusal = refusal
    }
}

/// Why an answer counts as the model declining (`refusal_model`).
public struct RefusalVerdict: Sendable, Hashable {
    public enum Source: String, Sendable, Hashable {
        case phrase, lexical, semantic, classifier, `guard`
    }
    public var ruleID: String
    public var source: Source
    public var score: Double

    public init(ruleID: String, source: Source, score: Double) {
        self.ruleID = ruleID
        self.source = source
        self.score = score
    }
}
