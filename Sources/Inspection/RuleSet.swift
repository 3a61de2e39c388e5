import Digest
public import Embeddings
import Foundation
public import Logging
public import NamedEntities
public import Patterns
import Synchronization
public import Upstream

/// An immutable, compiled set of rule packs: the snapshot every request reads. Build one with `load(directory:…)`,
/// swap it atomically with `RuleSetStore` on reload.
public final class RuleSet: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Match, depth and heap limits for every pattern.
        public var limits: Pattern.Limits
        /// Scan each pack's regex rules with one combined pattern (then confirm per rule) instead of one pass per rule.
        /// Off by default: measured on the shipped packs, one JIT pass per rule (each with PCRE2's own start-of-match
        /// and required-character optimizations) is about twice as fast as a combined alternation (89 vs 196 µs p50
        /// for a 2 KB prompt).
        public var combinePackPatterns: Bool
        /// Default upper bound on text an `OutputScanner` holds back while a pattern may still be matching.
        public var maxHoldbackBytes: Int
        /// Semantic rules compare pieces of at most this many words (see `TextSegmenter`).
        public var semanticSegmentWords: Int
        /// Most pieces (segments and classifier windows, all texts together) the semantic rules embed for one prompt
        /// or answer. Every piece of every text is judged, never a sample; a text needing more than this cannot be
        /// judged, and each rule acts per its `on_error`. The default covers a 1 MiB prompt.
        public var maxSemanticPieces: Int
        /// The per-request inspection budget of the semantic rules: at most this many tokens (estimated, distinct
        /// pieces only) embedded for one prompt or answer, about a second of the local model's work on two cores. A
        /// text that needs more is not judged by them, and each acts per its `on_error`.
        public var maxSemanticTokens: Int
        /// A guard reads the text in windows of at most this many characters (Qwen3Guard's context is 32K tokens)…
        public var guardWindowCharacters: Int
        /// …and at most this many windows per rule and request; more and the rule acts per its `on_error`.
        public var maxGuardWindows: Int
        /// Largest guard answer accepted.
        public var guardMaxResponseBytes: Int
        /// Environment for guard `api_key_env` lookups; nil reads the process environment.
        public var environment: [String: String]?
        /// The NER rules' per-request budget: at most this many bytes of text read by the NER model for one prompt or
        /// answer (for the Chinese model, only texts with Han characters count). About a third of a second of one
        /// core at the default. A text over the budget is not read, and each NER rule acts per its `on_error`.
        public var maxEntityBytes: Int = 64 * 1024

        public init(
            limits: Pattern.Limits = .init(), combinePackPatterns: Bool = false, maxHoldbackBytes: Int = 1024,
            semanticSegmentWords: Int = 48, maxSemanticPieces: Int = 8192, maxSemanticTokens: Int = 8192,
            guardWindowCharacters: Int = 16_000,
            maxGuardWindows: Int = 16, guardMaxResponseBytes: Int = 64 * 1024, environment: [String: String]? = nil
        ) {
            self.limits = limits
            self.combinePackPatterns = combinePackPatterns
            self.maxHoldbackBytes = maxHoldbackBytes
            self.semanticSegmentWords = semanticSegmentWords
            self.maxSemanticPieces = maxSemanticPieces
        self.maxSemanticTokens = maxSemanticTokens
            self.guardWindowCharacters = guardWindowCharacters
            self.maxGuardWindows = maxGuardWindows
            self.guardMaxResponseBytes = guardMaxResponseBytes
            self.environment = environment
        }
    }

    /// Hash of the compiled set (first 16 hex digits of a SHA-256): for `/metrics` and the cache namespace.
    public let version: String
    /// The directory the set was loaded from, if any.
    public let directory: String?
    /// Every pack read, enabled or not.
    public let packs: [RulePackDefinition]
    public let configuration: Configuration

    let regexRules: [CompiledRegexRule]
    let inspectGroups: [ScanGroup]
    let refusalGroups: [ScanGroup]
    let semanticRules: [CompiledSemanticRule]
    let guardRules: [CompiledGuardRule]
    let lexicalRules: [CompiledLexicalRule]
    let nerRules: [CompiledNERRule]
    let embedder: (any Embedder)?
    /// The NER model, when an enabled rule needs it.
    public let recognizer: (any EntityRecognizer)?
    /// Where the NER model comes from when a reload adds the first NER rule.
    let recognizerLoader: EntityRecognizerLoader?
    let upstream: UpstreamClient?
    let logger: Logger
    let placeholderPattern: Pattern
    private let failureCounts = Mutex<[String: Int]>([:])

    /// The enabled rules, in pack (file name) order.
    public var enabledRules: [RuleDefinition] {
        packs.filter(\.enabled).flatMap { $0.rules.filter(\.enabled) }
    }

    /// Whether any enabled rule reads outputs (if none, a stream can pass through without an `OutputScanner`).
    public var inspectsOutput: Bool {
        regexRules.contains { $0.definition.scope.coversOutput && !isRefusalRule($0.pack) }
            || semanticRules.contains { $0.definition.scope.coversOutput && !isRefusalRule($0.pack) }
            || guardRules.contains { $0.definition.scope.coversOutput }
            || nerRules.contains { $0.definition.scope.coversOutput }
    }

    /// The classifier files the packs name (resolved paths, every pack, enabled or not), for change detection.
    public var classifierFiles: [String] {
        Array(Set(packs.flatMap { $0.rules.compactMap { $0.classifier?.resolvedPath } })).sorted()
    }

    /// Failed (open or closed) evaluations per rule id since this set was loaded.
    public var failureCountsByRule: [String: Int] { failureCounts.withLock { $0 } }

    private let refusalPacks: Set<String>
    func isRefusalRule(_ pack: String) -> Bool { refusalPacks.contains(pack) }

    // MARK: - Loading

    /// Reads every `*.yaml` / `*.yml` file of `directory` (sorted by name), one pack per file, and compiles the enabled
    /// rules. Semantic rules need `embedder`, guard rules `upstream`. Throws every problem found, each with its file
    /// and line.
    public static func load(
        directory: String, embedder: (any Embedder)? = nil, upstream: UpstreamClient? = nil,
        recognizer: (any EntityRecognizer)? = nil, recognizerLoader: EntityRecognizerLoader? = nil,
        configuration: Configuration = .init(), logger: Logger = Logger(label: "airlock.inspection")
    ) async throws(RuleLoadFailure) -> RuleSet {
        let packs = try parsePacks(directory: directory)
        return try await compile(
            packs: packs, directory: directory, embedder: embedder, upstream: upstream, recognizer: recognizer,
            recognizerLoader: recognizerLoader, configuration: configuration, logger: logger)
    }

    /// Loads the same directory again with the same engine, client and configuration (for reloads).
    public func reloaded() async throws(RuleLoadFailure) -> RuleSet {
        guard let directory else {
            throw RuleLoadFailure([InspectionError(.ioFailure, "this rule set was not loaded from a directory")])
        }
        let packs = try await RuleFileReader.run { () throws(RuleLoadFailure) in
            try RuleSet.parsePacks(directory: directory)
        }
        return try await RuleSet.compile(
            packs: packs, directory: directory, embedder: embedder, upstream: upstream, recognizer: recognizer,
            recognizerLoader: recognizerLoader, configuration: configuration, logger: logger)
    }

    /// The rule files of `directory`, in load order.
    public static func packFiles(directory: String) throws(RuleLoadFailure) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw RuleLoadFailure([InspectionError(.ioFailure, "cannot list rule directory \(directory)", file: directory)])
        }
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            .map { (directory as NSString).appendingPathComponent($0) }
    }

    /// Parses (but does not compile) every pack of `directory`.
    /// `readClassifiers: false` leaves every rule's `classifier` unread (nil), for training the file a rule names.
    public static func parsePacks(directory: String, readClassifiers: Bool = true) throws(RuleLoadFailure)
        -> [RulePackDefinition]
    {
        var packs: [RulePackDefinition] = []
        var errors: [InspectionError] = []
        for file in try packFiles(directory: directory) {
            do {
                packs.append(try parsePack(file: file, readClassifiers: readClassifiers))
            } catch {
                errors += error.errors
            }
        }
        var names: [String: String] = [:]
        for pack in packs {
            if let other = names[pack.name] {
                errors.append(InspectionError(.invalidPack, "pack `\(pack.name)` is also defined in \(other)", file: pack.file, line: 1))
            }
            names[pack.name] = pack.file
        }
        guard errors.isEmpty else { throw RuleLoadFailure(errors) }
        return packs
    }

    public static func parsePack(file: String, readClassifiers: Bool = true) throws(RuleLoadFailure)
        -> RulePackDefinition
    {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw RuleLoadFailure([InspectionError(.ioFailure, "cannot read the file as UTF-8", file: file)])
        }
        return try parsePack(yaml: text, file: file, readClassifiers: readClassifiers)
    }

    public static func parsePack(yaml: String, file: String, readClassifiers: Bool = true) throws(RuleLoadFailure)
        -> RulePackDefinition
    {
        var parser = RulePackParser(file: file, readClassifiers: readClassifiers)
        let pack = parser.parse(yaml)
        guard let pack, parser.errors.isEmpty else { throw RuleLoadFailure(parser.errors) }
        return pack
    }

    /// Compiles parsed packs: patterns (every problem reported with its file and line), combined scan groups,
    /// exemplar vectors.
    public static func compile(
        packs: [RulePackDefinition], directory: String? = nil, embedder: (any Embedder)? = nil,
        upstream: UpstreamClient? = nil, recognizer: (any EntityRecognizer)? = nil,
        recognizerLoader: EntityRecognizerLoader? = nil, configuration: Configuration = .init(),
        logger: Logger = Logger(label: "airlock.inspection")
    ) async throws(RuleLoadFailure) -> RuleSet {
        var errors: [InspectionError] = []
        var recognizer = recognizer
        var recognizerProblem = "no NER model is configured"
        let needsRecognizer = packs.contains { pack in pack.enabled && pack.rules.contains { $0.enabled && $0.kind == .ner } }
        if needsRecognizer && recognizer == nil, let recognizerLoader {
            do {
                recognizer = try recognizerLoader.recognizer()
            } catch {
                recognizerProblem = error.description
            }
        }
        var regexRules: [CompiledRegexRule] = []
        var inspectGroups: [ScanGroup] = []
        var refusalGroups: [ScanGroup] = []
        var semanticDefinitions: [(RuleDefinition, String)] = []
        var guardRules: [CompiledGuardRule] = []
        var lexicalRules: [CompiledLexicalRule] = []
        var nerRules: [CompiledNERRule] = []
        var seen: [String: SourceLocation] = [:]
        for pack in packs where pack.enabled {
            var packRegex: [CompiledRegexRule] = []
            for rule in pack.rules where rule.enabled {
                if let other = seen[rule.id] {
                    errors.append(
                        InspectionError(
                            .duplicateRule, "rule id `\(rule.id)` is also used at \(other)", file: rule.location.file,
                            line: rule.location.line, column: rule.location.column, ruleID: rule.id))
                }
                seen[rule.id] = rule.location
                switch rule.kind {
                case .regex:
                    do {
                        packRegex.append(try CompiledRegexRule(definition: rule, pack: pack.name, limits: configuration.limits))
                    } catch {
                        errors += error.errors
                    }
                case .semantic:
                    semanticDefinitions.append((rule, pack.name))
                case .lexical:
                    do {
                        lexicalRules.append(
                            try CompiledLexicalRule(definition: rule, pack: pack.name, limits: configuration.limits))
                    } catch {
                        errors += error.errors
                    }
                case .ner:
                    if recognizer == nil {
                        errors.append(
                            InspectionError(
                                .nerUnavailable, "an ner rule needs the NER model: \(recognizerProblem)",
                                file: rule.location.file, line: rule.location.line, ruleID: rule.id))
                    }
                    nerRules.append(CompiledNERRule(definition: rule, pack: pack.name))
                case .guard:
                    guard let settings = rule.guardSettings else { continue }
                    if upstream == nil {
                        errors.append(
                            InspectionError(
                                .guardFailed, "a guard rule needs an upstream client to call \(settings.endpoint)",
                                file: rule.location.file, line: rule.location.line, ruleID: rule.id))
                    }
                    guardRules.append(
                        CompiledGuardRule(
                            definition: rule, pack: pack.name, settings: settings,
                            environment: configuration.environment ?? ProcessInfo.processInfo.environment))
                }
            }
            regexRules += packRegex
            guard !packRegex.isEmpty else { continue }
            var groups: [ScanGroup] = []
            do {
                if configuration.combinePackPatterns {
                    groups = [try ScanGroup(members: packRegex, limits: configuration.limits)]
                } else {
                    for rule in packRegex { groups.append(try ScanGroup(members: [rule], limits: configuration.limits)) }
                }
            } catch {
                errors.append(
                    InspectionError(.invalidPattern, "the pack's patterns do not combine: \(error.message)", file: pack.file, line: 1))
            }
            if pack.purpose == .refusal { refusalGroups += groups } else { inspectGroups += groups }
        }

        var semanticRules: [CompiledSemanticRule] = []
        if !semanticDefinitions.isEmpty {
            if let embedder {
                for (rule, pack) in semanticDefinitions {
                    if let classifier = rule.classifier, classifier.model.dimensions != embedder.dimensions {
                        errors.append(classifier.dimensionError(embedding: embedder.dimensions, ruleID: rule.id))
                        continue
                    }
                    do {
                        let vectors = rule.exemplars.isEmpty ? [] : try await embedder.embed(rule.exemplars)
                        semanticRules.append(CompiledSemanticRule(definition: rule, pack: pack, exemplars: vectors))
                    } catch {
                        errors.append(
                            InspectionError(
                                .embeddingUnavailable, "cannot embed the exemplars: \(error)", file: rule.location.file,
                                line: rule.location.line, ruleID: rule.id))
                    }
                }
            } else {
                for (rule, _) in semanticDefinitions {
                    errors.append(
                        InspectionError(
                            .embeddingUnavailable, "a semantic rule needs the embedding engine, and none is configured",
                            file: rule.location.file, line: rule.location.line, ruleID: rule.id))
                }
            }
        }
        guard errors.isEmpty else { throw RuleLoadFailure(errors) }

        let placeholder: Pattern
        do {
            placeholder = try Pattern(#"<[A-Z][A-Z0-9_]{0,40}_[0-9]{1,6}>"#, limits: configuration.limits)
        } catch {
            throw RuleLoadFailure([InspectionError(.invalidPattern, "placeholder pattern: \(error)")])
        }
        let set = RuleSet(
            version: versionHash(packs: packs, configuration: configuration), directory: directory, packs: packs,
            configuration: configuration, regexRules: regexRules, inspectGroups: inspectGroups,
            refusalGroups: refusalGroups, semanticRules: semanticRules, guardRules: guardRules,
            lexicalRules: lexicalRules, nerRules: nerRules, embedder: embedder,
            recognizer: nerRules.isEmpty ? nil : recognizer, recognizerLoader: recognizerLoader, upstream: upstream, logger: logger, placeholderPattern: placeholder,
            refusalPacks: Set(packs.filter { $0.purpose == .refusal }.map(\.name)))
        logger.info(
            "rules compiled",
            metadata: [
                "rules_version": "\(set.version)", "regex_rules": "\(regexRules.count)",
                "semantic_rules": "\(semanticRules.count)", "guard_rules": "\(guardRules.count)",
                "lexical_rules": "\(lexicalRules.count)", "ner_rules": "\(nerRules.count)",
            ])
        return set
    }

    private init(
        version: String, directory: String?, packs: [RulePackDefinition], configuration: Configuration,
        regexRules: [CompiledRegexRule], inspectGroups: [ScanGroup], refusalGroups: [ScanGroup],
        semanticRules: [CompiledSemanticRule], guardRules: [CompiledGuardRule], lexicalRules: [CompiledLexicalRule],
        nerRules: [CompiledNERRule], embedder: (any Embedder)?, recognizer: (any EntityRecognizer)?,
        recognizerLoader: EntityRecognizerLoader?,
        upstream: UpstreamClient?, logger: Logger, placeholderPattern: Pattern, refusalPacks: Set<String>
    ) {
        self.version = version
        self.directory = directory
        self.packs = packs
        self.configuration = configuration
        self.regexRules = regexRules
        self.inspectGroups = inspectGroups
        self.refusalGroups = refusalGroups
        self.semanticRules = semanticRules
        self.guardRules = guardRules
        self.lexicalRules = lexicalRules
        self.nerRules = nerRules
        self.embedder = embedder
        self.recognizer = recognizer
        self.recognizerLoader = recognizerLoader
        self.upstream = upstream
        self.logger = logger
        self.placeholderPattern = placeholderPattern
        self.refusalPacks = refusalPacks
    }

    /// SHA-256 over a canonical rendering of everything that changes what the enabled rules do.
    static func versionHash(packs: [RulePackDefinition], configuration: Configuration) -> String {
        var canonical = "airlock-rules/1\n"
        canonical += "limits \(configuration.limits.matchLimit) \(configuration.limits.depthLimit) \(configuration.limits.heapLimitKiB)\n"
        for pack in packs where pack.enabled {
            canonical += "pack \(pack.name) \(pack.purpose.rawValue)\n"
            for rule in pack.rules where rule.enabled {
                var fields: [String] = [
                    rule.id, rule.kind.rawValue, rule.scope.rawValue, rule.roles.joined(separator: ","),
                    rule.action.rawValue, rule.onError.rawValue, rule.entity ?? "", rule.label, "\(rule.priority)",
                    "\(rule.caseInsensitive)", "\(rule.group)", "\(rule.confidence)", "\(rule.minConfidence)",
                    "\(rule.threshold)", rule.validators.map(\.rawValue).joined(separator: ","),
                ]
                fields += rule.patterns.map { "p:" + $0.text }
                fields += rule.exemplars.map { "e:" + $0 }
                fields += rule.cues.map { "q:\($0.id) \($0.pattern.text)" }
                if let classifier = rule.classifier {
                    // The file's content, not its name: retraining changes the version and the cache namespace.
                    fields.append("k:\(classifier.sha256) \(classifier.threshold)")
                }
                if let context = rule.context {
                    fields += context.positive.map { "c+:" + $0 } + context.negative.map { "c-:" + $0 }
                    fields.append("c:\(context.window) \(context.boost) \(context.penalty)")
                }
                if let settings = rule.nerSettings {
                    fields += settings.types.map { "n:\($0) \(settings.thresholds[$0] ?? 0)" }
                    fields += settings.allow.map { "n+:" + $0 } + settings.deny.map { "n-:" + $0 }
                }
                if let settings = rule.guardSettings {
                    fields.append(
                        "g:\(settings.endpoint) \(settings.model) \(settings.categories) \(settings.levels) \(settings.timeout)")
                }
                canonical += fields.map { "\($0.utf8.count):\($0)" }.joined(separator: "|") + "\n"
            }
        }
        return String(SHA256.hex(Array(canonical.utf8)).prefix(16))
    }

    func recordFailure(_ failure: RuleFailure) {
        failureCounts.withLock { $0[failure.ruleID, default: 0] += 1 }
        logger.warning(
            "rule failed", metadata: ["rule": "\(failure.ruleID)", "code": "\(failure.code)", "mode": "\(failure.mode.rawValue)"])
    }
}
