/// The fleet's numbers over a window, as `GET /airlock/stats` returns them.
public struct StatsSnapshot: Sendable, Codable, Equatable {
    public struct Rates: Sendable, Codable, Equatable {
        public var total: Double
        public var byKind: [String: Double]
        enum CodingKeys: String, CodingKey {
            case total
            case byKind = "by_kind"
        }
    }

    public struct RuleCount: Sendable, Codable, Equatable {
        public var rule: String
        public var count: Int
    }

    public struct Point: Sendable, Codable, Equatable {
        public var minute: Int64
        public var requests: Int
        public var cacheHits: Int
        public var blocked: Int
        public var refusals: Int
        public var failures: Int
        enum CodingKeys: String, CodingKey {
            case minute, requests, blocked, refusals, failures
            case cacheHits = "cache_hits"
        }
    }

    public var windowSeconds: Int
    public var requests: Int
    /// Requests by outcome name.
    public var outcomes: [String: Int]
    public var cacheLookups: [String: Int]
    /// Cache hits over cache lookups (hit + miss + bypass).
    public var hitRate: Double
    public var blockRate: [String: Double]
    public var refusalRate: Rates
    public var failureRate: Rates
    public var topBlockingRules: [RuleCount]
    public var latencyMilliseconds: [String: Double]
    public var series: [Point]

    enum CodingKeys: String, CodingKey {
        case requests, outcomes, series
        case windowSeconds = "window_seconds"
        case cacheLookups = "cache_lookups"
        case hitRate = "hit_rate"
        case blockRate = "block_rate"
        case refusalRate = "refusal_rate"
        case failureRate = "failure_rate"
        case topBlockingRules = "top_blocking_rules"
        case latencyMilliseconds = "latency_ms"
    }
}

/// One ledger record, as `GET /airlock/outcomes` returns it.
public struct LedgerRecord: Sendable, Codable, Equatable {
    public var id: String
    public var time: Int64
    public var requestID: String
    public var tenantHash: String?
    public var model: String?
    public var route: String
    public var outcome: String
    public var kind: String
    public var rules: [String]
    public var status: Int
    public var durationMilliseconds: Double
    public var upstreamMilliseconds: Double?
    public var cache: String?

    enum CodingKeys: String, CodingKey {
        case id, time, model, route, outcome, kind, rules, status, cache
        case requestID = "request_id"
        case tenantHash = "tenant_hash"
        case durationMilliseconds = "duration_ms"
        case upstreamMilliseconds = "upstream_ms"
    }
}
