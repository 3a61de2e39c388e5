import AirlockTestSupport
import Foundation
import QwenEmulator
import Testing
import TimeSource
import Upstream

@testable import AirlockServer

/// Every emulator fault through a live Airlock: the exact outcome, the status the client sees, and the counter.
@Suite struct OutcomeTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let fault: String
        let stream: Bool
        let status: Int
        let outcome: String
        /// For streams that started: the client gets an SSE error event.
        let errorEvent: Bool
        var testDescription: String { "\(fault) \(stream ? "stream" : "whole")" }
    }

    static let cases: [Case] = [
        Case(fault: "input_filter", stream: false, status: 400, outcome: "refusal_provider_input", errorEvent: false),
        Case(fault: "output_filter", stream: false, status: 400, outcome: "refusal_provider_output", errorEvent: false),
        Case(
            fault: "output_filter_midstream", stream: false, status: 400, outcome: "refusal_provider_output",
            errorEvent: false),
        Case(fault: "rate_limit", stream: false, status: 429, outcome: "failure_rate_limited", errorEvent: false),
        Case(fault: "rate_limit_retry_after", stream: false, status: 200, outcome: "ok", errorEvent: false),
        Case(fault: "server_error", stream: false, status: 500, outcome: "failure_upstream_5xx", errorEvent: false),
        Case(fault: "unavailable", stream: false, status: 503, outcome: "failure_upstream_5xx", errorEvent: false),
        Case(fault: "timeout", stream: false, status: 504, outcome: "failure_timeout", errorEvent: false),
        Case(fault: "slow_first_byte", stream: false, status: 200, outcome: "ok", errorEvent: false),
        Case(fault: "disconnect_midstream", stream: false, status: 502, outcome: "failure_network", errorEvent: false),
        Case(fault: "malformed_json", stream: false, status: 502, outcome: "failure_malformed", errorEvent: false),
        Case(fault: "bad_key", stream: false, status: 401, outcome: "failure_client_4xx", errorEvent: false),
        Case(fault: "unknown_model", stream: false, status: 404, outcome: "failure_client_4xx", errorEvent: false),
        Case(fault: "refusal", stream: false, status: 200, outcome: "refusal_model", errorEvent: false),
        Case(fault: "input_filter", stream: true, status: 400, outcome: "refusal_provider_input", errorEvent: false),
        Case(fault: "output_filter", stream: true, status: 400, outcome: "refusal_provider_output", errorEvent: false),
        Case(
            fault: "output_filter_midstream", stream: true, status: 200, outcome: "refusal_provider_output",
            errorEvent: true),
        Case(fault: "rate_limit", stream: true, status: 429, outcome: "failure_rate_limited", errorEvent: false),
        Case(fault: "rate_limit_retry_after", stream: true, status: 200, outcome: "ok", errorEvent: false),
        Case(fault: "server_error", stream: true, status: 500, outcome: "failure_upstream_5xx", errorEvent: false),
        Case(fault: "unavailable", stream: true, status: 503, outcome: "failure_upstream_5xx", errorEvent: false),
        Case(fault: "timeout", stream: true, status: 504, outcome: "failure_timeout", errorEvent: false),
        Case(fault: "slow_first_byte", stream: true, status: 200, outcome: "ok", errorEvent: false),
        Case(fault: "disconnect_midstream", stream: true, status: 200, outcome: "failure_stream_cut", errorEvent: true),
        Case(fault: "malformed_json", stream: true, status: 200, outcome: "failure_malformed", errorEvent: true),
        Case(fault: "bad_key", stream: true, status: 401, outcome: "failure_client_4xx", errorEvent: false),
        Case(fault: "unknown_model", stream: true, status: 404, outcome: "failure_client_4xx", errorEvent: false),
        Case(fault: "refusal", stream: true, status: 200, outcome: "refusal_model", errorEvent: false),
    ]

    @Test(arguments: cases)
    func faultIsClassified(_ testCase: Case) async throws {
        // Only the timeout case gets a short first-byte deadline: on a busy machine others could trip it.
        let environment = testCase.fault == "timeout" ? ["AIRLOCK_UPSTREAM_FIRST_BYTE_TIMEOUT_MS": "700"] : [:]
        try await AirlockHarness.withRunning(environment: environment) { airlock in
            let body = AirlockHarness.chat("Tell me about \(testCase.fault)", stream: testCase.stream)
            let response = try await airlock.request(
                "POST", "/v1/chat/completions", body: body,
                headers: [("x-emulator-fault", testCase.fault), ("x-emulator-delay-ms", "100")])
            let bytes = try await response.collect(upTo: 1 << 20)
            #expect(response.status == testCase.status)
            let text = String(decoding: bytes, as: UTF8.self)
            if testCase.stream && testCase.status == 200 {
                #expect(text.contains(": x-airlock-outcome: \(testCase.outcome)\n\n"), "\(text.suffix(300))")
                let events = sseEvents(bytes)
                let errors = events.compactMap { $0?["error"] as? [String: Any] }
                #expect(errors.count == (testCase.errorEvent ? 1 : 0))
                if testCase.errorEvent { #expect(errors.first?["message"] is String) }
                #expect(text.hasSuffix("data: [DONE]\n\n") == !testCase.errorEvent)
            } else {
                #expect(response.header("x-airlock-outcome") == testCase.outcome)
                if testCase.status != 200 {
                    let json = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
                    #expect(json?["error"] is [String: Any], "an error body in the OpenAI shape")
                }
            }
            let metrics = try await airlock.metricsText()
            #expect(
                metrics.contains(
                    "airlock_requests_total{route=\"chat\",outcome=\"\(testCase.outcome)\",kind=\"\(kindOf(testCase.outcome))\"} 1"
                ), "counter moved")
        }
    }

    func kindOf(_ outcome: String) -> String {
        if outcome == "ok" { return "ok" }
        if outcome.hasPrefix("refusal") { return "refusal" }
        return "failure"
    }

    @Test func retryAfterIsHonouredAndTheSecondAttemptSucceeds() async throws {
        try await AirlockHarness.withRunning { airlock in
            let started = airlock.time.now
            let (response, _) = try await airlock.json(
                "POST", "/v1/chat/completions", body: AirlockHarness.chat("retry me [[fault:rate_limit_retry_after]]"))
            let elapsed = airlock.time.now - started
            #expect(response.status == 200)
            #expect(response.header("x-airlock-outcome") == "ok")
            #expect(airlock.emulator.stats.chatRequests == 2)
            #expect(elapsed >= .seconds(1), "waited for Retry-After: 1")
            let metrics = try await airlock.metricsText()
            #expect(metrics.contains(#"airlock_upstream_retries_total{target="primary"} 1"#))
        }
    }

    @Test func refusalsAreNeverRetried() async throws {
        try await AirlockHarness.withRunning { airlock in
            let (response, _) = try await airlock.json(
                "POST", "/v1/chat/completions", body: AirlockHarness.chat("x [[fault:input_filter]]"))
            #expect(response.status == 400)
            #expect(airlock.emulator.stats.chatRequests == 1)
            let (refused, _) = try await airlock.json(
                "POST", "/v1/chat/completions", body: AirlockHarness.chat("y [[fault:refusal]]"))
            #expect(refused.header("x-airlock-outcome") == "refusal_model")
            #expect(airlock.emulator.stats.chatRequests == 2)
        }
    }

    @Test func breakerOpensFailsFastAndRecoversThroughHalfOpen() async throws {
        let environment = [
            "AIRLOCK_UPSTREAM_RETRIES": "0", "AIRLOCK_UPSTREAM_BREAKER_FAILURES": "3",
            // Long enough that the fail-fast requests below finish inside it even on a busy machine.
            "AIRLOCK_UPSTREAM_BREAKER_COOLDOWN_MS": "3000",
        ]
        try await AirlockHarness.withRunning(environment: environment) { airlock in
            airlock.emulator.setForcedFault("server_error")
            for _ in 0..<3 {
                let (response, _) = try await airlock.json("POST", "/v1/chat/completions", body: AirlockHarness.chat("a"))
                #expect(response.status == 500)
            }
            #expect(airlock.emulator.stats.chatRequests == 3)
            for _ in 0..<5 {
                let (response, json) = try await airlock.json(
                    "POST", "/v1/chat/completions", body: AirlockHarness.chat("b"))
                #expect(response.status == 503)
                #expect(response.header("x-airlock-outcome") == "failure_circuit_open")
                #expect((json["error"] as? [String: Any])?["code"] as? String == "circuit_open")
            }
            #expect(airlock.emulator.stats.chatRequests == 3, "no upstream call while open")
            #expect(try await airlock.metricsText().contains(#"airlock_upstream_circuit_open{target="primary"} 1"#))
            airlock.emulator.setForcedFault(nil as String?)
            airlock.time.advance(by: .milliseconds(3100))
            let (probe, _) = try await airlock.json("POST", "/v1/chat/completions", body: AirlockHarness.chat("c"))
            #expect(probe.status == 200)
            let (after, _) = try await airlock.json("POST", "/v1/chat/completions", body: AirlockHarness.chat("d"))
            #expect(after.status == 200)
            #expect(try await airlock.metricsText().contains(#"airlock_upstream_circuit_open{target="primary"} 0"#))
        }
    }

    @Test func aStreamFailureThatOpensTheBreakerShowsOnTheGaugeAtOnce() async throws {
        let environment = ["AIRLOCK_UPSTREAM_RETRIES": "0", "AIRLOCK_UPSTREAM_BREAKER_FAILURES": "1"]
        try await AirlockHarness.withRunning(environment: environment) { airlock in
            let response = try await airlock.request(
                "POST", "/v1/chat/completions",
                body: AirlockHarness.chat("tell me a story [[fault:disconnect_midstream]]", stream: true))
            let text = String(decoding: try await response.collect(upTo: 1 << 20), as: UTF8.self)
            #expect(text.contains("x-airlock-outcome: failure_stream_cut"))
            #expect(try await airlock.metricsText().contains(#"airlock_upstream_circuit_open{target="primary"} 1"#))
        }
    }

    @Test func fallbackServesWhenThePrimaryFailsButNotWhenItRefuses() async throws {
        try await QwenEmulator.withRunning { fallback, fallbackURL in
            let environment = [
                "AIRLOCK_UPSTREAM_RETRIES": "0", "AIRLOCK_UPSTREAM_BREAKER_FAILURES": "2",
                "AIRLOCK_UPSTREAM_BREAKER_COOLDOWN_MS": "60000",
                "AIRLOCK_UPSTREAM_FALLBACKS": #"[{"url":"\#(fallbackURL)","model":"qwen-flash"}]"#,
            ]
            try await AirlockHarness.withRunning(environment: environment) { airlock in
                airlock.emulator.setForcedFault("unavailable")
                for index in 0..<4 {
                    let (response, json) = try await airlock.json(
                        "POST", "/v1/chat/completions", body: AirlockHarness.chat("question \(index)"))
                    #expect(response.status == 200)
                    #expect(response.header("x-airlock-upstream") == "fallback-1")
                    #expect(response.header("x-airlock-outcome") == "ok")
                    #expect(json["model"] as? String == "qwen-flash")
                }
                #expect(airlock.emulator.stats.chatRequests == 2, "the primary's breaker opened after two failures")
                #expect(fallback.stats.chatRequests == 4)
                // A refusal from the primary is final: no fallback.
                airlock.emulator.setForcedFault(nil as String?)
            }
        }
        try await QwenEmulator.withRunning { fallback, fallbackURL in
            let environment = ["AIRLOCK_UPSTREAM_FALLBACKS": #"[{"url":"\#(fallbackURL)"}]"#]
            try await AirlockHarness.withRunning(environment: environment) { airlock in
                let (response, _) = try await airlock.json(
                    "POST", "/v1/chat/completions", body: AirlockHarness.chat("x [[fault:input_filter]]"))
                #expect(response.status == 400)
                #expect(response.header("x-airlock-upstream") == "primary")
                #expect(fallback.stats.chatRequests == 0)
            }
        }
    }
}

extension AirlockHarness {
    func metricsText() async throws -> String {
        let response = try await request("GET", "/metrics")
        return String(decoding: try await response.collect(upTo: 4 << 20), as: UTF8.self)
    }
}
