import Inspection
import Prometheus
import Synchronization

/// The inspection metrics. Rule labels are rule ids from the rule files (configuration), never request data; their
/// series are made the first time a rule fires.
final class InspectionMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let series = Mutex<[String: Prometheus.Counter]>([:])
    private let versionInfo = Mutex<(String, Prometheus.Gauge)?>(nil)
    private let reloads: [String: Prometheus.Counter]
    private let durations: [String: DurationHistogram]

    static var matchesName: MetricNameDescriptor {
        AirlockMetrics.descriptor(
        "airlock_rule_matches_total", "Rule findings by rule, scope (prompt, output) and action.")
    }
    static var blocksName: MetricNameDescriptor {
        AirlockMetrics.descriptor(
        "airlock_blocks_total", "Requests blocked, by the first blocking rule and scope (prompt, output).")
    }
    static var failuresName: MetricNameDescriptor {
        AirlockMetrics.descriptor(
        "airlock_rule_failures_total",
        "Rule evaluations that could not decide (guard timeout or error, embedding failure, regex limit), by rule, kind and fail mode (open, closed).")
    }
    static var infoName: MetricNameDescriptor {
        AirlockMetrics.descriptor(
        "airlock_rules_version_info", "The loaded rule set: 1 for its version (a hash of the compiled set).")
    }

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        let reloadsName = AirlockMetrics.descriptor(
            "airlock_rules_reloads_total", "Rule reloads by result (success: swapped in; failure: the old set stayed).")
        var reloads: [String: Prometheus.Counter] = [:]
        for result in ["success", "failure"] {
            reloads[result] = registry.makeCounter(descriptor: reloadsName, labels: [("result", result)])
        }
        self.reloads = reloads
        let durationName = AirlockMetrics.descriptor(
            "airlock_inspection_duration_seconds",
            "Time spent inspecting, by scope: prompt (before the upstream call), output (whole answers; stream chunks and the end-of-stream check).")
        var durations: [String: DurationHistogram] = [:]
        for scope in ["prompt", "output"] {
            durations[scope] = registry.makeDurationHistogram(
                descriptor: durationName, labels: [("scope", scope)], buckets: Self.buckets)
        }
        self.durations = durations
    }

    static let buckets: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500),
    ]

    /// Shows `version` as the loaded set (and drops the previous version's series).
    func setVersion(_ version: String) {
        versionInfo.withLock { current in
            if let (old, gauge) = current {
                if old == version { return }
                registry.unregisterGauge(gauge)
            }
            let gauge = registry.makeGauge(descriptor: Self.infoName, labels: [("version", version)])
            gauge.set(to: 1)
            current = (version, gauge)
        }
    }

    func recordReload(success: Bool) { reloads[success ? "success" : "failure"]?.increment() }

    func recordDuration(scope: String, _ duration: Duration) {
        durations[scope]?.recordNanoseconds(duration.nanoseconds)
    }

    func record(findings: [Finding], scope: String) {
        for finding in findings {
            counter(
                Self.matchesName,
                [("rule", finding.ruleID), ("scope", scope), ("action", finding.action.rawValue)]
            ).increment()
        }
    }

    func record(failures: [RuleFailure]) {
        for failure in failures {
            counter(
                Self.failuresName,
                [("rule", failure.ruleID), ("kind", failure.kind.rawValue), ("mode", failure.mode.rawValue)]
            ).increment()
        }
    }

    func recordBlock(rule: String, scope: String) {
        counter(Self.blocksName, [("rule", rule), ("scope", scope)]).increment()
    }

    private func counter(_ descriptor: MetricNameDescriptor, _ labels: [(String, String)]) -> Prometheus.Counter {
        let key = descriptor.metricName + "|" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        return series.withLock { series in
            if let counter = series[key] { return counter }
            let counter = registry.makeCounter(descriptor: descriptor, labels: labels)
            series[key] = counter
            return counter
        }
    }
}
