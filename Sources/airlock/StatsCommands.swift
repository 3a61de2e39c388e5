import ArgumentParser
import FleetStats
import Foundation
import Logging
import Upstream

/// Where the CLI finds a running Airlock's admin API.
struct AdminEndpoint: ParsableArguments {
    @Option(name: .long, help: "Airlock's base URL (default: $AIRLOCK_URL, else http://127.0.0.1:8080).")
    var url: String?

    var baseURL: String {
        var base = url ?? ProcessInfo.processInfo.environment["AIRLOCK_URL"] ?? "http://127.0.0.1:8080"
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// GET an admin path with $AIRLOCK_ADMIN_TOKEN; the body, or a clear error.
    func get(_ path: String) async throws -> [UInt8] {
        var logger = Logger(label: "airlock.cli")
        logger.logLevel = .error
        let client = UpstreamClient(logger: logger)
        defer { client.shutdown() }
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let token = ProcessInfo.processInfo.environment["AIRLOCK_ADMIN_TOKEN"], !token.isEmpty {
            headers.append(("Authorization", "Bearer \(token)"))
        }
        let response: UpstreamCompleteResponse
        do {
            response = try await client.send(
                UpstreamRequest(method: "GET", url: baseURL + path, headers: headers), maxBodyBytes: 64 << 20)
        } catch let error as UpstreamError {
            throw ValidationError("cannot reach Airlock at \(baseURL): \(error)")
        }
        guard response.status == 200 else {
            let text = String(decoding: response.body, as: UTF8.self)
            throw ValidationError("Airlock answered HTTP \(response.status): \(text)")
        }
        return response.body
    }
}

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Fleet-wide hit rate, block rate and the refusal/failure split.")

    @OptionGroup var endpoint: AdminEndpoint
    @Option(name: .long, help: "Window: 15m, 1h, 24h, … (at most 7d).") var window = "1h"
    @Flag(name: .long, help: "Redraw every 2 seconds.") var watch = false
    @Flag(name: .long, help: "Print the JSON of GET /airlock/stats.") var json = false

    func run() async throws {
        repeat {
            let body = try await endpoint.get("/airlock/stats?window=\(window)")
            if json {
                print(String(decoding: body, as: UTF8.self))
            } else {
                let snapshot = try JSONDecoder().decode(StatsSnapshot.self, from: Data(body))
                if watch { print("\u{1B}[2J\u{1B}[H", terminator: "") }
                print(Self.table(snapshot, window: window))
            }
            if watch { try await Task.sleep(for: .seconds(2)) }
        } while watch
    }

    static func table(_ s: StatsSnapshot, window: String) -> String {
        func pct(_ value: Double) -> String { String(format: "%6.2f%%", value * 100) }
        var lines = [
            "Airlock fleet, last \(window)",
            String(format: "  %-26@ %10d", "requests" as NSString, s.requests),
            "  \("cache hit rate".padding(toLength: 26, withPad: " ", startingAt: 0)) \(pct(s.hitRate))"
                + "   (hit \(s.cacheLookups["hit"] ?? 0), miss \(s.cacheLookups["miss"] ?? 0), bypass \(s.cacheLookups["bypass"] ?? 0))",
            "  \("block rate: prompt".padding(toLength: 26, withPad: " ", startingAt: 0)) \(pct(s.blockRate["prompt"] ?? 0))",
            "  \("block rate: output".padding(toLength: 26, withPad: " ", startingAt: 0)) \(pct(s.blockRate["output"] ?? 0))",
            "  \("refusals (decisions)".padding(toLength: 26, withPad: " ", startingAt: 0)) \(pct(s.refusalRate.total))",
        ]
        for (kind, rate) in s.refusalRate.byKind.sorted(by: { $0.key < $1.key }) {
            lines.append("    \(kind.padding(toLength: 24, withPad: " ", startingAt: 0)) \(pct(rate))")
        }
        lines.append("  \("failures (accidents)".padding(toLength: 26, withPad: " ", startingAt: 0)) \(pct(s.failureRate.total))")
        for (kind, rate) in s.failureRate.byKind.sorted(by: { $0.key < $1.key }) where rate > 0 {
            lines.append("    \(kind.padding(toLength: 24, withPad: " ", startingAt: 0)) \(pct(rate))")
        }
        let p50 = s.latencyMilliseconds["p50"].map { String(format: "%.1f ms", $0) } ?? "–"
        let p99 = s.latencyMilliseconds["p99"].map { String(format: "%.1f ms", $0) } ?? "–"
        lines.append("  \("latency p50 / p99".padding(toLength: 26, withPad: " ", startingAt: 0)) \(p50) / \(p99)")
        if !s.topBlockingRules.isEmpty {
            lines.append("  top blocking rules:")
            for rule in s.topBlockingRules { lines.append("    \(rule.rule): \(rule.count)") }
        }
        func label(_ text: String) -> String { "  " + text.padding(toLength: 26, withPad: " ", startingAt: 0) + " " }
        func money(_ list: [StatsSnapshot.Money]) -> String {
            list.isEmpty ? "–" : list.map { Self.amount($0.amount) + " " + $0.currency }.joined(separator: ", ")
        }
        let tokens = ["prompt", "completion", "cached", "reasoning"].map { "\($0) \(s.tokens[$0] ?? 0)" }
        lines.append(label("tokens") + tokens.joined(separator: ", "))
        lines.append(label("spend") + money(s.spend))
        lines.append(label("saved by the cache") + money(s.saved))
        lines.append(label("blocked prompts (estimate)") + money(s.savedEstimate))
        for (title, split) in [("spend by model:", s.byModel), ("spend by tenant:", s.byTenant)] where !split.isEmpty {
            lines.append("  " + title)
            for entry in split {
                lines.append(
                    "    \(entry.name.padding(toLength: 24, withPad: " ", startingAt: 0)) "
                        + "\(Self.amount(entry.spend)) \(entry.currency)   saved \(Self.amount(entry.saved)) \(entry.currency)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Money with enough digits to show a few tokens' worth (6 significant digits below 1).
    static func amount(_ value: Double) -> String {
        value >= 1 ? String(format: "%.4f", value) : String(format: "%.6g", value)
    }
}

struct OutcomesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outcomes", abstract: "Per-request records from the outcome ledger (never prompt text).")

    @OptionGroup var endpoint: AdminEndpoint
    @Option(name: .long, help: "Only this kind (refusal, failure, blocked, ok, cache_hit, invalid) or outcome.")
    var kind: String?
    @Option(name: .long, help: "How far back: 10m, 1h, … (at most 7d).") var since = "10m"
    @Option(name: .long, help: "At most this many records (newest).") var limit = 100
    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        var path = "/airlock/outcomes?since=\(since)&limit=\(limit)"
        if let kind { path += "&kind=\(kind)" }
        let body = try await endpoint.get(path)
        if json {
            print(String(decoding: body, as: UTF8.self))
            return
        }
        struct Envelope: Decodable { let records: [LedgerRecord] }
        let records = try JSONDecoder().decode(Envelope.self, from: Data(body)).records
        let formatter = ISO8601DateFormatter()
        for record in records {
            let time = formatter.string(from: Date(timeIntervalSince1970: Double(record.time) / 1000))
            let rules = record.rules.isEmpty ? "" : " rules=\(record.rules.joined(separator: ","))"
            print(
                "\(time) \(record.requestID) \(record.route) \(record.model ?? "-") \(record.outcome) "
                    + "status=\(record.status) \(String(format: "%.1f", record.durationMilliseconds))ms\(rules)")
        }
        if records.isEmpty { print("no records") }
    }
}
