import Foundation

/// One configuration key: its YAML path, environment variable, default, and how it is checked and applied.
struct Setting: Sendable {
    let key: String
    let environment: [String]
    let defaultValue: String?
    let expected: String
    let secret: Bool
    let apply: @Sendable (String?, inout AirlockConfiguration) -> Bool
    let render: @Sendable (AirlockConfiguration) -> String

    init(
        _ key: String, env: [String], default defaultValue: String?, expected: String, secret: Bool = false,
        apply: @escaping @Sendable (String?, inout AirlockConfiguration) -> Bool,
        render: @escaping @Sendable (AirlockConfiguration) -> String
    ) {
        self.key = key
        self.environment = env
        self.defaultValue = defaultValue
        self.expected = expected
        self.secret = secret
        self.apply = apply
        self.render = render
    }

    static func milliseconds(
        _ key: String, env: String, default value: Int, _ path: any WritableKeyPath<AirlockConfiguration, Int> & Sendable
    ) -> Setting {
        Setting(
            key, env: [env], default: String(value), expected: "a whole number of milliseconds from 1 to 86400000",
            apply: { raw, config in
                guard let raw, let number = Int(raw), number >= 1, number <= 86_400_000 else { return false }
                config[keyPath: path] = number
                return true
            }, render: { String($0[keyPath: path]) })
    }

    static func count(
        _ key: String, env: String, default value: Int, range: ClosedRange<Int>,
        _ path: any WritableKeyPath<AirlockConfiguration, Int> & Sendable
    ) -> Setting {
        Setting(
            key, env: [env], default: String(value),
            expected: "a whole number from \(range.lowerBound) to \(range.upperBound)",
            apply: { raw, config in
                guard let raw, let number = Int(raw), range.contains(number) else { return false }
                config[keyPath: path] = number
                return true
            }, render: { String($0[keyPath: path]) })
    }

    static func bytes(
        _ key: String, env: String, default value: Int, _ path: any WritableKeyPath<AirlockConfiguration, Int> & Sendable
    ) -> Setting {
        Setting(
            key, env: [env], default: String(value),
            expected: "a size in bytes from 1024 to 1073741824 (suffixes KiB, MiB allowed)",
            apply: { raw, config in
                guard let raw, let number = parseBytes(raw), number >= 1024, number <= 1 << 30 else { return false }
                config[keyPath: path] = number
                return true
            }, render: { String($0[keyPath: path]) })
    }

    /// Every setting Airlock reads. The README's configuration reference mirrors this table.
    static let all: [Setting] = [
        Setting(
            "listen", env: ["AIRLOCK_LISTEN"], default: "127.0.0.1:8080", expected: "HOST:PORT with a port from 0 to 65535",
            apply: { raw, config in
                guard let raw, let (host, port) = parseHostPort(raw) else { return false }
                config.listenHost = host
                config.listenPort = port
                return true
            }, render: { "\($0.listenHost):\($0.listenPort)" }),
        Setting(
            "upstream.url", env: ["AIRLOCK_UPSTREAM_URL"],
            default: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
            expected: "an http:// or https:// base URL such as https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
            apply: { raw, config in
                guard let raw, let url = normalizeBaseURL(raw) else { return false }
                config.upstream.url = url
                return true
            }, render: { URLRedaction.redacting($0.upstream.url) }),
        Setting(
            "upstream.api_key", env: ["DASHSCOPE_API_KEY", "AIRLOCK_UPSTREAM_API_KEY"], default: nil,
            expected: "a non-empty key without spaces", secret: true,
            apply: { raw, config in
                guard let raw else {
                    config.upstream.apiKey = nil
                    return true
                }
                guard !raw.isEmpty, !raw.contains(where: { $0.isWhitespace }) else { return false }
                config.upstream.apiKey = raw
                return true
            }, render: { $0.upstream.apiKey ?? "" }),
        Setting(
            "upstream.auth", env: ["AIRLOCK_UPSTREAM_AUTH"], default: "airlock",
            expected: "one of: airlock (send Airlock's key), passthrough (send the caller's Authorization)",
            apply: { raw, config in
                guard let raw, let auth = AirlockConfiguration.UpstreamAuth(rawValue: raw) else { return false }
                config.upstream.auth = auth
                return true
            }, render: { $0.upstream.auth.rawValue }),
        .milliseconds(
            "upstream.connect_timeout_ms", env: "AIRLOCK_UPSTREAM_CONNECT_TIMEOUT_MS", default: 5_000,
            \.upstream.connectTimeoutMilliseconds),
        .milliseconds(
            "upstream.first_byte_timeout_ms", env: "AIRLOCK_UPSTREAM_FIRST_BYTE_TIMEOUT_MS", default: 120_000,
            \.upstream.firstByteTimeoutMilliseconds),
        .milliseconds(
            "upstream.idle_timeout_ms", env: "AIRLOCK_UPSTREAM_IDLE_TIMEOUT_MS", default: 60_000,
            \.upstream.idleTimeoutMilliseconds),
        .milliseconds(
            "upstream.request_timeout_ms", env: "AIRLOCK_UPSTREAM_REQUEST_TIMEOUT_MS", default: 600_000,
            \.upstream.requestTimeoutMilliseconds),
        Setting(
            "upstream.ca_file", env: ["AIRLOCK_UPSTREAM_CA_FILE"], default: nil,
            expected: "a path to a PEM CA bundle (empty: the system bundle)",
            apply: { raw, config in
                config.upstream.caFile = (raw?.isEmpty ?? true) ? nil : raw
                return true
            }, render: { $0.upstream.caFile ?? "" }),
        Setting(
            "upstream.forward_headers", env: ["AIRLOCK_UPSTREAM_FORWARD_HEADERS"], default: "x-dashscope-",
            expected: "a comma-separated list of header-name prefixes, such as x-dashscope-",
            apply: { raw, config in
                let prefixes = (raw ?? "").split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces).lowercased()
                }.filter { !$0.isEmpty }
                guard prefixes.allSatisfy({ $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" } }),
                    !prefixes.contains(where: { "authorization".hasPrefix($0) || "host".hasPrefix($0) })
                else { return false }
                config.upstream.forwardHeaderPrefixes = prefixes
                return true
            }, render: { $0.upstream.forwardHeaderPrefixes.joined(separator: ",") }),
        .bytes(
            "upstream.max_response_bytes", env: "AIRLOCK_UPSTREAM_MAX_RESPONSE_BYTES", default: 32 << 20,
            \.upstream.maxResponseBytes),
        Setting(
            "upstream.retries", env: ["AIRLOCK_UPSTREAM_RETRIES"], default: "2", expected: "a whole number from 0 to 10",
            apply: { raw, config in
                guard let raw, let number = Int(raw), (0...10).contains(number) else { return false }
                config.upstream.retries = number
                return true
            }, render: { String($0.upstream.retries) }),
        Setting(
            "upstream.breaker_failures", env: ["AIRLOCK_UPSTREAM_BREAKER_FAILURES"], default: "5",
            expected: "a whole number from 1 to 1000",
            apply: { raw, config in
                guard let raw, let number = Int(raw), (1...1000).contains(number) else { return false }
                config.upstream.breakerFailures = number
                return true
            }, render: { String($0.upstream.breakerFailures) }),
        .milliseconds(
            "upstream.breaker_cooldown_ms", env: "AIRLOCK_UPSTREAM_BREAKER_COOLDOWN_MS", default: 10_000,
            \.upstream.breakerCoolDownMilliseconds),
        Setting(
            "upstream.fallbacks", env: ["AIRLOCK_UPSTREAM_FALLBACKS"], default: "[]",
            expected: "a list of {url, model (optional), api_key_env (optional)}; in the environment as a JSON array",
            apply: { raw, config in
                guard let data = (raw ?? "[]").data(using: .utf8),
                    let targets = try? JSONDecoder().decode([AirlockConfiguration.FallbackTarget].self, from: data)
                else { return false }
                var normalized: [AirlockConfiguration.FallbackTarget] = []
                for var target in targets {
                    guard let url = normalizeBaseURL(target.url) else { return false }
                    target.url = url
                    normalized.append(target)
                }
                config.upstream.fallbacks = normalized
                return true
            },
            render: { config in
                let items = config.upstream.fallbacks.map { target in
                    var fields = ["url=\(URLRedaction.redacting(target.url))"]
                    if let model = target.model { fields.append("model=\(model)") }
                    if let env = target.apiKeyEnv { fields.append("api_key_env=\(env)") }
                    return "{" + fields.joined(separator: " ") + "}"
                }
                return "[" + items.joined(separator: ", ") + "]"
            }),
        .bytes("limits.max_request_bytes", env: "AIRLOCK_MAX_REQUEST_BYTES", default: 1 << 20, \.maxRequestBytes),
        .count(
            "limits.max_model_length", env: "AIRLOCK_MAX_MODEL_LENGTH", default: 128, range: 8...1024,
            \.limits.maxModelLength),
        .count("limits.max_messages", env: "AIRLOCK_MAX_MESSAGES", default: 2048, range: 1...100_000, \.limits.maxMessages),
        .count(
            "limits.max_content_parts", env: "AIRLOCK_MAX_CONTENT_PARTS", default: 1024, range: 1...100_000,
            \.limits.maxContentParts),
        .bytes("limits.max_header_bytes", env: "AIRLOCK_MAX_HEADER_BYTES", default: 32 * 1024, \.limits.maxHeaderBytes),
        .milliseconds(
            "limits.client_idle_timeout_ms", env: "AIRLOCK_CLIENT_IDLE_TIMEOUT_MS", default: 60_000,
            \.limits.clientIdleTimeoutMilliseconds),
        .count(
            "limits.max_connections", env: "AIRLOCK_MAX_CONNECTIONS", default: 4096, range: 1...1_000_000,
            \.limits.maxConnections),
        .bytes(
            "limits.max_upstream_event_bytes", env: "AIRLOCK_MAX_UPSTREAM_EVENT_BYTES", default: 4 << 20,
            \.limits.maxUpstreamEventBytes),
        .count(
            "limits.inspection_threads", env: "AIRLOCK_INSPECTION_THREADS", default: 0, range: 0...256,
            \.limits.inspectionThreads),
        .count(
            "limits.inspection_queue", env: "AIRLOCK_INSPECTION_QUEUE", default: 64, range: 0...100_000,
            \.limits.inspectionQueue),
        .milliseconds(
            "limits.drain_timeout_ms", env: "AIRLOCK_DRAIN_TIMEOUT_MS", default: 20_000,
            \.limits.drainTimeoutMilliseconds),
        Setting(
            "admin.token", env: ["AIRLOCK_ADMIN_TOKEN"], default: nil,
            expected:
                "a random token of at least 16 characters without spaces, not a placeholder such as replace-me (empty: admin routes on loopback only when Airlock listens on loopback, else off)",
            secret: true,
            apply: { raw, config in
                guard let raw, !raw.isEmpty else {
                    config.adminToken = nil
                    return true
                }
                guard raw.count >= 16, !raw.contains(where: { $0.isWhitespace }), !isPlaceholderToken(raw) else {
                    return false
                }
                config.adminToken = raw
                return true
            }, render: { $0.adminToken ?? "" }),
        Setting(
            "cache.enabled", env: ["AIRLOCK_CACHE_ENABLED"], default: "true", expected: "true or false",
            apply: { raw, config in
                guard let raw, let flag = Bool(raw) else { return false }
                config.cache.enabled = flag
                return true
            }, render: { String($0.cache.enabled) }),
        Setting(
            "cache.threshold", env: ["AIRLOCK_CACHE_THRESHOLD"], default: "0.90",
            expected: "a cosine similarity above 0 and at most 1 (the lexical gate still applies)",
            apply: { raw, config in
                guard let raw, let value = Double(raw), value > 0, value <= 1 else { return false }
                config.cache.threshold = value
                return true
            }, render: { String($0.cache.threshold) }),
        Setting(
            "cache.ttl_seconds", env: ["AIRLOCK_CACHE_TTL_SECONDS"], default: "86400",
            expected: "a whole number of seconds from 1 to 2592000 (30 days)",
            apply: { raw, config in
                guard let raw, let value = Int(raw), (1...2_592_000).contains(value) else { return false }
                config.cache.ttlSeconds = value
                return true
            }, render: { String($0.cache.ttlSeconds) }),
        .count(
            "cache.max_ttl_seconds", env: "AIRLOCK_CACHE_MAX_TTL_SECONDS", default: 604_800, range: 1...2_592_000,
            \.cache.maxTTLSeconds),
        Setting(
            "cache.index", env: ["AIRLOCK_CACHE_INDEX"], default: "auto",
            expected: "auto (Redis vector sets when the server has them, Redis 8; else in process), local or redis",
            apply: { raw, config in
                guard let raw, ["auto", "local", "redis"].contains(raw) else { return false }
                config.cache.index = raw
                return true
            }, render: { $0.cache.index }),
        .bytes("cache.max_index_bytes", env: "AIRLOCK_CACHE_MAX_INDEX_BYTES", default: 128 << 20, \.cache.maxIndexBytes),
        .bytes(
            "cache.max_stored_text_bytes", env: "AIRLOCK_CACHE_MAX_STORED_TEXT_BYTES", default: 32 * 1024,
            \.cache.maxStoredTextBytes),
        Setting(
            "cache.semantic_scripts", env: ["AIRLOCK_CACHE_SEMANTIC_SCRIPTS"], default: "auto",
            expected: "auto, or a comma-separated list of " + AirlockConfiguration.Cache.scriptNames.joined(separator: ", "),
            apply: { raw, config in
                let value = (raw ?? "auto").trimmingCharacters(in: .whitespaces).lowercased()
                if value == "auto" {
                    config.cache.semanticScripts = nil
                    return true
                }
                let names = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }
                guard names.allSatisfy(AirlockConfiguration.Cache.scriptNames.contains) else { return false }
                config.cache.semanticScripts = names
                return true
            },
            render: { config in
                let scripts = config.cache.resolvedSemanticScripts(backend: config.embedding.backend)
                let exactOnly = AirlockConfiguration.Cache.scriptNames.filter { !scripts.contains($0) }
                let head = config.cache.semanticScripts == nil ? "auto: " : ""
                return head + scripts.joined(separator: ",")
                    + (exactOnly.isEmpty ? "" : " (exact hits only: " + exactOnly.joined(separator: ",") + ")")
            }),
        Setting(
            "cache.multilingual_model_dir", env: ["AIRLOCK_CACHE_MULTILINGUAL_MODEL_DIR"], default: "off",
            expected: "the directory holding e5-small-q4.bin (make models fetches it into models/multilingual-e5-small), or off",
            apply: { raw, config in
                let value = (raw ?? "").trimmingCharacters(in: .whitespaces)
                config.cache.multilingualModelDirectory = ["off", "none", "false", ""].contains(value.lowercased()) ? "" : value
                return true
            },
            render: { config in
                guard config.embedding.backend == .local else { return "(not used: the remote backend is multilingual)" }
                let directory = config.cache.multilingualModelDirectory
                let judged = config.cache.resolvedSemanticScripts(backend: config.embedding.backend).filter {
                    AirlockConfiguration.Cache.multilingualScripts.contains($0)
                }
                return directory.isEmpty
                    ? "off" : directory + " (judges: " + (judged.isEmpty ? "none" : judged.joined(separator: ",")) + ")"
            }),
        Setting(
            "cache.thresholds", env: ["AIRLOCK_CACHE_THRESHOLDS"], default: "",
            expected: "comma-separated script=threshold pairs, such as han=0.95 (each above 0 and at most 1)",
            apply: { raw, config in
                var thresholds: [String: Double] = [:]
                for pair in (raw ?? "").split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map {
                        $0.trimmingCharacters(in: .whitespaces).lowercased()
                    }
                    guard parts.count == 2, AirlockConfiguration.Cache.scriptNames.contains(parts[0]),
                        let value = Double(parts[1]), value > 0, value <= 1
                    else { return false }
                    thresholds[parts[0]] = value
                }
                config.cache.thresholds = thresholds
                return true
            },
            render: { config in
                config.cache.resolvedThresholds(backend: config.embedding.backend).sorted { $0.key < $1.key }
                    .map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            }),
        Setting(
            "cache.trust_tenant_header", env: ["AIRLOCK_TRUST_TENANT_HEADER"], default: "false",
            expected: "true (partition by x-airlock-tenant, set by your own gateway) or false (by the caller's key)",
            apply: { raw, config in
                guard let raw, let flag = Bool(raw) else { return false }
                config.cache.trustTenantHeader = flag
                return true
            }, render: { String($0.cache.trustTenantHeader) }),
        Setting(
            "rules.enabled", env: ["AIRLOCK_RULES_ENABLED"], default: "true",
            expected: "true (inspect prompts and answers with the rule packs) or false",
            apply: { raw, config in
                guard let raw, let flag = Bool(raw) else { return false }
                config.rules.enabled = flag
                return true
            }, render: { String($0.rules.enabled) }),
        Setting(
            "rules.dir", env: ["AIRLOCK_RULES_DIR"], default: "rules",
            expected: "the directory of rule pack files (*.yaml), loaded in name order",
            apply: { raw, config in
                guard let raw, !raw.isEmpty else { return false }
                config.rules.directory = raw
                return true
            }, render: { $0.rules.directory }),
        Setting(
            "pricing.enabled", env: ["AIRLOCK_PRICING_ENABLED"], default: "true",
            expected: "true (count every answer's tokens and price them) or false (no usage accounting)",
            apply: { raw, config in
                guard let raw, let flag = Bool(raw) else { return false }
                config.pricing.enabled = flag
                return true
            }, render: { String($0.pricing.enabled) }),
        Setting(
            "pricing.file", env: ["AIRLOCK_PRICING_FILE"], default: "prices/qwen.yaml",
            expected: "the price table file (airlock-prices/1 YAML), or none (count tokens, price nothing)",
            apply: { raw, config in
                guard let raw, !raw.isEmpty else { return false }
                config.pricing.file = raw == "none" ? "" : raw
                return true
            }, render: { $0.pricing.file.isEmpty ? "none" : $0.pricing.file }),
        Setting(
            "pricing.region", env: ["AIRLOCK_PRICING_REGION"], default: "auto",
            expected: "auto (each upstream host's region in the price table) or a region the table names, such as international, beijing, us",
            apply: { raw, config in
                guard let raw, !raw.isEmpty,
                    raw.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") })
                else { return false }
                config.pricing.region = raw == "auto" ? nil : raw
                return true
            }, render: { $0.pricing.region ?? "auto" }),
        Setting(
            "pricing.reload_interval_ms", env: ["AIRLOCK_PRICING_RELOAD_INTERVAL_MS"], default: "5000",
            expected: "milliseconds between checks of the price file for changes, 0 (no watch) or 100 to 3600000",
            apply: { raw, config in
                guard let raw, let value = Int(raw), value == 0 || (100...3_600_000).contains(value) else { return false }
                config.pricing.reloadIntervalMilliseconds = value
                return true
            }, render: { String($0.pricing.reloadIntervalMilliseconds) }),
        Setting(
            "rules.reload_interval_ms", env: ["AIRLOCK_RULES_RELOAD_INTERVAL_MS"], default: "2000",
            expected: "milliseconds between checks of the rule files for changes, 0 (no watch) or 100 to 3600000",
            apply: { raw, config in
                guard let raw, let value = Int(raw), value == 0 || (100...3_600_000).contains(value) else { return false }
                config.rules.reloadIntervalMilliseconds = value
                return true
            }, render: { String($0.rules.reloadIntervalMilliseconds) }),
        Setting(
            "rules.max_holdback_bytes", env: ["AIRLOCK_RULES_MAX_HOLDBACK_BYTES"], default: "1024",
            expected: "bytes of streamed answer held back while a pattern may still match, 16 to 65536",
            apply: { raw, config in
                guard let raw, let value = Int(raw), (16...65_536).contains(value) else { return false }
                config.rules.maxHoldbackBytes = value
                return true
            }, render: { String($0.rules.maxHoldbackBytes) }),
        .count(
            "rules.max_semantic_tokens", env: "AIRLOCK_RULES_MAX_SEMANTIC_TOKENS", default: 8192, range: 256...1_000_000,
            \.rules.maxSemanticTokens),
        Setting(
            "rules.ner_model_dir", env: ["AIRLOCK_RULES_NER_MODEL_DIR"], default: "models/lac-2.1.2",
            expected: "the directory of the NER model (LAC 2.1.2: model/ and conf/; make models fetches it)",
            apply: { raw, config in
                guard let raw, !raw.isEmpty else { return false }
                config.rules.nerModelDirectory = raw
                return true
            }, render: { $0.rules.nerModelDirectory }),
        Setting(
            "rules.ner_english_model_dir", env: ["AIRLOCK_RULES_NER_ENGLISH_MODEL_DIR"], default: "models/english-ner",
            expected: "the directory of the English NER model (make models trains it)",
            apply: { raw, config in
                guard let raw, !raw.isEmpty else { return false }
                config.rules.nerEnglishModelDirectory = raw
                return true
            }, render: { $0.rules.nerEnglishModelDirectory }),
        .count(
            "rules.max_ner_bytes", env: "AIRLOCK_RULES_MAX_NER_BYTES", default: 65536, range: 1024...16_777_216,
            \.rules.maxEntityBytes),
        Setting(
            "embedding.backend", env: ["AIRLOCK_EMBEDDING_BACKEND"], default: "local",
            expected: "local (the native all-MiniLM-L6-v2) or remote (an OpenAI-compatible /embeddings endpoint)",
            apply: { raw, config in
                guard let raw, let kind = AirlockConfiguration.EmbeddingBackendKind(rawValue: raw) else { return false }
                config.embedding.backend = kind
                return true
            }, render: { $0.embedding.backend.rawValue }),
        Setting(
            "embedding.model_dir", env: ["AIRLOCK_MODEL_DIR"], default: "models/all-MiniLM-L6-v2",
            expected: "the directory holding model.safetensors, vocab.txt and config.json",
            apply: { raw, config in
                guard let raw, !raw.isEmpty else { return false }
                config.embedding.modelDirectory = raw
                return true
            }, render: { $0.embedding.modelDirectory }),
        Setting(
            "embedding.remote_url", env: ["AIRLOCK_EMBEDDING_REMOTE_URL"], default: nil,
            expected: "an http(s) base URL before /embeddings (empty: upstream.url with Airlock's key)",
            apply: { raw, config in
                guard let raw, !raw.isEmpty else {
                    config.embedding.remoteURL = nil
                    return true
                }
                guard let url = normalizeBaseURL(raw) else { return false }
                config.embedding.remoteURL = url
                return true
            }, render: { $0.embedding.remoteURL ?? "" }),
        Setting(
            "embedding.remote_model", env: ["AIRLOCK_EMBEDDING_REMOTE_MODEL"], default: "text-embedding-v4",
            expected: "an embedding model name",
            apply: { raw, config in
                guard let raw, !raw.isEmpty else { return false }
                config.embedding.remoteModel = raw
                return true
            }, render: { $0.embedding.remoteModel }),
        Setting(
            "embedding.remote_dimensions", env: ["AIRLOCK_EMBEDDING_REMOTE_DIMENSIONS"], default: "1024",
            expected: "a vector length from 64 to 2048",
            apply: { raw, config in
                guard let raw, let number = Int(raw), (64...2048).contains(number) else { return false }
                config.embedding.remoteDimensions = number
                return true
            }, render: { String($0.embedding.remoteDimensions) }),
        Setting(
            "redis.url", env: ["AIRLOCK_REDIS_URL"], default: "redis://127.0.0.1:6379/0",
            expected:
                "redis://[user:password@]host:port[/db], unix:///path/to/redis.sock, or none (no cache, no fleet stats)",
            secret: false,
            apply: { raw, config in
                guard let raw else { return false }
                if raw == "none" {
                    config.redisURL = nil
                    return true
                }
                guard raw.hasPrefix("redis://") || raw.hasPrefix("unix://") else { return false }
                config.redisURL = raw
                return true
            }, render: { $0.redisURL.map(URLRedaction.redacting) ?? "none" }),
        Setting(
            "log.level", env: ["AIRLOCK_LOG_LEVEL"], default: "info",
            expected: "one of: trace, debug, info, notice, warning, error, critical",
            apply: { raw, config in
                let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
                guard let raw, levels.contains(raw) else { return false }
                config.logLevel = raw
                return true
            }, render: { $0.logLevel }),
    ]
}

func parseHostPort(_ raw: String) -> (String, Int)? {
    var host: Substring
    var portText: Substring
    if raw.hasPrefix("[") {
        guard let close = raw.firstIndex(of: "]") else { return nil }
        host = raw[raw.index(after: raw.startIndex)..<close]
        let rest = raw[raw.index(after: close)...]
        guard rest.hasPrefix(":") else { return nil }
        portText = rest.dropFirst()
    } else {
        guard let colon = raw.lastIndex(of: ":") else { return nil }
        host = raw[..<colon]
        portText = raw[raw.index(after: colon)...]
    }
    guard !host.isEmpty, !host.contains(where: { $0.isWhitespace }), let port = Int(portText), (0...65535).contains(port)
    else { return nil }
    return (String(host), port)
}

func normalizeBaseURL(_ raw: String) -> String? {
    var url = raw.trimmingCharacters(in: .whitespaces)
    guard url.hasPrefix("http://") || url.hasPrefix("https://") else { return nil }
    while url.hasSuffix("/") { url.removeLast() }
    let afterScheme = url.split(separator: "/", omittingEmptySubsequences: false).dropFirst(2).first ?? ""
    guard !afterScheme.isEmpty, !url.contains(where: { $0.isWhitespace }) else { return nil }
    return url
}

func parseBytes(_ raw: String) -> Int? {
    let text = raw.trimmingCharacters(in: .whitespaces)
    let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]
    for (suffix, factor) in units where text.hasSuffix(suffix) {
        guard let number = Int(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)) else { return nil }
        return number.multipliedReportingOverflow(by: factor).overflow ? nil : number * factor
    }
    return Int(text)
}

/// A token copied from documentation rather than generated: it names itself a placeholder, or uses fewer than 6
/// distinct characters.
func isPlaceholderToken(_ token: String) -> Bool {
    let lowered = token.lowercased()
    let words = ["replace", "changeme", "change-me", "change_me", "placeholder", "example", "your-token", "secret-token"]
    return words.contains { lowered.contains($0) } || Set(token).count < 6
}

/// URLs as they may appear in logs, errors and `config print`: no credentials.
public enum URLRedaction {
    /// Everything between `scheme://` and the last `@` (user and password, whatever they contain) becomes `****`, and
    /// so do the values of query parameters that carry credentials (`unix:///run/redis.sock?password=…`).
    public static func redacting(_ url: String) -> String {
        var text = url
        if let schemeEnd = text.range(of: "://"), let at = text[schemeEnd.upperBound...].lastIndex(of: "@") {
            text = String(text[..<schemeEnd.upperBound]) + "****" + String(text[at...])
        }
        guard let question = text.firstIndex(of: "?") else { return text }
        let secretNames: Set<String> = ["password", "pass", "passwd", "user", "username", "token", "key", "api_key", "secret"]
        let items = text[text.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false).map {
            item -> String in
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, secretNames.contains(pair[0].lowercased()) else { return String(item) }
            return pair[0] + "=****"
        }
        return String(text[...question]) + items.joined(separator: "&")
    }
}
