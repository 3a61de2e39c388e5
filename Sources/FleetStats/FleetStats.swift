import Pricing
import DequeModule
public import Foundation
public import Logging
public import Outcomes
public import Redis
public import ServiceLifecycle
import Synchronization

/// Fleet-wide counters and the outcome ledger, shared by every Airlock instance on one Redis.
///
/// The request path only appends to an in-memory buffer (`record`, never waits on Redis). About once a second the
/// service adds the buffered counts to per-minute hashes (`airlock:stats:<minute>`, kept 25 hours) and appends the
/// ledger records to a capped stream (`airlock:ledger`), all in one pipeline. If Redis is away the counts wait in
/// memory (bounded) and go out when it returns.
public final class FleetStats: Service, Sendable {
    public struct Configuration: Sendable {
        public var flushInterval: Duration = .seconds(1)
        /// Approximate length the ledger stream is trimmed to.
        public var ledgerMaxLength: Int = 100_000
        /// Ledger records held while Redis is unreachable; older ones are dropped (and counted) past this.
        public var maxPendingRecords: Int = 50_000
        /// Ledger records sent per flush; the rest wait for the next one.
        public var maxRecordsPerFlush: Int = 5_000
        public var keyPrefix: String = "airlock"
        public init() {}
    }

    private struct Pending {
        var counts: [Int64: [String: Int]] = [:]
        var ledger: Deque<RequestSummary> = []
        var droppedRecords = 0
        var flushFailures = 0
        /// Tenants given spend fields per minute (kept across flushes; only the current minute is kept).
        var tenants: (minute: Int64, names: Set<String>) = (0, [])
    }

    public let configuration: Configuration
    private let redis: RedisClient
    private let logger: Logger
    private let pending = Mutex(Pending())

    public init(redis: RedisClient, configuration: Configuration = .init(), logger: Logger) {
        self.redis = redis
        self.configuration = configuration
        self.logger = logger
    }

    /// Non-blocking: buffers the request's counts and ledger record.
    /// Distinct tenants one instance records spend for in one minute; more count as `other`.
    static let maxTenantsPerMinute = 256

    public func record(_ summary: RequestSummary) {
        let minute = summary.unixMilliseconds / 60_000
        pending.withLock { pending in
            var fields = pending.counts[minute, default: [:]]
            fields["requests", default: 0] += 1
            fields["o:\(summary.outcome.name)", default: 0] += 1
            // The rule that blocked (the first blocking one), as in airlock_blocks_total; the ledger keeps them all.
            switch summary.outcome {
            case .blockedPrompt(let rule), .blockedOutput(let rule): fields["r:\(rule)", default: 0] += 1
            default: break
            }
            if let cache = summary.cache { fields["c:\(cache.rawValue)", default: 0] += 1 }
            // Tokens and money: totals, and per model (the price table's name or `other`, so the fields stay few).
            if let tokens = summary.tokens {
                for (kind, count) in [
                    ("prompt", tokens.prompt), ("completion", tokens.completion), ("cached", tokens.cached),
                    ("reasoning", tokens.reasoning),
                ] where count > 0 {
                    fields["tk:\(kind)", default: 0] += count
                }
            }
            if let cost = summary.cost {
                fields["$:\(cost.currency)", default: 0] += Int(cost.picos)
                fields["m$:\(summary.spendModel):\(cost.currency)", default: 0] += Int(cost.picos)
            }
            if let saved = summary.saved {
                fields["s:\(saved.currency)", default: 0] += Int(saved.picos)
                fields["ms:\(summary.spendModel):\(saved.currency)", default: 0] += Int(saved.picos)
            }
            if let tenant = summary.tenant, summary.cost != nil || summary.saved != nil {
                // Tenants are the deployment's names; past `maxTenantsPerMinute` in one minute they count as `other`.
                if pending.tenants.minute != minute { pending.tenants = (minute, []) }
                let name: String
                if pending.tenants.names.contains(tenant) || pending.tenants.names.count < Self.maxTenantsPerMinute {
                    pending.tenants.names.insert(tenant)
                    name = tenant
                } else {
                    name = "other"
                }
                if let cost = summary.cost { fields["t$:\(name):\(cost.currency)", default: 0] += Int(cost.picos) }
                if let saved = summary.saved { fields["ts:\(name):\(saved.currency)", default: 0] += Int(saved.picos) }
            }
            if let estimate = summary.savedEstimate {
                fields["e:\(estimate.currency)", default: 0] += Int(estimate.picos)
            }
            fields["l:\(LatencyBuckets.index(of: summary.durationMilliseconds))", default: 0] += 1
            pending.counts[minute] = fields
            pending.ledger.append(summary)
            if pending.ledger.count > configuration.maxPendingRecords {
                pending.ledger.removeFirst()
                pending.droppedRecords += 1
            }
        }
    }

    /// Flushes every `flushInterval` until graceful shutdown or cancellation, then once more.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: self.configuration.flushInterval)
                await self.flush()
            }
        }
        await flush()
    }

    /// Sends what is buffered. Each flush takes its own share out under the lock (so two flushes never send the same
    /// record) and puts it back at the front on failure; nothing under the lock costs more than the batch itself.
    public func flush() async {
        let (counts, ledger) = pending.withLock { pending -> ([Int64: [String: Int]], [RequestSummary]) in
            let counts = pending.counts
            pending.counts.removeAll()
            let batch = Array(pending.ledger.prefix(configuration.maxRecordsPerFlush))
            pending.ledger.removeFirst(batch.count)
            return (counts, batch)
        }
        guard !counts.isEmpty || !ledger.isEmpty else { return }
        var commands: [RedisCommand] = []
        for (minute, fields) in counts {
            let key = statsKey(minute)
            for (field, count) in fields { commands.append(RedisCommand("HINCRBY", key, field, count)) }
            commands.append(RedisCommand("EXPIRE", key, 90_000))
        }
        for summary in ledger { commands.append(ledgerCommand(summary)) }
        do {
            let replies = try await redis.pipeline(commands)
            if let error = replies.compactMap(\.errorMessage).first {
                logger.warning("fleet stats: Redis refused a command", metadata: ["error": "\(error)"])
            }
        } catch {
            logger.warning("fleet stats: flush failed, will retry", metadata: ["error": "\(error.code)"])
            pending.withLock { pending in
                pending.flushFailures += 1
                for (minute, fields) in counts {
                    for (field, count) in fields { pending.counts[minute, default: [:]][field, default: 0] += count }
                }
                pending.ledger.prepend(contentsOf: ledger)
                if pending.ledger.count > configuration.maxPendingRecords {
                    let excess = pending.ledger.count - configuration.maxPendingRecords
                    pending.ledger.removeFirst(excess)
                    pending.droppedRecords += excess
                }
            }
        }
    }

    /// The fleet's numbers over the last `window` (whole minutes, the current one included).
    public func snapshot(window: Duration, now: Date = Date()) async throws(RedisError) -> StatsSnapshot {
        await flush()
        let minutes = max(1, Int(window.components.seconds / 60))
        let current = Int64(now.timeIntervalSince1970 * 1000) / 60_000
        let range = (0..<minutes).map { current - Int64(minutes - 1 - $0) }
        let replies = try await redis.pipeline(range.map { RedisCommand("HGETALL", statsKey($0)) })
        var totals: [String: Int] = [:]
        var series: [StatsSnapshot.Point] = []
        for (minute, reply) in zip(range, replies) {
            var fields: [String: Int] = [:]
            let items = reply.array ?? []
            var index = 0
            while index + 1 < items.count {
                if let name = items[index].string, let value = items[index + 1].integer { fields[name] = Int(value) }
                index += 2
            }
            for (name, value) in fields { totals[name, default: 0] += value }
            func sum(_ prefix: String) -> Int {
                fields.filter { $0.key.hasPrefix(prefix) }.values.reduce(0, +)
            }
            series.append(
                StatsSnapshot.Point(
                    minute: minute * 60, requests: fields["requests"] ?? 0, cacheHits: fields["o:cache_hit"] ?? 0,
                    blocked: sum("o:blocked"), refusals: sum("o:refusal"), failures: sum("o:failure"),
                    tokens: (fields["tk:prompt"] ?? 0) + (fields["tk:completion"] ?? 0)))
        }
        return Self.summarize(totals: totals, series: series, windowSeconds: minutes * 60)
    }

    static func summarize(totals: [String: Int], series: [StatsSnapshot.Point], windowSeconds: Int) -> StatsSnapshot {
        let requests = totals["requests"] ?? 0
        func rate(_ count: Int, _ over: Int) -> Double { over == 0 ? 0 : Double(count) / Double(over) }
        var outcomes: [String: Int] = [:]
        var rules: [StatsSnapshot.RuleCount] = []
        var latency: [Int: Int] = [:]
        var cache: [String: Int] = ["hit": 0, "miss": 0, "bypass": 0]
        for (field, value) in totals {
            if field.hasPrefix("o:") { outcomes[String(field.dropFirst(2))] = value }
            if field.hasPrefix("r:") { rules.append(.init(rule: String(field.dropFirst(2)), count: value)) }
            if field.hasPrefix("l:"), let index = Int(field.dropFirst(2)) { latency[index] = value }
            if field.hasPrefix("c:") { cache[String(field.dropFirst(2))] = value }
        }
        let money = StatsSnapshot.Money.from(totals)
        let lookups = cache.values.reduce(0, +)
        var refusals: [String: Double] = [:]
        var failures: [String: Double] = [:]
        for name in Outcome.allNames {
            let count = outcomes[name] ?? 0
            if name.hasPrefix("refusal_") { refusals[String(name.dropFirst("refusal_".count))] = rate(count, requests) }
            if name.hasPrefix("failure_") { failures[String(name.dropFirst("failure_".count))] = rate(count, requests) }
        }
        let refusalTotal = outcomes.filter { $0.key.hasPrefix("refusal_") }.values.reduce(0, +)
        let failureTotal = outcomes.filter { $0.key.hasPrefix("failure_") }.values.reduce(0, +)
        rules.sort { $0.count != $1.count ? $0.count > $1.count : $0.rule < $1.rule }
        var latencyMilliseconds: [String: Double] = [:]
        if let p50 = LatencyBuckets.quantile(0.5, counts: latency) { latencyMilliseconds["p50"] = p50 }
        if let p99 = LatencyBuckets.quantile(0.99, counts: latency) { latencyMilliseconds["p99"] = p99 }
        return StatsSnapshot(
            windowSeconds: windowSeconds, requests: requests, outcomes: outcomes, cacheLookups: cache,
            hitRate: rate(cache["hit"] ?? 0, lookups),
            blockRate: [
                "prompt": rate(outcomes["blocked_prompt"] ?? 0, requests),
                "output": rate(outcomes["blocked_output"] ?? 0, requests),
            ],
            refusalRate: .init(total: rate(refusalTotal, requests), byKind: refusals),
            failureRate: .init(total: rate(failureTotal, requests), byKind: failures),
            topBlockingRules: Array(rules.prefix(10)), latencyMilliseconds: latencyMilliseconds, series: series,
            tokens: money.tokens, spend: money.spend, saved: money.saved, savedEstimate: money.savedEstimate,
            byModel: money.byModel, byTenant: money.byTenant)
    }

    /// Ledger records of the last `since`, newest last, optionally only of one kind ("refusal", "failure", …).
    public func outcomes(kind: String?, since: Duration, limit: Int, now: Date = Date()) async throws(RedisError)
        -> [LedgerRecord]
    {
        await flush()
        let start = Int64(now.timeIntervalSince1970 * 1000) - Int64(since.components.seconds * 1000)
        let reply = try await redis.execute(
            RedisCommand("XRANGE", ledgerKey, "\(max(0, start))-0", "+", "COUNT", 100_000))
        var records: [LedgerRecord] = []
        for entry in reply.array ?? [] {
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].array
            else { continue }
            var map: [String: String] = [:]
            var index = 0
            while index + 1 < fields.count {
                if let name = fields[index].string, let value = fields[index + 1].string { map[name] = value }
                index += 2
            }
            guard let record = Self.ledgerRecord(id: id, map) else { continue }
            if let kind, record.kind != kind && record.outcome != kind { continue }
            records.append(record)
        }
        return Array(records.suffix(max(0, limit)))
    }

    private var ledgerKey: String { "\(configuration.keyPrefix):ledger" }
    private func statsKey(_ minute: Int64) -> String { "\(configuration.keyPrefix):stats:\(minute)" }

    private func ledgerCommand(_ summary: RequestSummary) -> RedisCommand {
        var arguments: [any RedisArgumentConvertible] = [
            ledgerKey, "MAXLEN", "~", configuration.ledgerMaxLength, "*",
            "t", summary.unixMilliseconds, "id", summary.requestID, "route", summary.route,
            "outcome", summary.outcome.description, "kind", summary.outcome.kind.rawValue,
            "status", summary.status, "ms", String(format: "%.3f", summary.durationMilliseconds),
        ]
        if let tenant = summary.tenantHash { arguments += ["tenant", tenant] }
        if let tenant = summary.tenant { arguments += ["tenant_name", tenant] }
        if let model = summary.model { arguments += ["model", model] }
        if !summary.rules.isEmpty { arguments += ["rules", summary.rules.joined(separator: ",")] }
        if let upstream = summary.upstreamMilliseconds { arguments += ["upstream_ms", String(format: "%.3f", upstream)] }
        if let cache = summary.cache { arguments += ["cache", cache.rawValue] }
        if let tokens = summary.tokens {
            arguments += [
                "prompt_tokens", tokens.prompt, "completion_tokens", tokens.completion, "cached_tokens", tokens.cached,
                "reasoning_tokens", tokens.reasoning,
            ]
        }
        if let cost = summary.cost { arguments += ["cost", "\(cost.picos) \(cost.currency)"] }
        if let saved = summary.saved { arguments += ["saved", "\(saved.picos) \(saved.currency)"] }
        if let estimate = summary.savedEstimate { arguments += ["saved_estimate", "\(estimate.picos) \(estimate.currency)"] }
        return RedisCommand("XADD", arguments)
    }

    static func ledgerRecord(id: String, _ map: [String: String]) -> LedgerRecord? {
        guard let time = map["t"].flatMap({ Int64($0) }), let requestID = map["id"], let outcome = map["outcome"]
        else { return nil }
        return LedgerRecord(
            id: id, time: time, requestID: requestID, tenantHash: map["tenant"], tenant: map["tenant_name"],
            model: map["model"],
            route: map["route"] ?? "chat", outcome: outcome, kind: map["kind"] ?? "",
            rules: (map["rules"] ?? "").split(separator: ",").map(String.init),
            status: map["status"].flatMap { Int($0) } ?? 0,
            durationMilliseconds: map["ms"].flatMap { Double($0) } ?? 0,
            upstreamMilliseconds: map["upstream_ms"].flatMap { Double($0) }, cache: map["cache"],
            tokens: map["prompt_tokens"].flatMap { Int($0) }.map { prompt in
                LedgerRecord.Tokens(
                    prompt: prompt, completion: map["completion_tokens"].flatMap { Int($0) } ?? 0,
                    cached: map["cached_tokens"].flatMap { Int($0) } ?? 0,
                    reasoning: map["reasoning_tokens"].flatMap { Int($0) } ?? 0)
            },
            cost: map["cost"].flatMap(StatsSnapshot.Money.init(ledger:)),
            saved: map["saved"].flatMap(StatsSnapshot.Money.init(ledger:)),
            savedEstimate: map["saved_estimate"].flatMap(StatsSnapshot.Money.init(ledger:)))
    }

    /// Ledger records dropped because Redis was away too long.
    public var droppedRecords: Int { pending.withLock { $0.droppedRecords } }
}
