import Foundation
import QwenEmulator
import Testing
import Upstream

@testable import AirlockServer

/// A known mix through two Airlock instances sharing one Redis: the stats and the ledger report exactly it.
@Suite struct FleetStatsServerTests {
    /// (prompt marker, stream, expected outcome)
    static let mix: [(String, Bool, String)] = [
        ("", false, "ok"), ("", true, "ok"), ("", false, "ok"),
        ("[[fault:input_filter]]", false, "refusal_provider_input"),
        ("[[fault:output_filter_midstream]]", true, "refusal_provider_output"),
        ("[[fault:refusal]]", false, "refusal_model"),
        ("[[fault:server_error]]", false, "failure_upstream_5xx"),
        ("[[fault:bad_key]]", false, "failure_client_4xx"),
        ("[[fault:disconnect_midstream]]", true, "failure_stream_cut"),
    ]

    @Test func twoInstancesReportTheFleetsExactCounts() async throws {
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        let environment = ["AIRLOCK_UPSTREAM_RETRIES": "0"]
        try await AirlockHarness.withRunning(environment: environment, redisURL: redis.url) { first in
            try await AirlockHarness.withRunning(environment: environment, redisURL: redis.url) { second in
                for (index, (marker, stream, _)) in Self.mix.enumerated() {
                    let instance = index.isMultiple(of: 2) ? first : second
                    let response = try await instance.request(
                        "POST", "/v1/chat/completions",
                        body: AirlockHarness.chat("secret-prompt-\(index) \(marker)", stream: stream))
                    _ = try await response.collect(upTo: 1 << 20)
                }
                // One invalid request.
                let invalid = try await second.request("POST", "/v1/chat/completions", body: Array("{".utf8))
                #expect(invalid.status == 400)
                // Each instance flushes its counts about once a second; reading flushes the reader's own.
                try await Task.sleep(for: .milliseconds(1500))

                for instance in [first, second] {
                    let (response, stats) = try await instance.json("GET", "/airlock/stats?window=15m")
                    #expect(response.status == 200)
                    #expect(stats["requests"] as? Int == Self.mix.count + 1)
                    let outcomes = try #require(stats["outcomes"] as? [String: Int])
                    var expected: [String: Int] = ["invalid_request": 1]
                    for (_, _, outcome) in Self.mix { expected[outcome, default: 0] += 1 }
                    #expect(outcomes == expected)
                    let refusal = try #require(stats["refusal_rate"] as? [String: Any])
                    #expect(abs((refusal["total"] as? Double ?? 0) - 3.0 / 10.0) < 1e-9)
                    let failure = try #require(stats["failure_rate"] as? [String: Any])
                    #expect(abs((failure["total"] as? Double ?? 0) - 3.0 / 10.0) < 1e-9)
                    let byKind = try #require(refusal["by_kind"] as? [String: Double])
                    #expect(abs((byKind["provider_input"] ?? 0) - 0.1) < 1e-9)
                    let latency = try #require(stats["latency_ms"] as? [String: Double])
                    #expect((latency["p50"] ?? 0) > 0 && (latency["p99"] ?? 0) >= (latency["p50"] ?? 0))
                }

                let (ledgerResponse, ledger) = try await first.json("GET", "/airlock/outcomes?since=10m&limit=1000")
                #expect(ledgerResponse.status == 200)
                let records = try #require(ledger["records"] as? [[String: Any]])
                #expect(records.count == Self.mix.count + 1, "one record per request")
                let (_, refusals) = try await second.json("GET", "/airlock/outcomes?kind=refusal&since=10m")
                #expect((refusals["records"] as? [[String: Any]])?.count == 3)
                let raw = try await first.request("GET", "/airlock/outcomes?since=10m&limit=1000")
                let text = String(decoding: try await raw.collect(upTo: 1 << 20), as: UTF8.self)
                #expect(!text.contains("secret-prompt"), "the ledger never holds prompt text")
                let (bad, _) = try await first.json("GET", "/airlock/stats?window=forever")
                #expect(bad.status == 400)
            }
        }
    }

    @Test func dashboardIsSelfContained() async throws {
        try await AirlockHarness.withRunning { airlock in
            let response = try await airlock.request("GET", "/airlock/dashboard")
            #expect(response.status == 200)
            let html = String(decoding: try await response.collect(upTo: 1 << 20), as: UTF8.self)
            #expect(html.contains("<svg"))
            #expect(!html.contains("src=\"http"), "no external script")
            #expect(!html.contains("href=\"http"), "no external style sheet")
        }
    }
}
