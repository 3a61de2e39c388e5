/// The one error type of the Inspection module.
public struct InspectionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, in a form callers can switch over; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }
        public var description: String { raw }

        /// A rule file could not be read.
        public static let ioFailure = Code("io_failure")
        /// A rule file is not valid YAML, or does not follow the pack schema; `file` and `line` say where.
        public static let invalidPack = Code("invalid_pack")
        /// A pattern does not compile; `file` and `line` point at the pattern.
        public static let invalidPattern = Code("invalid_pattern")
        /// Two enabled rules share an id.
        public static let duplicateRule = Code("duplicate_rule")
        /// A semantic rule is enabled but no embedder was given, or embedding its exemplars failed.
        public static let embeddingUnavailable = Code("embedding_unavailable")
        /// A classifier file a rule names is missing, unreadable or malformed, or does not fit the embedding.
        public static let invalidClassifier = Code("invalid_classifier")
        /// Data given to train a classifier cannot train one (one class only, vectors of different lengths …).
        public static let invalidTrainingData = Code("invalid_training_data")
        /// A rule's own example did not behave as declared.
        public static let exampleFailed = Code("example_failed")
        /// A regex hit its match or depth limit on some input.
        public static let matchLimit = Code("match_limit")
        /// The guard endpoint failed, timed out or answered in an unexpected form.
        public static let guardFailed = Code("guard_failed")
        /// A prompt or answer is longer than a model-based rule judges in full (`maxSemanticPieces`,
        /// `maxGuardWindows`, `maxEntityBytes`).
        public static let textTooLong = Code("text_too_long")
        /// The guard endpoint did not answer in time.
        public static let guardTimeout = Code("guard_timeout")
        /// An NER rule is enabled but the NER model was not loaded.
        public static let nerUnavailable = Code("ner_unavailable")
    }

    public var code: Code
    public var message: String
    /// The rule file, when the error is about one.
    public var file: String?
    /// 1-based line in `file`.
    public var line: Int?
    /// 1-based column in `file` (Unicode scalars).
    public var column: Int?
    /// The rule concerned, when there is one.
    public var ruleID: String?

    public init(
        _ code: Code, _ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil,
        ruleID: String? = nil
    ) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.ruleID = ruleID
    }

    /// `file:line:column: message` where a location is known, as compilers print it.
    public var description: String {
        var prefix = ""
        if let file {
            prefix = file
            if let line {
                prefix += ":\(line)"
                if let column { prefix += ":\(column)" }
            }
            prefix += ": "
        }
        if let ruleID { prefix += "rule \(ruleID): " }
        return prefix + message
    }
}

/// Every problem found while loading rule files (loading goes on after the first, so all are reported at once).
public struct RuleLoadFailure: Error, Sendable, CustomStringConvertible {
    public var errors: [InspectionError]
    public init(_ errors: [InspectionError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
