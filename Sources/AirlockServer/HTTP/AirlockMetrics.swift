import CoreMetrics
import FleetStats
import Outcomes
import Prometheus
import Synchronization

/// Every metric Airlock's server records, created once with fixed labels (label values come from configuration or
/// fixed sets, never from request data). Each server owns its registry, so `/metrics` shows exactly its own numbers.
final class AirlockMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// Fleet-wide counters and the ledger in Redis; nil when running without Redis.
    let fleet: FleetStats?
    private let requests: [String: CoreMetrics.Counter]
    private let upstreamAttempts: [String: CoreMetrics.Counter]
    private let retries: [String: CoreMetrics.Counter]
    private let circuit: [String: CoreMetrics.Gauge]
    private let requestDuration: [String: CoreMetrics.Timer]
    private let upstreamFirstByte: CoreMetrics.Timer

    static let routes = ["chat", "embeddings", "models"]

    init(registry: PrometheusCollectorRegistry, targets: [String], fleet: FleetStats?) {
        self.registry = registry
        self.fleet = fleet
        let factory = PrometheusMetricsFactory(registry: registry)
        var requests: [String: CoreMetrics.Counter] = [:]
        for route in Self.routes {
            for outcome in Outcome.allNames {
                let kind = Self.kind(of: outcome)
                requests["\(route)|\(outcome)"] = CoreMetrics.Counter(
                    label: "airlock_requests_total",
                    dimensions: [("route", route), ("outcome", outcome), ("kind", kind)], factory: factory)
            }
        }
        self.requests = requests
        var attempts: [String: CoreMetrics.Counter] = [:]
        var retries: [String: CoreMetrics.Counter] = [:]
        var circuit: [String: CoreMetrics.Gauge] = [:]
        for target in targets {
            for outcome in Outcome.allNames {
                attempts["\(target)|\(outcome)"] = CoreMetrics.Counter(
                    label: "airlock_upstream_attempts_total", dimensions: [("target", target), ("outcome", outcome)],
                    factory: factory)
            }
            retries[target] = CoreMetrics.Counter(
                label: "airlock_upstream_retries_total", dimensions: [("target", target)], factory: factory)
            circuit[target] = CoreMetrics.Gauge(
                label: "airlock_upstream_circuit_open", dimensions: [("target", target)], factory: factory)
        }
        self.upstreamAttempts = attempts
        self.retries = retries
        self.circuit = circuit
        var durations: [String: CoreMetrics.Timer] = [:]
        for route in Self.routes {
            durations[route] = CoreMetrics.Timer(
                label: "airlock_request_duration_seconds", dimensions: [("route", route)],
                preferredDisplayUnit: .seconds, factory: factory)
        }
        self.requestDuration = durations
        self.upstreamFirstByte = CoreMetrics.Timer(
            label: "airlock_upstream_first_byte_seconds", preferredDisplayUnit: .seconds, factory: factory)
        for target in targets { circuit[target]?.record(0) }
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

    func recordRetry(target: String) { retries[target]?.increment() }

    func recordFirstByte(_ duration: Duration) { upstreamFirstByte.recordNanoseconds(duration.nanoseconds) }

    func recordCircuit(target: String, phase: CircuitBreakerState.Phase) {
        circuit[target]?.record(phase == .closed ? 0 : (phase == .halfOpen ? 0.5 : 1))
    }

    func render() -> [UInt8] {
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
