import AirlockConfiguration
import AirlockServer
import ArgumentParser
import Foundation
import Hummingbird
import Embeddings
import Inspection
import Logging
import Redis
import SemanticCache
import Upstream

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the proxy.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try loadConfiguration(options)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "airlock")
        if configuration.upstream.auth == .airlock && configuration.upstream.apiKey == nil {
            throw ValidationError(
                "upstream.api_key is not set: export DASHSCOPE_API_KEY, or set upstream.auth: passthrough to send each "
                    + "caller's own Authorization header.")
        }
        var upstreamConfiguration = UpstreamClient.Configuration()
        upstreamConfiguration.caFile = configuration.upstream.caFile
        let upstream = UpstreamClient(configuration: upstreamConfiguration, logger: logger)
        let redis: RedisClient
        do {
            redis = try RedisClient(configuration: try RedisConfiguration(url: configuration.redisURL), logger: logger)
        } catch {
            throw ValidationError("redis.url \(configuration.redisURL): \(error)")
        }
        // One embedding engine for the cache and the semantic rules, made only if either needs it.
        var sharedEmbedder: (any Embedder)?
        let embeddingTimer = EmbeddingTimer()
        func embedder(for user: String) throws -> any Embedder {
            if let sharedEmbedder { return sharedEmbedder }
            do {
                // Timed inside the memory, so the histogram shows model calls; the memory lets the semantic rules
                // and the cache share one embedding of a prompt.
                let made = MemoizingEmbedder(
                    embeddingTimer.timing(
                        try EmbeddingBackend(configuration: configuration).makeEmbedder(client: upstream, logger: logger)))
                sharedEmbedder = made
                return made
            } catch {
                throw ValidationError(
                    "embedding (\(configuration.embedding.backend.rawValue), \(configuration.embedding.modelDirectory)): "
                        + "\(error). Run `make models`, or \(user).")
            }
        }
        var rules: RuleSetStore?
        if configuration.rules.enabled {
            rules = try await loadRules(configuration, upstream: upstream, logger: logger) { () throws -> any Embedder in
                try embedder(for: "turn the semantic rules off (enabled: false), or set rules.enabled: false")
            }
        }
        var cache: SemanticCache?
        if configuration.cache.enabled {
            let embedder = try embedder(for: "set cache.enabled: false")
            let cacheConfiguration = SemanticCacheConfiguration(
                threshold: Float(configuration.cache.threshold), defaultTTL: .seconds(configuration.cache.ttlSeconds),
                maximumTTL: .seconds(max(configuration.cache.ttlSeconds, 2_592_000)))
            do {
                cache = try SemanticCache(configuration: cacheConfiguration, redis: redis, embedder: embedder, logger: logger)
            } catch {
                throw ValidationError("cache: \(error)")
            }
        }
        let server = AirlockServer(
            configuration: configuration, upstream: upstream, redis: redis, cache: cache, rules: rules,
            embeddingTimer: embeddingTimer, logger: logger)
        logger.notice(
            "airlock starting",
            metadata: [
                "listen": "\(configuration.listenHost):\(configuration.listenPort)",
                "upstream": "\(configuration.upstream.url)", "upstream_auth": "\(configuration.upstream.auth.rawValue)",
            ])
        if let rules {
            let set = rules.current
            logger.notice(
                "rules loaded",
                metadata: [
                    "rules_dir": "\(configuration.rules.directory)", "rules_version": "\(set.version)",
                    "enabled_rules": "\(set.enabledRules.count)",
                ])
        } else {
            logger.notice("inspection is off (rules.enabled: false): prompts and answers pass unchecked")
        }
        if configuration.adminToken == nil {
            logger.notice("no AIRLOCK_ADMIN_TOKEN is set: the admin routes (/airlock/*) answer on loopback only")
        }
        let app = server.makeApplication()
        try await app.runService()
    }
}

/// Loads and compiles the rule packs of `rules.dir`; every problem is reported with its file and line, and serving
/// does not start.
func loadRules(
    _ configuration: AirlockConfiguration, upstream: UpstreamClient, logger: Logger,
    embedder: () throws -> any Embedder
) async throws -> RuleSetStore {
    let directory = configuration.rules.directory
    do {
        let packs = try RuleSet.parsePacks(directory: directory)
        let needsEmbedder = packs.contains { pack in
            pack.enabled && pack.rules.contains { $0.enabled && $0.kind == .semantic }
        }
        let set = try await RuleSet.compile(
            packs: packs, directory: directory, embedder: needsEmbedder ? try embedder() : nil, upstream: upstream,
            configuration: RuleSet.Configuration(maxHoldbackBytes: configuration.rules.maxHoldbackBytes),
            logger: logger)
        return RuleSetStore(set, logger: logger)
    } catch let failure as RuleLoadFailure {
        throw ValidationError(
            "rules.dir \(directory): the rule packs cannot be loaded (fix them, point AIRLOCK_RULES_DIR elsewhere, or "
                + "set rules.enabled: false):\n" + failure.errors.map { "  \($0.description)" }.joined(separator: "\n"))
    }
}

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Inspect the configuration.", subcommands: [Print.self, Schema.self])

    struct Schema: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schema", abstract: "List every setting: key, environment variables, default, expected form.")
        @Flag(name: .long, help: "Print JSON.") var json = false
        func run() async throws {
            let settings = AirlockConfiguration.settings
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(settings), as: UTF8.self))
            } else {
                for setting in settings {
                    let env = setting.environment.joined(separator: ", ")
                    print("\(setting.key)  [\(env)]  default: \(setting.defaultValue ?? "none")  — \(setting.expected)")
                }
            }
        }
    }

    struct Print: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "print", abstract: "Print the effective configuration, secrets masked.")
        @OptionGroup var options: ConfigOption
        func run() async throws {
            let configuration = try loadConfiguration(options)
            print(configuration.rendered(), terminator: "")
        }
    }
}

func loadConfiguration(_ options: ConfigOption) throws -> AirlockConfiguration {
    let environment = ProcessInfo.processInfo.environment
    var path = options.config ?? environment["AIRLOCK_CONFIG"]
    if path == nil, FileManager.default.fileExists(atPath: "airlock.yaml") { path = "airlock.yaml" }
    do {
        return try AirlockConfiguration.load(path: path, environment: environment)
    } catch let error as ConfigurationError {
        throw ValidationError(error.description)
    }
}
