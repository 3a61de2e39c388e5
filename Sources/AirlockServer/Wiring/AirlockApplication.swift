public import AirlockConfiguration
public import Embeddings
import Foundation
import Inspection
public import NamedEntities
public import Logging
import Pricing
import Redis
import ServiceLifecycle
import SemanticCache
public import TimeSource
import Upstream

/// The composition root: every component of a running Airlock, built from one `AirlockConfiguration`. `airlock serve`
/// and the tests both build the server here, so what is tested is what is served.
public enum AirlockApplication {
    /// What the environment supplies instead of what the configuration would build.
    public struct Overrides: Sendable {
        /// An embedding engine to use instead of loading `embedding.*` (a test process loads the model once).
        public var embedder: (any Embedder)?
        /// The clock of the breakers, the retry waits and the cache's expiry.
        public var time: any TimeSource
        /// Where the NER model comes from instead of `rules.ner_model_dir` (a test process loads it once).
        public var recognizerLoader: EntityRecognizerLoader?

        public init(
            embedder: (any Embedder)? = nil, time: any TimeSource = SystemTime(),
            recognizerLoader: EntityRecognizerLoader? = nil
        ) {
            self.embedder = embedder
            self.time = time
            self.recognizerLoader = recognizerLoader
        }
    }

    /// Builds the upstream client, Redis client, embedder, rule store, cache, stats and routes. Every problem that
    /// stops start-up names the setting to change.
    public static func make(
        configuration: AirlockConfiguration, logger: Logger, overrides: Overrides = .init()
    ) async throws(AirlockStartupError) -> AirlockServer {
        if configuration.upstream.auth == .airlock && configuration.upstream.apiKey == nil {
            throw AirlockStartupError(
                "upstream.api_key is not set: export DASHSCOPE_API_KEY, or set upstream.auth: passthrough to send each "
                    + "caller's own Authorization header.")
        }
        var upstreamConfiguration = UpstreamClient.Configuration()
        upstreamConfiguration.caFile = configuration.upstream.caFile
        let upstream = UpstreamClient(configuration: upstreamConfiguration, logger: logger)
        do {
            return try await make(configuration: configuration, upstream: upstream, logger: logger, overrides: overrides)
        } catch {
            upstream.shutdown()
            throw error
        }
    }

    private static func make(
        configuration: AirlockConfiguration, upstream: UpstreamClient, logger: Logger, overrides: Overrides
    ) async throws(AirlockStartupError) -> AirlockServer {
        var redis: RedisClient?
        if let url = configuration.redisURL {
            do {
                redis = try RedisClient(configuration: try RedisConfiguration(url: url), logger: logger)
            } catch {
                throw AirlockStartupError("redis.url \(URLRedaction.redacting(url)): \(error)")
            }
        } else if configuration.cache.enabled {
            redis = nil
            throw AirlockStartupError("cache.enabled needs Redis: set redis.url, or set cache.enabled: false")
        }

        // One embedding engine for the cache and the semantic rules, made only if either needs it.
        var sharedEmbedder: (any Embedder)?
        // An engine made here is the server's to stop (a given one belongs to whoever gave it).
        var engineServices: [any Service] = []
        let embeddingTimer = EmbeddingTimer()
        func embedder(for user: String) throws(AirlockStartupError) -> any Embedder {
            if let sharedEmbedder { return sharedEmbedder }
            let base: any Embedder
            if let given = overrides.embedder {
                base = given
            } else {
                do {
                    base = try EmbeddingBackend(configuration: configuration).makeEmbedder(client: upstream, logger: logger)
                    if let engine = base as? any Service { engineServices.append(engine) }
                } catch {
                    throw AirlockStartupError(
                        "embedding (\(configuration.embedding.backend.rawValue), "
                            + "\(configuration.embedding.modelDirectory)): \(error). Run `make models`, or \(user).")
                }
            }
            // Timed inside the memory, so the histogram shows model calls; the memory lets the semantic rules and the
            // cache share one embedding of a prompt.
            let made = MemoizingEmbedder(embeddingTimer.timing(base))
            sharedEmbedder = made
            return made
        }

        var rules: RuleSetStore?
        if configuration.rules.enabled {
            rules = try await loadRules(
                configuration, upstream: upstream, logger: logger,
                recognizerLoader: overrides.recognizerLoader
                    ?? EntityRecognizerLoader(
                        directory: configuration.rules.nerModelDirectory,
                        englishDirectory: configuration.rules.nerEnglishModelDirectory)
            ) {
                () throws(AirlockStartupError) -> any Embedder in
                try embedder(for: "turn the semantic rules off (enabled: false), or set rules.enabled: false")
            }
        }
        var cache: SemanticCache?
        if configuration.cache.enabled, let redis {
            let embedder = try embedder(for: "set cache.enabled: false")
            // Texts in scripts all-MiniLM-L6-v2 cannot judge go to the multilingual model (their namespaces are
            // theirs alone: the script is part of the namespace).
            var routes: [TextScript: SemanticCache.Route] = [:]
            if overrides.embedder == nil, configuration.usesMultilingualCacheModel {
                let directory = configuration.cache.multilingualModelDirectory
                do {
                    let engine = try LocalEmbedder(modelDirectory: directory, logger: logger)
                    engineServices.append(engine)
                    routes = configuration.multilingualCacheRoutes(embeddingTimer.timing(engine))
                } catch {
                    throw AirlockStartupError(
                        "cache.multilingual_model_dir \(directory): \(error). Run `make models`, or set "
                            + "cache.multilingual_model_dir: off (texts in other scripts than Latin then get exact hits only).")
                }
            }
            var cacheConfiguration = configuration.semanticCacheConfiguration
            cacheConfiguration.index = try await resolveIndex(configuration.cache.index, redis: redis, logger: logger)
            do {
                cache = try SemanticCache(
                    configuration: cacheConfiguration, redis: redis, embedder: embedder,
                    embeddingModel: overrides.embedder == nil ? configuration.cacheEmbeddingModel : "", routes: routes,
                    time: overrides.time,
                    logger: logger)
            } catch {
                throw AirlockStartupError("cache: \(error)")
            }
        }
        // Answers are stored off the response path, by a bounded queue the server drains on shutdown.
        let cacheStores = cache.map { CacheStoreQueue(cache: $0) }
        let prices = try loadPrices(configuration, logger: logger)
        return AirlockServer(
            configuration: configuration, upstream: upstream, redis: redis, cache: cache, cacheStores: cacheStores,
            rules: rules, prices: prices,
            embeddingTimer: embeddingTimer, engineServices: engineServices, time: overrides.time, logger: logger)
    }

    /// `cache.index`: `local`, `redis` (Redis must have vector sets: Redis 8), or `auto` (vector sets when this Redis
    /// has them; in process when it has not, or cannot be asked now). The choice and its reason are logged.
    static func resolveIndex(_ setting: String, redis: RedisClient, logger: Logger) async throws(AirlockStartupError)
        -> SemanticCacheConfiguration.IndexBackend
    {
        if setting == "local" {
            logger.notice("cache index: in process", metadata: ["cache.index": "local"])
            return .local
        }
        let supported: Bool
        do {
            supported = try await VectorSetIndex.isSupported(by: redis)
        } catch {
            if setting == "redis" {
                throw AirlockStartupError(
                    "cache.index redis: cannot ask Redis whether it has vector sets (\(error)); start Redis 8, or set cache.index: local")
            }
            logger.warning(
                "cache index: in process (Redis did not answer; vector sets not checked)",
                metadata: ["cache.index": "auto", "error": "\(error)"])
            return .local
        }
        if supported {
            logger.notice("cache index: Redis vector sets", metadata: ["cache.index": "\(setting)"])
            return .redis
        }
        if setting == "redis" {
            throw AirlockStartupError(
                "cache.index redis: this Redis has no vector sets (VADD); they need Redis 8. Set cache.index: local or auto.")
        }
        logger.notice("cache index: in process (this Redis has no vector sets)", metadata: ["cache.index": "auto"])
        return .local
    }

    /// The price book of `pricing.*`: nil when accounting is off; unpriced (tokens only) with `pricing.file: none`, or
    /// when the default file is not there (run from elsewhere than the repository: logged). A file that was set must
    /// load, and a fixed region must be one of its regions.
    static func loadPrices(_ configuration: AirlockConfiguration, logger: Logger) throws(AirlockStartupError)
        -> PriceBook?
    {
        guard configuration.pricing.enabled else { return nil }
        var file: String? = configuration.pricing.file.isEmpty ? nil : configuration.pricing.file
        if let path = file, configuration.origins["pricing.file"] == "default",
            !FileManager.default.fileExists(atPath: path)
        {
            logger.warning(
                "no price table: answers are counted in tokens, not priced",
                metadata: ["pricing.file": "\(path)", "hint": "set pricing.file (AIRLOCK_PRICING_FILE)"])
            file = nil
        }
        let prices: PriceBook
        do {
            prices = try PriceBook(file: file, region: configuration.pricing.region, logger: logger)
        } catch {
            throw AirlockStartupError(
                "pricing.file: \(error)\nFix the file (`airlock prices check FILE`), or set pricing.file: none.")
        }
        if let region = configuration.pricing.region, let table = prices.table, table.regions[region] == nil {
            throw AirlockStartupError(
                "pricing.region \(region) is not a region of \(configuration.pricing.file) "
                    + "(\(table.regions.keys.sorted().joined(separator: ", ")))")
        }
        return prices
    }

    /// Loads and compiles the rule packs of `rules.dir`; every problem is reported with its file and line.
    static func loadRules(
        _ configuration: AirlockConfiguration, upstream: UpstreamClient, logger: Logger,
        recognizerLoader: EntityRecognizerLoader, embedder: () throws(AirlockStartupError) -> any Embedder
    ) async throws(AirlockStartupError) -> RuleSetStore {
        let directory = configuration.rules.directory
        do {
            let packs = try RuleSet.parsePacks(directory: directory)
            let needsEmbedder = packs.contains { pack in
                pack.enabled && pack.rules.contains { $0.enabled && $0.kind == .semantic }
            }
            var ruleConfiguration = RuleSet.Configuration(
                maxHoldbackBytes: configuration.rules.maxHoldbackBytes,
                maxSemanticTokens: configuration.rules.maxSemanticTokens)
            ruleConfiguration.maxEntityBytes = configuration.rules.maxEntityBytes
            let set = try await RuleSet.compile(
                packs: packs, directory: directory, embedder: needsEmbedder ? try embedder() : nil, upstream: upstream,
                recognizerLoader: recognizerLoader, configuration: ruleConfiguration, logger: logger)
            return RuleSetStore(set, logger: logger)
        } catch let failure as RuleLoadFailure {
            throw AirlockStartupError(
                "rules.dir \(directory): the rule packs cannot be loaded (fix them, point AIRLOCK_RULES_DIR elsewhere, "
                    + "or set rules.enabled: false):\n"
                    + failure.errors.map { "  \($0.description)" }.joined(separator: "\n"))
        } catch let error as AirlockStartupError {
            throw error
        } catch {
            throw AirlockStartupError("rules.dir \(directory): \(error)")
        }
    }
}

/// Why Airlock cannot start, in words that name the setting to change.
public struct AirlockStartupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
