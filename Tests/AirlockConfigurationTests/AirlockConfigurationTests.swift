import Foundation
import Testing

@testable import AirlockConfiguration

@Suite struct AirlockConfigurationTests {
    @Test func defaultsApplyWithNoFileAndNoEnvironment() throws {
        let config = try AirlockConfiguration.load(path: nil, environment: [:])
        #expect(config.listenHost == "127.0.0.1")
        #expect(config.listenPort == 8080)
        #expect(config.upstream.url == "https://dashscope-intl.aliyuncs.com/compatible-mode/v1")
        #expect(config.upstream.apiKey == nil)
        #expect(config.upstream.auth == .airlock)
        #expect(config.maxRequestBytes == 1 << 20)
        #expect(config.upstream.forwardHeaderPrefixes == ["x-dashscope-"])
        #expect(config.origins["listen"] == "default")
    }

    @Test func redisNoneRunsWithoutRedis() throws {
        let none = try AirlockConfiguration.load(path: nil, environment: ["AIRLOCK_REDIS_URL": "none"])
        #expect(none.redisURL == nil)
        #expect(none.rendered().contains("url: none"))
        let unix = try AirlockConfiguration.load(path: nil, environment: ["AIRLOCK_REDIS_URL": "unix:///tmp/r.sock"])
        #expect(unix.redisURL == "unix:///tmp/r.sock")
        #expect(try AirlockConfiguration.load(path: nil, environment: [:]).redisURL == "redis://127.0.0.1:6379/0")
        #expect(throws: ConfigurationError.self) {
            try AirlockConfiguration.load(path: nil, environment: ["AIRLOCK_REDIS_URL": "nothing"])
        }
    }

    @Test func semanticScriptsAndThresholdsByScript() throws {
        let defaults = try AirlockConfiguration.load(path: nil, environment: [:])
        #expect(defaults.cache.multilingualModelDirectory == "")
        #expect(defaults.cache.resolvedSemanticScripts(backend: .local) == ["latin"])
        #expect(defaults.rendered().contains(#"semantic_scripts: "auto: latin (exact hits only: han,kana,hangul,"#))
        let multilingual = try AirlockConfiguration.load(
            path: nil, environment: ["AIRLOCK_CACHE_MULTILINGUAL_MODEL_DIR": "models/multilingual-e5-small"])
        // Calibrated scripts only (Han); the others have no labeled pairs and stay exact-only.
        #expect(multilingual.cache.resolvedSemanticScripts(backend: .local) == ["latin", "han"])
        #expect(
            multilingual.cache.resolvedThresholds(backend: .local)["han"]
                == AirlockConfiguration.Cache.calibratedMultilingualThresholds["han"])
        #expect(multilingual.rendered().contains("auto: latin,han (exact hits only: kana,hangul,cyrillic,arabic,other,none)"))
        // An operator's threshold for a script puts it under `auto` too.
        let kana = try AirlockConfiguration.load(
            path: nil,
            environment: [
                "AIRLOCK_CACHE_MULTILINGUAL_MODEL_DIR": "models/multilingual-e5-small", "AIRLOCK_CACHE_THRESHOLDS": "kana=0.96",
            ])
        #expect(kana.cache.resolvedSemanticScripts(backend: .local) == ["latin", "han", "kana"])
        let remote = try AirlockConfiguration.load(path: nil, environment: ["AIRLOCK_EMBEDDING_BACKEND": "remote"])
        #expect(remote.cache.resolvedSemanticScripts(backend: remote.embedding.backend).contains("han"))
        let set = try AirlockConfiguration.load(
            path: nil,
            environment: ["AIRLOCK_CACHE_SEMANTIC_SCRIPTS": "latin, han", "AIRLOCK_CACHE_THRESHOLDS": "han=0.95,latin=0.9"])
        #expect(set.cache.semanticScripts == ["latin", "han"])
        #expect(set.cache.thresholds == ["han": 0.95, "latin": 0.9])
        for bad in [["AIRLOCK_CACHE_SEMANTIC_SCRIPTS": "latin,klingon"], ["AIRLOCK_CACHE_THRESHOLDS": "han=1.5"],
            ["AIRLOCK_CACHE_THRESHOLDS": "han"]]
        {
            #expect(throws: ConfigurationError.self) { try AirlockConfiguration.load(path: nil, environment: bad) }
        }
    }

    /// The thresholds in code are the calibration record's: `airlock cache calibrate --write` regenerates the file,
    /// and a recalibration that moves a threshold fails here until the code follows.
    @Test func multilingualThresholdsEqualTheShippedCalibration() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/cache/calibration.json").path
        let data = try #require(FileManager.default.contents(atPath: path), "scripts/cache/calibration.json is missing")
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["format"] as? String == "airlock-cache-calibration/1")
        let scripts = try #require(object["scripts"] as? [String: [String: Any]])
        var calibrated: [String: Double] = [:]
        for (script, record) in scripts where script != "latin" {
            #expect(record["model"] as? String == "multilingual-e5-small", "\(script)")
            if let threshold = record["threshold"] as? Double { calibrated[script] = threshold }
            // Every threshold names the files it was measured on, with their checksums.
            for file in record["files"] as? [[String: Any]] ?? [] {
                #expect((file["sha256"] as? String)?.count == 64)
            }
        }
        #expect(calibrated == AirlockConfiguration.Cache.calibratedMultilingualThresholds)
        #expect(scripts["han"]?["threshold"] as? Double != nil, "Han is calibrated on ATEC and BQ")
    }

    @Test func environmentOverridesTheFile() throws {
        let path = try temporaryFile(
            """
            listen: 0.0.0.0:9000
            upstream:
              url: https://dashscope.aliyuncs.com/compatible-mode/v1/
              connect_timeout_ms: 1500
            limits:
              max_request_bytes: 2MiB
            """)
        let config = try AirlockConfiguration.load(
            path: path,
            environment: ["AIRLOCK_LISTEN": "127.0.0.1:7000", "DASHSCOPE_API_KEY": "sk-test-123456789"])
        #expect(config.listenPort == 7000)
        #expect(config.origins["listen"] == "env AIRLOCK_LISTEN")
        #expect(config.upstream.url == "https://dashscope.aliyuncs.com/compatible-mode/v1")
        #expect(config.upstream.connectTimeoutMilliseconds == 1500)
        #expect(config.maxRequestBytes == 2 << 20)
        #expect(config.upstream.apiKey == "sk-test-123456789")
    }

    @Test func badValueNamesKeyValueAndExpectation() throws {
        let path = try temporaryFile("upstream:\n  connect_timeout_ms: soon\n")
        do {
            _ = try AirlockConfiguration.load(path: path, environment: [:])
            Issue.record("a bad value was accepted")
        } catch let error as ConfigurationError {
            #expect(error.code == .invalidValue)
            #expect(error.key == "upstream.connect_timeout_ms")
            #expect(error.value == "soon")
            #expect(error.source == "\(path):2")
            #expect(error.description.contains("expected a whole number of milliseconds"))
        }
    }

    @Test func badEnvironmentValueIsRejected() {
        #expect(throws: ConfigurationError.self) {
            try AirlockConfiguration.load(path: nil, environment: ["AIRLOCK_LISTEN": "localhost"])
        }
        #expect(throws: ConfigurationError.self) {
            try AirlockConfiguration.load(path: nil, environment: ["AIRLOCK_UPSTREAM_URL": "ftp://example"])
        }
        #expect(throws: ConfigurationError.self) {
            try AirlockConfiguration.load(path: nil, environment: ["AIRLOCK_UPSTREAM_AUTH": "maybe"])
        }
    }

    @Test func unknownKeyIsRejectedWithItsLine() throws {
        let path = try temporaryFile("upstream:\n  urll: https://x\n")
        do {
            _ = try AirlockConfiguration.load(path: path, environment: [:])
            Issue.record("an unknown key was accepted")
        } catch let error as ConfigurationError {
            #expect(error.code == .unknownKey)
            #expect(error.key == "upstream.urll")
            #expect(error.source == "\(path):2")
        }
    }

    @Test func renderedMasksSecrets() throws {
        let config = try AirlockConfiguration.load(
            path: nil,
            environment: [
                "DASHSCOPE_API_KEY": "sk-abcdefghijklmnopqrstuvwxyz",
                "AIRLOCK_REDIS_URL": "redis://user:hunter2@redis:6379/0",
            ])
        let text = config.rendered()
        #expect(!text.contains("abcdefghijklmnop"))
        #expect(!text.contains("hunter2"))
        #expect(text.contains("api_key: \"sk-…yz (masked)\"  # env DASHSCOPE_API_KEY"))
        #expect(text.contains("url: \"redis://****@redis:6379/0\""))
    }

    @Test func embeddingBackendIsChosenInConfiguration() throws {
        let local = try AirlockConfiguration.load(path: nil, environment: [:])
        #expect(local.embedding.backend == .local)
        #expect(local.embedding.modelDirectory == "models/all-MiniLM-L6-v2")
        let path = try temporaryFile(
            "embedding:\n  backend: remote\n  remote_model: text-embedding-v3\n  remote_dimensions: 512\n")
        let remote = try AirlockConfiguration.load(path: path, environment: [:])
        #expect(remote.embedding.backend == .remote)
        #expect(remote.embedding.remoteModel == "text-embedding-v3" && remote.embedding.remoteDimensions == 512)
        #expect(throws: ConfigurationError.self) {
            try AirlockConfiguration.load(path: nil, environment: ["AIRLOCK_EMBEDDING_REMOTE_DIMENSIONS": "10"])
        }
    }

    @Test func fallbacksFromFileAndEnvironment() throws {
        let path = try temporaryFile(
            """
            upstream:
              fallbacks:
                - url: https://dashscope.aliyuncs.com/compatible-mode/v1/
                  model: qwen-flash
                  api_key_env: BEIJING_KEY
            """)
        let config = try AirlockConfiguration.load(
            path: path, environment: ["BEIJING_KEY": "sk-beijing-123456", "DASHSCOPE_API_KEY": "sk-intl-123456"])
        #expect(config.upstream.fallbacks.count == 1)
        #expect(config.upstream.fallbacks[0].url == "https://dashscope.aliyuncs.com/compatible-mode/v1")
        #expect(config.upstream.fallbacks[0].model == "qwen-flash")
        #expect(config.upstream.fallbacks[0].apiKey == "sk-beijing-123456")
        #expect(throws: ConfigurationError.self) {
            try AirlockConfiguration.load(path: path, environment: [:])  // BEIJING_KEY unset
        }
        let fromEnv = try AirlockConfiguration.load(
            path: nil, environment: ["AIRLOCK_UPSTREAM_FALLBACKS": #"[{"url":"http://127.0.0.1:9000/v1"}]"#])
        #expect(fromEnv.upstream.fallbacks.first?.url == "http://127.0.0.1:9000/v1")
        #expect(throws: ConfigurationError.self) {
            try AirlockConfiguration.load(path: nil, environment: ["AIRLOCK_UPSTREAM_FALLBACKS": "[{\"url\":\"ftp://x\"}]"])
        }
    }

    @Test func hostPortParsing() {
        #expect(parseHostPort("[::1]:8080")! == ("::1", 8080))
        #expect(parseHostPort("0.0.0.0:0")! == ("0.0.0.0", 0))
        #expect(parseHostPort("host:70000") == nil)
        #expect(parseHostPort(":80") == nil)
    }

    private func temporaryFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "airlock-config-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func credentialsInURLsNeverShow() {
        let cases: [(String, String)] = [
            ("redis://user:hunter2@redis:6379/0", "redis://****@redis:6379/0"),
            ("redis://hunter2@redis:6379", "redis://****@redis:6379"),
            ("redis://:hun@ter2@redis:6379", "redis://****@redis:6379"),
            ("redis://user:p%40ss@[::1]:6379/2", "redis://****@[::1]:6379/2"),
            ("unix:///run/redis.sock?db=2&password=hunter2", "unix:///run/redis.sock?db=2&password=****"),
            ("unix:///run/redis.sock?user=admin&password=hunter2", "unix:///run/redis.sock?user=****&password=****"),
            ("https://key:hunter2@proxy.example/v1", "https://****@proxy.example/v1"),
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ]
        for (url, shown) in cases {
            #expect(URLRedaction.redacting(url) == shown)
            #expect(!URLRedaction.redacting(url).contains("hunter2"))
        }
    }

    @Test func placeholderAdminTokensAreRefused() {
        for token in ["replace-me-with-a-long-random-token", "changeme-changeme-changeme", "aaaaaaaaaaaaaaaaaaaaaaaa",
            "your-token-here-000000000", "short"]
        {
            #expect(throws: ConfigurationError.self, "\(token)") {
                try AirlockConfiguration.load(path: nil, environment: ["AIRLOCK_ADMIN_TOKEN": token])
            }
        }
        let generated = "3f9c2a7be81d4c06a5f1e2d9b7c4a810"
        let config = try? AirlockConfiguration.load(path: nil, environment: ["AIRLOCK_ADMIN_TOKEN": generated])
        #expect(config?.adminToken == generated)
    }

    @Test func limitsHaveDefaultsAndRanges() throws {
        let defaults = try AirlockConfiguration.load(path: nil, environment: [:]).limits
        #expect(defaults == AirlockConfiguration.Limits())
        #expect(defaults.maxModelLength == 128 && defaults.maxMessages == 2048 && defaults.maxContentParts == 1024)
        #expect(defaults.drainTimeoutMilliseconds < 30_000, "below Kubernetes' default 30 s grace period")
        let set = try AirlockConfiguration.load(
            path: nil,
            environment: [
                "AIRLOCK_MAX_MODEL_LENGTH": "64", "AIRLOCK_MAX_MESSAGES": "10", "AIRLOCK_MAX_CONNECTIONS": "100",
                "AIRLOCK_MAX_UPSTREAM_EVENT_BYTES": "1MiB",
            ]
        ).limits
        #expect(set.maxModelLength == 64 && set.maxMessages == 10 && set.maxConnections == 100)
        #expect(set.maxUpstreamEventBytes == 1 << 20)
        for (name, value) in [
            ("AIRLOCK_MAX_MODEL_LENGTH", "4"), ("AIRLOCK_MAX_MESSAGES", "0"), ("AIRLOCK_MAX_CONNECTIONS", "-1"),
            ("AIRLOCK_MAX_MESSAGES", "9223372036854775808"), ("AIRLOCK_CLIENT_IDLE_TIMEOUT_MS", "0"),
        ] {
            #expect(throws: ConfigurationError.self, "\(name)=\(value)") {
                try AirlockConfiguration.load(path: nil, environment: [name: value])
            }
        }
    }
}
