import ChatWire
import Pricing
import Prometheus
import Synchronization

/// Tokens and money. The `model` label is a model of the price table (configuration) or `other`, never a name taken
/// from a request alone, and `currency` a currency of the table; so the label sets stay bounded whatever clients send.
final class SpendMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let counters = Mutex<[String: Prometheus.Counter]>([:])
    private let modelSeries = Mutex<[String: ModelSeries]>([:])
    /// Time from the request's arrival to the stream's first answer text, and between answer chunks.
    let timeToFirstToken: DurationHistogram
    let timeBetweenTokens: DurationHistogram

    static let tokenKinds = ["prompt", "completion", "cached", "reasoning"]

    static var tokensName: MetricNameDescriptor {
        AirlockMetrics.descriptor(
            "airlock_tokens_total",
            "Tokens upstream reported, by model (of the price table, else other) and kind: prompt, completion, cached (of the prompt, read from Qwen's context cache), reasoning (of the completion).")
    }
    static var costName: MetricNameDescriptor {
        AirlockMetrics.descriptor(
            "airlock_cost_total",
            "What the answers cost at the price table's rates, by model and currency (answers of unpriced models are counted in tokens only).")
    }
    static var avoidedName: MetricNameDescriptor {
        AirlockMetrics.descriptor(
            "airlock_cost_avoided_total",
            "Money not spent, by model, currency and reason: cache_hit (the stored answer's usage at today's rates), blocked_prompt_estimate (the blocked prompt's input, estimated from its length; an estimate).")
    }
    static var unpricedName: MetricNameDescriptor {
        AirlockMetrics.descriptor(
            "airlock_unpriced_answers_total",
            "Answers with usage that the price table cannot price (unknown model, region or tier), by model.")
    }

    static let tokenBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        .seconds(30),
    ]

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        timeToFirstToken = registry.makeDurationHistogram(
            descriptor: AirlockMetrics.descriptor(
                "airlock_time_to_first_token_seconds",
                "Streams: time from the request's arrival to the first answer text sent to the client."),
            buckets: Self.tokenBuckets)
        timeBetweenTokens = registry.makeDurationHistogram(
            descriptor: AirlockMetrics.descriptor(
                "airlock_time_between_tokens_seconds",
                "Streams: time between consecutive chunks of answer text sent to the client."),
            buckets: Self.tokenBuckets)
    }

    /// One answer's tokens and cost. `model`: the label (a table model, or `other`).
    func record(usage: TokenUsage, model: String, cost: Money?) {
        let series = self.series(model)
        let counts = [
            usage.promptTokens, usage.completionTokens, usage.cachedTokens + usage.cacheCreationTokens,
            usage.reasoningTokens,
        ]
        for (counter, count) in zip(series.tokens, counts) where count > 0 { counter.increment(by: Int64(count)) }
        if let cost {
            counter(Self.costName, [("model", model), ("currency", cost.currency)]).increment(by: cost.amount)
        } else {
            series.unpriced.increment()
        }
    }

    /// Money a cache hit or a blocked prompt kept from being spent.
    func recordAvoided(_ money: Money, model: String, reason: String) {
        counter(Self.avoidedName, [("model", model), ("currency", money.currency), ("reason", reason)])
            .increment(by: money.amount)
    }

    /// The per-model series every answer touches, made once per model label.
    private struct ModelSeries: Sendable {
        let tokens: [Prometheus.Counter]
        let unpriced: Prometheus.Counter
    }

    private func series(_ model: String) -> ModelSeries {
        if let series = modelSeries.withLock({ $0[model] }) { return series }
        let series = ModelSeries(
            tokens: Self.tokenKinds.map { counter(Self.tokensName, [("model", model), ("kind", $0)]) },
            unpriced: counter(Self.unpricedName, [("model", model)]))
        modelSeries.withLock { $0[model] = series }
        return series
    }

    private func counter(_ name: MetricNameDescriptor, _ labels: [(String, String)]) -> Prometheus.Counter {
        let key = name.metricName + labels.map { "|\($0.0)=\($0.1)" }.joined()
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(descriptor: name, labels: labels)
            counters[key] = counter
            return counter
        }
    }
}
