import FleetStats
import Foundation
import Logging
import ChatWire
import Pricing
import Outcomes
import Prometheus
import Synchronization

/// What one request did, logged as a single structured line when it ends. Never holds prompt or answer text, nor keys.
struct RequestRecord: Sendable {
    let requestID: String
    let route: String
    let startedAt: ContinuousClock.Instant
    let startedAtUnixMilliseconds = Int64(Date().timeIntervalSince1970 * 1000)
    var rules: [String] = []
    var cache: RequestSummary.CacheResult?
    var model: String?
    var stream = false
    var status = 0
    var upstreamStatus: Int?
    var upstreamFirstByte: Duration?
    /// The whole time spent in the upstream router (every attempt and retry wait) until the answer's head arrived.
    var upstreamTime: Duration?
    var bytesOut = 0
    var error: String?
    var outcome: Outcome?
    /// Which upstream target served ("primary", "fallback-1", …).
    var target: String?
    var attempts = 0
    /// What upstream reported this answer used, and what it cost (nil: not priced).
    var usage: TokenUsage?
    var cost: Money?
    /// The `model` label of the spend metrics (a price-table model, or `other`).
    var spendModel = "other"
    /// Money this request kept from being spent, and why (`cache_hit`, `blocked_prompt_estimate`).
    var avoidedCost: Money?
    var avoidedReason: String?
    var avoidedModel = "other"
    /// The tenant the deployment named (`x-airlock-tenant`, when trusted).
    var tenant: String?

    /// Upstream's usage of this answer and its price.
    mutating func spend(_ usage: TokenUsage, _ priced: PriceBook.Priced?) {
        self.usage = usage
        cost = priced?.cost
        spendModel = priced?.label ?? "other"
    }

    /// Money not spent (a cache hit's stored usage, or a blocked prompt's estimated input).
    mutating func avoided(_ priced: PriceBook.Priced, reason: String) {
        avoidedCost = priced.cost
        avoidedReason = reason
        avoidedModel = priced.label
    }

    init(requestID: String, route: String) {
        self.requestID = requestID
        self.route = route
        self.startedAt = .now
    }

    func log(to logger: Logger) {
        // Build nothing when the line would be filtered out: this runs on every request.
        guard logger.logLevel <= .info else { return }
        var metadata: Logger.Metadata = [
            "request_id": "\(requestID)",
            "route": "\(route)",
            "status": "\(status)",
            "duration_ms": "\(Self.milliseconds(ContinuousClock.now - startedAt))",
            "bytes_out": "\(bytesOut)",
        ]
        if let model { metadata["model"] = "\(model)" }
        if route == "chat" { metadata["stream"] = "\(stream)" }
        if let upstreamStatus { metadata["upstream_status"] = "\(upstreamStatus)" }
        if let upstreamFirstByte { metadata["upstream_ttfb_ms"] = "\(Self.milliseconds(upstreamFirstByte))" }
        if let error { metadata["error"] = "\(error)" }
        if let outcome { metadata["outcome"] = "\(outcome)" }
        if let target { metadata["upstream"] = "\(target)" }
        if attempts > 1 { metadata["attempts"] = "\(attempts)" }
        if let usage {
            metadata["prompt_tokens"] = "\(usage.promptTokens)"
            metadata["completion_tokens"] = "\(usage.completionTokens)"
        }
        if let cost { metadata["cost"] = "\(cost.amount) \(cost.currency)" }
        // Rule ids only: never the text a rule matched.
        if !rules.isEmpty { metadata["rules"] = "\(rules.joined(separator: ","))" }
        logger.info("request", metadata: metadata)
    }

    /// The answer's first byte is about to leave: what Airlock itself took until now.
    func recordOverhead(_ metrics: AirlockMetrics) {
        let overhead = (ContinuousClock.now - startedAt) - (upstreamTime ?? .zero)
        metrics.overhead.recordNanoseconds(max(0, overhead.nanoseconds))
    }

    /// The request is over: one log line, and the metrics.
    func finish(logger: Logger, metrics: AirlockMetrics) {
        log(to: logger)
        let duration = ContinuousClock.now - startedAt
        metrics.recordRequest(route: route, outcome: outcome ?? .ok, duration: duration)
        if let usage { metrics.spend.record(usage: usage, model: spendModel, cost: cost) }
        if let avoidedCost, let avoidedReason {
            metrics.spend.recordAvoided(avoidedCost, model: avoidedModel, reason: avoidedReason)
        }
        metrics.fleet?.record(
            RequestSummary(
                unixMilliseconds: startedAtUnixMilliseconds, requestID: requestID, model: model, route: route,
                outcome: outcome ?? .ok, rules: rules, status: status,
                durationMilliseconds: Double(duration.nanoseconds) / 1e6,
                upstreamMilliseconds: upstreamFirstByte.map { Double($0.nanoseconds) / 1e6 }, cache: cache,
                tokens: usage.map {
                    RequestSummary.Tokens(
                        prompt: $0.promptTokens, completion: $0.completionTokens,
                        cached: $0.cachedTokens + $0.cacheCreationTokens, reasoning: $0.reasoningTokens)
                },
                cost: cost, saved: avoidedReason == "cache_hit" ? avoidedCost : nil,
                savedEstimate: avoidedReason == "blocked_prompt_estimate" ? avoidedCost : nil,
                spendModel: usage != nil ? spendModel : avoidedModel, tenant: tenant))
    }

    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        return String(format3(Double(micros) / 1000))
    }

    private static func format3(_ value: Double) -> String {
        let scaled = (value * 1000).rounded() / 1000
        return "\(scaled)"
    }
}

/// Request ids: the caller's `x-request-id` when it is short and plain, else a random one.
enum RequestID {
    private static let counter = Atomic<UInt64>(0)
    private static let prefix: String = {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() & 0xFFFF_FFFF, radix: 16)
    }()

    static func make(from header: String?) -> String {
        if let header, !header.isEmpty, header.count <= 128,
            header.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) })
        {
            return header
        }
        let next = counter.add(1, ordering: .relaxed).newValue
        return "al-\(prefix)-\(String(next, radix: 16))"
    }
}
