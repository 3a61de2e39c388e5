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
        /// Prompt and completion tokens upstream reported in this minute.
        public var tokens: Int
        enum CodingKeys: String, CodingKey {
            case minute, requests, blocked, refusals, failures, tokens
            case cacheHits = "cache_hits"
        }
    }

    /// An amount of money: exact pico-units (10⁻¹²) and the same in units.
    public struct Money: Sendable, Codable, Equatable {
        public var currency: String
        public var picos: Int64
        public var amount: Double

        public init(currency: String, picos: Int64) {
            self.currency = currency
            self.picos = picos
            self.amount = Double(picos) / 1e12
        }

        /// `"123 USD"` as the ledger keeps it.
        init?(ledger text: String) {
            let parts = text.split(separator: " ")
            guard parts.count == 2, let picos = Int64(parts[0]) else { return nil }
            self.init(currency: String(parts[1]), picos: picos)
        }

        /// Per currency, from the minute fields `prefix + currency`, sorted by currency.
        static func list(_ totals: [String: Int], prefix: String) -> [Money] {
            totals.filter { $0.key.hasPrefix(prefix) }
                .map { Money(currency: String($0.key.dropFirst(prefix.count)), picos: Int64($0.value)) }
                .sorted { $0.currency < $1.currency }
        }

        /// Tokens, spend, savings and the per-model and per-tenant splits of a window's summed fields.
        static func from(_ totals: [String: Int]) -> (
            tokens: [String: Int], spend: [Money], saved: [Money], savedEstimate: [Money], byModel: [SpendSplit],
            byTenant: [SpendSplit]
        ) {
            var tokens: [String: Int] = [:]
            for kind in ["prompt", "completion", "cached", "reasoning"] { tokens[kind] = totals["tk:\(kind)"] ?? 0 }
            return (
                tokens, list(totals, prefix: "$:"), list(totals, prefix: "s:"), list(totals, prefix: "e:"),
                split(totals, spend: "m$:", saved: "ms:"), split(totals, spend: "t$:", saved: "ts:")
            )
        }

        /// Fields `PREFIX<name>:<currency>` summed per name and currency, highest spend first.
        static func split(_ totals: [String: Int], spend: String, saved: String) -> [SpendSplit] {
            var entries: [String: SpendSplit] = [:]
            for (field, value) in totals {
                let isSpend = field.hasPrefix(spend)
                guard isSpend || field.hasPrefix(saved) else { continue }
                let rest = field.dropFirst(isSpend ? spend.count : saved.count)
                guard let colon = rest.lastIndex(of: ":") else { continue }
                let name = String(rest[..<colon])
                let currency = String(rest[rest.index(after: colon)...])
                let key = "\(name)\u{1F}\(currency)"
                var entry = entries[key] ?? SpendSplit(name: name, currency: currency, spend: 0, saved: 0)
                if isSpend { entry.spendPicos += Int64(value) } else { entry.savedPicos += Int64(value) }
                entries[key] = entry
            }
            return entries.values.sorted { ($0.spendPicos, $0.name) > ($1.spendPicos, $1.name) }
        }
    }

    /// What one model (or tenant) cost, and what the cache saved on it, in one currency.
    public struct SpendSplit: Sendable, Codable, Equatable {
        public var name: String
        public var currency: String
        public var spendPicos: Int64
        public var savedPicos: Int64
        public var spend: Double { Double(spendPicos) / 1e12 }
        public var saved: Double { Double(savedPicos) / 1e12 }

        init(name: String, currency: String, spend: Int64, saved: Int64) {
            self.name = name
            self.currency = currency
            self.spendPicos = spend
            self.savedPicos = saved
        }

        enum CodingKeys: String, CodingKey {
            case name, currency, spend, saved
            case spendPicos = "spend_picos"
            case savedPicos = "saved_picos"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            currency = try container.decode(String.self, forKey: .currency)
            spendPicos = try container.decode(Int64.self, forKey: .spendPicos)
            savedPicos = try container.decode(Int64.self, forKey: .savedPicos)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(currency, forKey: .currency)
            try container.encode(spendPicos, forKey: .spendPicos)
            try container.encode(savedPicos, forKey: .savedPicos)
            try container.encode(spend, forKey: .spend)
            try container.encode(saved, forKey: .saved)
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
    /// Tokens upstream reported, by kind: prompt, completion, cached (of the prompt), reasoning (of the completion).
    public var tokens: [String: Int]
    /// What the answers cost, per currency.
    public var spend: [Money]
    /// What cache hits saved (their stored usage at today's rates), per currency.
    public var saved: [Money]
    /// What blocked prompts' input would have cost: an estimate from their length.
    public var savedEstimate: [Money]
    /// Spend and savings per model (the price table's name, or `other`) and currency, highest spend first.
    public var byModel: [SpendSplit]
    /// The same per tenant, when the deployment names tenants (`cache.trust_tenant_header` and `x-airlock-tenant`).
    public var byTenant: [SpendSplit]

    enum CodingKeys: String, CodingKey {
        case requests, outcomes, series, tokens, spend, saved
        case savedEstimate = "saved_estimate"
        case byModel = "by_model"
        case byTenant = "by_tenant"
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
    /// The tenant as the deployment named it, if it does.
    public var tenant: String?
    public var model: String?
    public var route: String
    public var outcome: String
    public var kind: String
    public var rules: [String]
    public var status: Int
    public var durationMilliseconds: Double
    public var upstreamMilliseconds: Double?
    public var cache: String?
    public var tokens: Tokens?
    public var cost: StatsSnapshot.Money?
    public var saved: StatsSnapshot.Money?
    public var savedEstimate: StatsSnapshot.Money?

    public struct Tokens: Sendable, Codable, Equatable {
        public var prompt: Int
        public var completion: Int
        public var cached: Int
        public var reasoning: Int
    }

    enum CodingKeys: String, CodingKey {
        case id, time, model, route, outcome, kind, rules, status, cache, tokens, cost, saved, tenant
        case savedEstimate = "saved_estimate"
        case requestID = "request_id"
        case tenantHash = "tenant_hash"
        case durationMilliseconds = "duration_ms"
        case upstreamMilliseconds = "upstream_ms"
    }
}
