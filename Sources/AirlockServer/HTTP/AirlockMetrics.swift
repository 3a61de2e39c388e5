import FleetStats
import Outcomes
import Prometheus
import Redis
import Synchronization

/// Every metric Airlock's server records, created once with fixed labels (label values come from configuration or
/// fixed sets, never from request data). Each server owns its registry, so `/metrics` shows exactly its own numbers.
final class AirlockMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// Fleet-wide counters and the ledger in Redis; nil when running without Redis.
    let fleet: FleetStats?
    private let requests: [String: Prometheus.Counter]
    private let upstreamAttempts: [String: Prometheus.Counter]
    private let retries: [String: Prometheus.Counter]
    private let circuit: [String: Prometheus.Gauge]
    private let requestDuration: [String: DurationHistogram]
    private let upstreamFirstByte: DurationHistogram
    private let cacheLookups: [String: Prometheus.Counter]
    /// Rule findings, blocks, failures, reloads, the rules version, inspection time.
    let inspection: InspectionMetrics
    let spend: SpendMetrics
    /// Time Airlock itself adds before the answer's first byte (the upstream's time taken out).
    let overhead: DurationHistogram
    let embedding: DurationHistogram
    private let redisErrors: [String: Prometheus.Counter]
    private let shed: Prometheus.Counter
    private let cacheIndexBytes: Prometheus.Gauge
    private let workAdmitted: Prometheus.Gauge
    private let redisErrorsSeen = Mutex<[String: Int]>([:])
    private let redisStatistics: RedisStatistics?

    static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120),
    ]

    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    static let routes = ["chat", "embeddings", "models"]

    init(registry: PrometheusCollectorRegistry, targets: [String], fleet: FleetStats?, redis: RedisStatistics? = nil) {
        self.registry = registry
        self.fleet = fleet
        self.redisStatistics = redis
        let requestsName = Self.descriptor("airlock_requests_total", "Requests by route and outcome (one outcome each).")
        var requests: [String: Prometheus.Counter] = [:]
        for route in Self.routes {
            for outcome in Outcome.allNames {
                let kind = Self.kind(of: outcome)
                requests["\(route)|\(outcome)"] = registry.makeCounter(
                    descriptor: requestsName, labels: [("route", route), ("outcome", outcome), ("kind", kind)])
            }
        }
        self.requests = requests
        let attemptsName = Self.descriptor(
            "airlock_upstream_attempts_total", "Upstream attempts by target and outcome, retries included.")
        let retriesName = Self.descriptor("airlock_upstream_retries_total", "Retries made, by upstream target.")
        let circuitName = Self.descriptor(
            "airlock_upstream_circuit_open", "Circuit breaker state by target: 0 closed, 0.5 half-open, 1 open.")
        var attempts: [String: Prometheus.Counter] = [:]
        var retries: [String: Prometheus.Counter] = [:]
        var circuit: [String: Prometheus.Gauge] = [:]
        for target in targets {
            for outcome in Outcome.allNames {
                attempts["\(target)|\(outcome)"] = registry.makeCounter(
                    descriptor: attemptsName, labels: [("target", target), ("outcome", outcome)])
            }
            retries[target] = registry.makeCounter(descriptor: retriesName, labels: [("target", target)])
            circuit[target] = registry.makeGauge(descriptor: circuitName, labels: [("target", target)])
        }
        self.upstreamAttempts = attempts
        self.retries = retries
        self.circuit = circuit
        let durationName = Self.descriptor(
            "airlock_request_duration_seconds", "Time from request to the last byte of the answer, by route.")
        var durations: [String: DurationHistogram] = [:]
        for route in Self.routes {
            durations[route] = registry.makeDurationHistogram(
                descriptor: durationName, labels: [("route", route)], buckets: Self.latencyBuckets)
        }
        self.requestDuration = durations
        self.upstreamFirstByte = registry.makeDurationHistogram(
            descriptor: Self.descriptor("airlock_upstream_first_byte_seconds", "Upstream time to first byte."),
            buckets: Self.latencyBuckets)
        for target in targets { circuit[target]?.set(to: 0) }
        let lookupsName = Self.descriptor(
            "airlock_cache_lookups_total",
            "Cache lookups by result (hit, miss, bypass) and layer (exact, semantic; exact_only: a miss in a script "
                + "the embedding model cannot judge, which only exact hits serve).")
        var lookups: [String: Prometheus.Counter] = [:]
        for (result, layer) in [
            ("hit", "exact"), ("hit", "semantic"), ("miss", "none"), ("miss", "exact_only"), ("bypass", "none"),
        ] {
            lookups["\(result)|\(layer)"] = registry.makeCounter(
                descriptor: lookupsName, labels: [("result", result), ("layer", layer)])
        }
        self.cacheLookups = lookups
        self.inspection = InspectionMetrics(registry: registry)
        self.spend = SpendMetrics(registry: registry)
        self.overhead = registry.makeDurationHistogram(
            descriptor: Self.descriptor(
                "airlock_overhead_seconds",
                "Time Airlock adds before the first byte of its answer: validation, inspection of the prompt, cache lookup, routing (the upstream's own time taken out; all of it for hits and blocks)."),
            buckets: InspectionMetrics.buckets)
        self.embedding = registry.makeDurationHistogram(
            descriptor: Self.descriptor(
                "airlock_embedding_duration_seconds", "Time per embedding call (cache keys, semantic rules)."),
            buckets: InspectionMetrics.buckets)
        let redisErrorsName = Self.descriptor(
            "airlock_redis_errors_total",
            "Redis calls that failed, by kind: timeout, connection_lost, connect_failure, failed_fast (Redis known down).")
        var redisErrors: [String: Prometheus.Counter] = [:]
        for kind in ["timeout", "connection_lost", "connect_failure", "failed_fast"] {
            redisErrors[kind] = registry.makeCounter(descriptor: redisErrorsName, labels: [("kind", kind)])
        }
        self.redisErrors = redisErrors
        self.shed = registry.makeCounter(
            descriptor: Self.descriptor(
                "airlock_shed_total",
                "Requests turned away with 429 and Retry-After because the pool for CPU-heavy work (parsing and inspecting large prompts and answers) was full."),
            labels: [("reason", "work_pool")])
        self.cacheIndexBytes = registry.makeGauge(
            descriptor: Self.descriptor(
                "airlock_cache_index_bytes",
                "Memory the in-process semantic index holds across every namespace (bounded by cache.max_index_bytes)."))
        self.workAdmitted = registry.makeGauge(
            descriptor: Self.descriptor(
                "airlock_work_pool_admitted", "Pieces of CPU-heavy work running or waiting on the work pool."))
    }

    func recordShed() { shed.increment() }

    func setCacheIndexBytes(_ bytes: Int) { cacheIndexBytes.set(Int64(bytes)) }

    func setWorkAdmitted(_ count: Int) { workAdmitted.set(Int64(count)) }

    /// Brings the Redis error counters up to the client's own counts (read when /metrics is scraped).
    private func syncRedisErrors() {
        guard let statistics = redisStatistics else { return }
        let now = [
            "timeout": statistics.timeoutCount, "connection_lost": statistics.connectionLostCount,
            "connect_failure": statistics.connectFailureCount, "failed_fast": statistics.failedFastCount,
        ]
        redisErrorsSeen.withLock { seen in
            for (kind, count) in now where count > seen[kind, default: 0] {
                redisErrors[kind]?.increment(by: Int64(count - seen[kind, default: 0]))
                seen[kind] = count
            }
        }
    }

    static func kind(of outcomeName: String) -> String {
        switch outcomeName {
        case "ok": "ok"
        case "cache_hit": "cache_hit"
        case "invalid_request": "invalid"
        case _ where outcomeName.hasPrefix("blocked"): "blocked"
        case _ where outcomeName.hasPrefix("refusal"): "refusal"
        default: "failure"
        }
    }

    func recordRequest(route: String, outcome: Outcome, duration: Duration) {
        requests["\(route)|\(outcome.name)"]?.increment()
        requestDuration[route]?.recordNanoseconds(duration.nanoseconds)
    }

    func recordAttempt(target: String, outcome: Outcome) {
        upstreamAttempts["\(target)|\(outcome.name)"]?.increment()
    }

    func recordCacheLookup(result: String, layer: String) { cacheLookups["\(result)|\(layer)"]?.increment() }

    func recordRetry(target: String) { retries[target]?.increment() }

    func recordFirstByte(_ duration: Duration) { upstreamFirstByte.recordNanoseconds(duration.nanoseconds) }

    func recordCircuit(target: String, phase: CircuitBreakerState.Phase) {
        circuit[target]?.set(to: phase == .closed ? 0 : (phase == .halfOpen ? 0.5 : 1))
    }

    func render() -> [UInt8] {
        syncRedisErrors()
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
