/// What a rule looks at and how.
public enum RuleKind: String, Sendable, Hashable, CaseIterable {
    /// PCRE2 patterns, optionally validated (checksums) and weighted by context words.
    case regex
    /// Similarity of the text to exemplar utterances, through the embedding engine.
    case semantic
    /// A Qwen3Guard-Gen moderation endpoint.
    case `guard`
    /// A logistic classifier over the words of an answer's opening and hand-written cue patterns (refusal packs):
    /// no embedding, microseconds per answer.
    case lexical
    /// Names, addresses, places and organizations found by the local NER model (LAC for Chinese text): spans, so
    /// every action applies, as for regex rules.
    case ner
}

/// Settings of an NER rule.
public struct NERSettings: Sendable, Hashable {
    /// The entity types the rule acts on (`PERSON`, `ADDRESS`, `LOCATION`, `ORGANIZATION`), as written; the first is
    /// what `deny` terms are reported as.
    public var types: [String]
    /// The model score at or above which an entity of each type counts.
    public var thresholds: [String: Double]
    /// Entity texts that are never findings (the company's own name, a public figure), compared whole, ignoring case
    /// and surrounding spaces.
    public var allow: [String]
    /// Terms that are always findings wherever they appear (ignoring ASCII case), as the rule's first type, whatever
    /// the model says.
    public var deny: [String]

    public init(types: [String], thresholds: [String: Double], allow: [String] = [], deny: [String] = []) {
        self.types = types
        self.thresholds = thresholds
        self.allow = allow
        self.deny = deny
    }

    /// The types an NER rule may name.
    public static let knownTypes = ["PERSON", "ADDRESS", "LOCATION", "ORGANIZATION"]
}

/// A named pattern a lexical rule reads as two features: whether it matches the answer's opening, and whether it
/// matches its body (see `LexicalFeatures`).
public struct LexicalCue: Sendable, Hashable {
    public var id: String
    public var pattern: PatternSource
}

/// Which side of the exchange a rule inspects.
public enum RuleScope: String, Sendable, Hashable, CaseIterable {
    case prompt, output, both

    public var coversPrompt: Bool { self != .output }
    public var coversOutput: Bool { self != .prompt }
}

/// What happens to what a rule finds.
public enum RuleAction: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Record only.
    case flag
    /// Hide all but the last four letters and digits.
    case mask
    /// Replace with a `[LABEL]`.
    case redact
    /// Replace with a per-request placeholder `<LABEL_n>` that is restored in the answer. On output, as `redact`.
    case tokenize
    /// Stop the request (prompt) or withhold the answer (output).
    case block

    /// Transforming actions in order of precedence, and block above all.
    var precedence: Int {
        switch self {
        case .flag: 0
        case .mask: 1
        case .redact: 2
        case .tokenize: 3
        case .block: 4
        }
    }

    public static func < (lhs: RuleAction, rhs: RuleAction) -> Bool { lhs.precedence < rhs.precedence }
}

/// What a model-based (or limit-bound) rule does when it cannot decide.
public enum FailureMode: String, Sendable, Hashable, CaseIterable {
    /// Carry on as if the rule had not matched.
    case open
    /// Act as if it had matched (for `block` rules: block).
    case closed
}

/// A check on the text of a regex match.
public enum MatchValidator: String, Sendable, Hashable, CaseIterable {
    /// Luhn checksum over the digits (payment cards).
    case luhn
    /// ISO 13616 IBAN: known country, that country's length, mod 97 = 1. Trims the match to the country's length.
    case iban
    /// GB 11643 PRC resident ID: 18 characters, plausible birth date, check character.
    case cnID = "cn_id"
    /// A dotted-quad IPv4 address, each part 0–255.
    case ipv4
    /// An IPv6 address as `inet_pton` accepts it.
    case ipv6
    /// Either of the two.
    case ip
    /// A US SSN outside the never-issued ranges (area 000, 666, 900–999; group 00; serial 0000).
    case usSSN = "us_ssn"
    /// A phone number's digit count (7 to 15, E.164, not counting an extension) and not one repeated digit.
    case phone
}

/// Words near a match that raise or lower its confidence.
public struct ContextWords: Sendable, Hashable {
    /// Matched case-insensitively as substrings.
    public var positive: [String]
    public var negative: [String]
    /// How far around the match to look, in characters (bytes for the search; generous enough for CJK).
    public var window: Int
    /// Added to the confidence when a positive word is near.
    public var boost: Double
    /// Subtracted when a negative word is near.
    public var penalty: Double

    public init(positive: [String] = [], negative: [String] = [], window: Int = 40, boost: Double = 0.3,
        penalty: Double = 0.5)
    {
        self.positive = positive
        self.negative = negative
        self.window = window
        self.boost = boost
        self.penalty = penalty
    }
}

/// Settings of a guard rule.
public struct GuardSettings: Sendable, Hashable {
    /// Base URL of the OpenAI-compatible endpoint (`…/v1`); `/chat/completions` is appended.
    public var endpoint: String
    public var model: String
    /// Name of an environment variable holding a bearer token, if the endpoint needs one.
    public var apiKeyEnvironment: String?
    /// Categories that trigger the rule; empty means any.
    public var categories: [String]
    /// `Safety` levels that trigger the rule (default `Unsafe`).
    public var levels: [String]
    public var timeout: Duration

    public init(endpoint: String, model: String, apiKeyEnvironment: String? = nil, categories: [String] = [],
        levels: [String] = ["Unsafe"], timeout: Duration = .seconds(2))
    {
        self.endpoint = endpoint
        self.model = model
        self.apiKeyEnvironment = apiKeyEnvironment
        self.categories = categories
        self.levels = levels
        self.timeout = timeout
    }
}

/// Where a definition came from, for messages.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// A classifier file a semantic rule names, read and validated when the pack is parsed.
public struct ClassifierReference: Sendable, Hashable {
    /// The path as written in the pack (relative to the pack file's directory, or absolute).
    public var path: String
    /// The path the file was read from.
    public var resolvedPath: String
    /// SHA-256 of the file's bytes: part of the rules version, so retraining changes the cache namespace.
    public var sha256: String
    public var model: LogisticClassifier
    /// Probability at or above which the rule matches: `classifier_threshold`, else the threshold in the file.
    public var threshold: Double
    /// Where the `classifier` key is written.
    public var location: SourceLocation

    public init(
        path: String, resolvedPath: String, sha256: String, model: LogisticClassifier, threshold: Double,
        location: SourceLocation
    ) {
        self.path = path
        self.resolvedPath = resolvedPath
        self.sha256 = sha256
        self.model = model
        self.threshold = threshold
        self.location = location
    }
}

extension ClassifierReference {
    /// The error for a classifier trained on vectors of another length than the embedding engine's.
    func dimensionError(embedding dimensions: Int, ruleID: String) -> InspectionError {
        InspectionError(
            .invalidClassifier,
            "classifier file `\(path)` has \(model.dimensions) dimensions but the embedding has \(dimensions) "
                + "(trained on \(model.embedding))",
            file: location.file, line: location.line, column: location.column, ruleID: ruleID)
    }
}

/// A pattern string and where it is written.
public struct PatternSource: Sendable, Hashable {
    public var text: String
    public var location: SourceLocation
}

/// One rule as written in a pack, validated but not compiled.
public struct RuleDefinition: Sendable, Hashable {
    public var id: String
    public var description: String
    public var kind: RuleKind
    public var scope: RuleScope
    /// Message roles of the prompt the rule reads.
    public var roles: [String]
    public var patterns: [PatternSource]
    public var caseInsensitive: Bool
    /// Capture group whose range is the finding (0 = the whole match).
    public var group: Int
    public var exemplars: [String]
    /// Semantic: minimum cosine similarity to the nearest exemplar.
    public var threshold: Double
    /// Semantic: a trained classifier over the text's embedding (`classifier:`), loaded with the pack. Lexical: the
    /// classifier over the rule's features (its `features` name each weight).
    public var classifier: ClassifierReference?
    /// Lexical: the cue patterns, matched with `caseInsensitive`.
    public var cues: [LexicalCue] = []
    public var guardSettings: GuardSettings?
    /// NER: the types, thresholds and allow/deny lists.
    public var nerSettings: NERSettings?
    public var validators: [MatchValidator]
    public var context: ContextWords?
    /// Starting confidence of a regex match; context words move it; it must reach `minConfidence`.
    public var confidence: Double
    public var minConfidence: Double
    /// When findings of different rules overlap, the higher priority is kept.
    public var priority: Int
    public var entity: String?
    /// The word used in `[LABEL]` and `<LABEL_n>`; defaults to the entity, else the rule id upper-cased.
    public var label: String
    public var action: RuleAction
    public var onError: FailureMode
    public var enabled: Bool
    public var matchExamples: [String]
    public var noMatchExamples: [String]
    public var location: SourceLocation
}

/// What a pack is for.
public enum PackPurpose: String, Sendable, Hashable, CaseIterable {
    /// Ordinary inspection rules, applied to prompts and outputs.
    case inspect
    /// Rules that recognise a model declining to answer; used for the `refusal_model` outcome, never to transform.
    case refusal
}

/// One YAML file.
public struct RulePackDefinition: Sendable, Hashable {
    public var name: String
    public var description: String
    public var enabled: Bool
    public var purpose: PackPurpose
    public var rules: [RuleDefinition]
    public var file: String
}
