public import Outcomes
public import Pricing

/// What one request contributes to the fleet's numbers and to the ledger. Never prompt or answer text.
public struct RequestSummary: Sendable, Equatable {
    public enum CacheResult: String, Sendable, Codable, Equatable { case hit, miss, bypass }

    public var unixMilliseconds: Int64
    public var requestID: String
    /// A hash of the tenant (or of the caller's key), never the key itself.
    public var tenantHash: String?
    public var model: String?
    public var route: String
    public var outcome: Outcome
    /// Rule ids that blocked, redacted or flagged.
    public var rules: [String]
    public var status: Int
    public var durationMilliseconds: Double
    public var upstreamMilliseconds: Double?
    public var cache: CacheResult?
    /// Tokens upstream reported for this answer.
    public var tokens: Tokens?
    /// What the answer cost (nil: not priced, or no answer).
    public var cost: Money?
    /// What a cache hit saved: the stored answer's usage at today's rates.
    public var saved: Money?
    /// What a blocked prompt's input would have cost (an estimate from its length).
    public var savedEstimate: Money?
    /// The model as the price table names it, or `other`: the per-model spend fields use this bounded name.
    public var spendModel: String
    /// The tenant as the deployment names it (`x-airlock-tenant`, trusted only with `cache.trust_tenant_header`).
    public var tenant: String?

    public struct Tokens: Sendable, Equatable {
        public var prompt: Int
        public var completion: Int
        /// Of the prompt, read from (or written to) Qwen's context cache.
        public var cached: Int
        /// Of the completion, thinking.
        public var reasoning: Int

        public init(prompt: Int, completion: Int, cached: Int, reasoning: Int) {
            self.prompt = prompt
            self.completion = completion
            self.cached = cached
            self.reasoning = reasoning
        }
    }


    public init(
        unixMilliseconds: Int64, requestID: String, tenantHash: String? = nil, model: String? = nil, route: String,
        outcome: Outcome, rules: [String] = [], status: Int, durationMilliseconds: Double,
        upstreamMilliseconds: Double? = nil, cache: CacheResult? = nil, tokens: Tokens? = nil, cost: Money? = nil,
        saved: Money? = nil, savedEstimate: Money? = nil, spendModel: String = "other", tenant: String? = nil
    ) {
        self.tenant = tenant.map(Self.bounded)
        self.tokens = tokens
        // Currencies come from the price table (three-letter codes); still bounded like every field.
        self.cost = cost.map { Money(currency: Self.bounded($0.currency), picos: $0.picos) }
        self.saved = saved.map { Money(currency: Self.bounded($0.currency), picos: $0.picos) }
        self.savedEstimate = savedEstimate.map { Money(currency: Self.bounded($0.currency), picos: $0.picos) }
        self.spendModel = Self.bounded(spendModel)
        self.unixMilliseconds = unixMilliseconds
        // Every field is bounded, so one ledger record is a few hundred bytes at most whatever the request held.
        self.requestID = Self.bounded(requestID)
        self.tenantHash = tenantHash.map(Self.bounded)
        self.model = model.map(Self.bounded)
        self.route = route
        self.outcome = outcome
        self.rules = rules.prefix(Self.maxRules).map(Self.bounded)
        self.status = status
        self.durationMilliseconds = durationMilliseconds
        self.upstreamMilliseconds = upstreamMilliseconds
        self.cache = cache
    }

    /// Rule ids kept per record (the first ones: the blocking rules come first).
    public static let maxRules = 32
    /// UTF-8 bytes kept of each text field.
    public static let maxFieldBytes = 128

    static func bounded(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count > maxFieldBytes else { return text }
        var cut = maxFieldBytes
        while cut > 0 && bytes[cut] & 0xC0 == 0x80 { cut -= 1 }  // never inside a character's bytes
        return String(decoding: bytes[..<cut], as: UTF8.self)
    }
}

/// Log-spaced latency buckets (0.1 ms to about 10 minutes, ×1.25 a step), so that per-minute histograms from many
/// instances add up and yield p50/p99 within 12.5%.
enum LatencyBuckets {
    static let bounds: [Double] = {
        var bounds: [Double] = []
        var value = 0.1
        while value < 600_000 {
            bounds.append(value)
            value *= 1.25
        }
        return bounds
    }()

    static func index(of milliseconds: Double) -> Int {
        var low = 0
        var high = bounds.count
        while low < high {
            let mid = (low + high) / 2
            if bounds[mid] < milliseconds { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The value below which `quantile` of the counted samples lie (the upper bound of the bucket that crosses it).
    static func quantile(_ quantile: Double, counts: [Int: Int]) -> Double? {
        let total = counts.values.reduce(0, +)
        guard total > 0 else { return nil }
        let target = quantile * Double(total)
        var running = 0
        for index in counts.keys.sorted() {
            running += counts[index] ?? 0
            if Double(running) >= target {
                return index < bounds.count ? bounds[index] : bounds[bounds.count - 1] * 1.25
            }
        }
        return bounds.last
    }
}
