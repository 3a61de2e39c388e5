public import AirlockConfiguration
import ChatWire
import HTTPTypes
public import Hummingbird
import HummingbirdCore
import Logging
public import FleetStats
import Foundation
public import Inspection
import NIOCore
import Outcomes
import Prometheus
public import Redis
public import SemanticCache
import ServiceLifecycle
import TimeSource
public import Upstream

/// The Hummingbird application: routes, wiring, and the mapping of errors to HTTP.
public struct AirlockServer: Sendable {
    public let configuration: AirlockConfiguration
    public let upstream: UpstreamClient
    let logger: Logger
    let readiness: UpstreamReadiness
    let metrics: AirlockMetrics
    let router: UpstreamRouter
    let classifier: OutcomeClassifier

    public let redis: RedisClient?
    public let fleet: FleetStats?
    public let cache: SemanticCache?
    /// Stores answers in the cache off the response path.
    public let cacheStores: CacheStoreQueue?
    /// The rule set requests are inspected with; nil runs without inspection.
    public let rules: RuleSetStore?
    /// Prices answers (with `pricing.file: none` it holds no table: tokens are counted, every answer is unpriced).
    let prices: PriceBook?
    /// Long-lived engines the server owns besides its own parts (a local embedding engine's threads).
    let engineServices: [any Service]
    /// Threads for CPU-heavy request work, off the event loops (see ``WorkPool``).
    public let workPool: WorkPool

    /// `redis` nil runs without fleet stats and ledger; `cache` nil runs without the cache; `rules` nil without
    /// inspection. Built by ``AirlockApplication/make(configuration:logger:overrides:)``.
    init(
        configuration: AirlockConfiguration, upstream: UpstreamClient, redis: RedisClient?, cache: SemanticCache?,
        cacheStores: CacheStoreQueue?, rules: RuleSetStore?, prices: PriceBook? = nil, embeddingTimer: EmbeddingTimer?,
        engineServices: [any Service], time: any TimeSource, logger: Logger
    ) {
        self.prices = prices
        self.engineServices = engineServices
        self.workPool = WorkPool(
            threads: configuration.limits.inspectionThreads, queue: configuration.limits.inspectionQueue)
        self.configuration = configuration
        self.cache = cache
        self.cacheStores = cacheStores
        self.rules = rules
        self.upstream = upstream
        self.logger = logger
        self.redis = redis
        self.fleet = redis.map { FleetStats(redis: $0, logger: logger) }
        self.readiness = UpstreamReadiness(client: upstream, configuration: configuration)
        self.metrics = AirlockMetrics(
            registry: PrometheusCollectorRegistry(), targets: UpstreamRouter.targetNames(configuration), fleet: fleet,
            redis: redis?.statistics)
        embeddingTimer?.attach(metrics.embedding)
        self.router = UpstreamRouter(client: upstream, configuration: configuration, metrics: metrics, time: time)
        // With rules, the refusal pack's phrase rules decide `refusal_model`; without, the built-in phrases.
        self.classifier = OutcomeClassifier(
            refusalDetector: rules.map { RuleSetRefusalDetector(store: $0) } ?? PhraseRefusalDetector())
        if let rules { metrics.inspection.setVersion(rules.current.version) }
    }

    /// Who may use `/airlock/*`: see ``AdminAccess``.
    public var adminAccess: AdminAccess {
        AdminAccess(token: configuration.adminToken, listenHost: configuration.listenHost)
    }

    var reloader: RulesReloader? {
        rules.map { RulesReloader(store: $0, metrics: metrics.inspection, logger: logger) }
    }

    public func buildRouter() -> Router<AirlockRequestContext> {
        let router = Router(context: AirlockRequestContext.self)
        router.middlewares.add(FallbackErrorMiddleware())
        let upstreamRouter = self.router
        var chatCache: ChatCache?
        if let cache, let cacheStores {
            chatCache = ChatCache(
                cache: cache, stores: cacheStores, configuration: configuration.cache,
                forwardedHeaderPrefixes: configuration.upstream.forwardHeaderPrefixes)
        }
        var chatRoute = ChatCompletionsRoute(
            router: upstreamRouter, classifier: classifier, cache: chatCache, maxRequestBytes: configuration.maxRequestBytes,
            pool: workPool,
            requestLimits: ChatRequest.Limits(
                maxModelLength: configuration.limits.maxModelLength, maxMessages: configuration.limits.maxMessages,
                maxContentParts: configuration.limits.maxContentParts),
            metrics: metrics, rules: rules, prices: prices, maxHoldbackBytes: configuration.rules.maxHoldbackBytes,
            maxUpstreamEventBytes: configuration.limits.maxUpstreamEventBytes,
            drainTimeout: .milliseconds(configuration.limits.drainTimeoutMilliseconds), logger: logger)
        chatRoute.trustsTenantHeader = configuration.cache.trustTenantHeader
        let chat = chatRoute
        let embeddings = PassthroughRoute(
            router: upstreamRouter, classifier: classifier, path: "/embeddings", name: "embeddings",
            maxRequestBytes: configuration.maxRequestBytes, metrics: metrics, logger: logger)
        let models = PassthroughRoute(
            router: upstreamRouter, classifier: classifier, path: "/models", name: "models",
            maxRequestBytes: configuration.maxRequestBytes, metrics: metrics, logger: logger)
        let metrics = self.metrics
        let workPool = self.workPool
        let indexedCache = self.cache
        router.get("/metrics") { _, _ in
            metrics.setWorkAdmitted(workPool.admitted)
            if let indexedCache { metrics.setCacheIndexBytes(indexedCache.indexedBytes) }
            let text = metrics.render()
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .contentLength: String(text.count)],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
        }
        router.post("/v1/chat/completions") { request, context in try await chat.handle(request, context: context) }
        router.post("/v1/embeddings") { request, context in try await embeddings.handle(request, context: context) }
        router.get("/v1/models") { request, context in try await models.handle(request, context: context) }
        router.get("/healthz") { _, _ in
            Self.json(.ok, #"{"status":"ok"}"#)
        }
        let readiness = self.readiness
        router.get("/readyz") { _, _ in
            let result = await readiness.check()
            let detail = result.detail.replacingJSONSpecials()
            if result.reachable {
                return Self.json(.ok, #"{"status":"ready","configuration":"loaded","upstream":"reachable","detail":"\#(detail)"}"#)
            }
            return Self.json(
                .serviceUnavailable,
                #"{"status":"not_ready","configuration":"loaded","upstream":"unreachable","detail":"\#(detail)"}"#)
        }
        let admin = router.group("/airlock").add(middleware: AdminAuthMiddleware(access: adminAccess))
        let rendered = configuration.rendered()
        let fleet = self.fleet
        admin.get("/stats") { request, _ in
            guard let fleet else { throw Self.noRedis }
            let window = try AdminQuery.duration(request.uri.queryParameters.get("window") ?? "15m", name: "window")
            do {
                return try Self.json(.ok, try await fleet.snapshot(window: window))
            } catch let error as RedisError {
                throw Self.redisUnavailable(error)
            }
        }
        admin.get("/outcomes") { request, _ in
            guard let fleet else { throw Self.noRedis }
            let query = request.uri.queryParameters
            let since = try AdminQuery.duration(query.get("since") ?? "10m", name: "since")
            let limit = min(10_000, max(1, query.get("limit").flatMap { Int($0) } ?? 100))
            let kind = query.get("kind").flatMap { $0.isEmpty ? nil : String($0) }
            do {
                let records = try await fleet.outcomes(kind: kind, since: since, limit: limit)
                return try Self.json(.ok, ["records": records])
            } catch let error as RedisError {
                throw Self.redisUnavailable(error)
            }
        }
        let cacheForAdmin = self.cache
        admin.delete("/cache") { request, _ in
            guard let cacheForAdmin else {
                throw AirlockHTTPError(
                    status: .serviceUnavailable, message: "The cache is not enabled.", type: "airlock_admin_error",
                    code: "cache_disabled")
            }
            let query = request.uri.queryParameters
            let scope: CacheDeletionScope
            if let namespace = query.get("namespace") {
                scope = .namespace(namespace)
            } else if let tenant = query.get("tenant") {
                scope = .tenant("tenant:" + tenant)
            } else {
                scope = .all
            }
            do {
                let deleted = try await cacheForAdmin.delete(scope)
                return try Self.json(.ok, ["deleted": deleted])
            } catch {
                throw AirlockHTTPError(
                    status: .serviceUnavailable, message: "The cache could not be cleared: \(error).",
                    type: "airlock_admin_error", code: "redis_unavailable")
            }
        }
        admin.get("/dashboard") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        let reloader = self.reloader
        admin.get("/rules") { _, _ in
            guard let reloader else { throw Self.noRules }
            return try Self.json(.ok, RulesStatus(reloader.store))
        }
        admin.post("/rules/reload") { _, _ in
            guard let reloader else { throw Self.noRules }
            switch await reloader.reload(trigger: "api") {
            case .success:
                return try Self.json(.ok, RulesStatus(reloader.store))
            case .failure(let failure):
                return try Self.json(
                    .unprocessableContent,
                    RulesReloadFailure(
                        error: .init(
                            message: "The rule files have errors; the old rule set stays in use.",
                            type: "airlock_rules_error", code: "rules_invalid",
                            errors: failure.errors.map(\.description)),
                        rulesVersion: reloader.store.current.version))
            }
        }
        admin.get("/config") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/yaml; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: rendered)))
        }
        return router
    }

    /// The application, with the upstream client among its services so that shutdown stops it last.
    public func makeApplication(
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        // Shut down in reverse: the server first, then the stats' last flush, the queued cache stores, the cache, then
        // Redis, the embedding engine, and libcurl.
        var services: [any Service] = [upstream] + engineServices + [workPool]
        if let redis { services.append(redis) }
        if let cache { services.append(cache) }
        if let cacheStores { services.append(cacheStores) }
        if let fleet { services.append(fleet) }
        if let prices, configuration.pricing.reloadIntervalMilliseconds > 0 {
            services.append(
                PriceWatcher(book: prices, interval: .milliseconds(configuration.pricing.reloadIntervalMilliseconds)))
        }
        if let reloader {
            let interval = configuration.rules.reloadIntervalMilliseconds
            services.append(RulesWatcher(reloader: reloader, interval: interval > 0 ? .milliseconds(interval) : nil))
        }
        let limits = configuration.limits
        return Application(
            router: buildRouter(),
            server: .http1(
                configuration: .init(
                    idleTimeout: .milliseconds(Int64(limits.clientIdleTimeoutMilliseconds)),
                    httpDecoderConfiguration: .init(
                        maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes))),
            configuration: .init(
                address: .hostname(configuration.listenHost, port: configuration.listenPort), serverName: "airlock",
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: logger)),
            services: services,
            onServerRunning: onServerRunning,
            logger: logger)
    }

    static let noRedis = AirlockHTTPError(
        status: .serviceUnavailable, message: "Fleet stats need Redis (redis.url).", type: "airlock_admin_error",
        code: "redis_not_configured")

    static let noRules = AirlockHTTPError(
        status: .serviceUnavailable, message: "Inspection is off (rules.enabled: false).", type: "airlock_admin_error",
        code: "rules_disabled")

    static func redisUnavailable(_ error: RedisError) -> AirlockHTTPError {
        AirlockHTTPError(
            status: .serviceUnavailable, message: "Redis is unavailable: \(error.code).", type: "airlock_admin_error",
            code: "redis_unavailable")
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json", .contentLength: String(data.count)],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json", .contentLength: String(text.utf8.count)],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Anything that reaches the router without being answered (unknown route, wrong method, an unexpected error) still
/// gets the OpenAI error shape.
struct FallbackErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as AirlockHTTPError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            let status = error.status
            let message = status == .notFound ? "Unknown route \(request.method) \(request.uri.path)." : status.reasonPhrase
            return try AirlockHTTPError(
                status: status, message: message, type: "invalid_request_error",
                code: status == .notFound ? "unknown_route" : nil
            ).response(from: request, context: context)
        } catch {
            context.logger.error("unhandled error", metadata: ["error_type": "\(type(of: error))"])
            return try AirlockHTTPError(
                status: .internalServerError, message: "Airlock hit an internal error.", type: "airlock_internal_error"
            ).response(from: request, context: context)
        }
    }
}

extension String {
    func replacingJSONSpecials() -> String {
        var out = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
