import AirlockTestSupport
import ChatWire
import Foundation
import QwenEmulator
import Testing
import Upstream

@testable import AirlockServer

@Suite struct ProxyTests {
    @Test func nonStreamingCompletionPassesThroughWithAirlocksKey() async throws {
        try await AirlockHarness.withRunning { airlock in
            let body = AirlockHarness.chat("What is the capital of France?", extra: #","seed":7,"top_k":3"#)
            let (response, json) = try await airlock.json("POST", "/v1/chat/completions", body: body)
            #expect(response.status == 200)
            #expect(response.header("x-airlock-request-id") != nil)
            #expect(json["object"] as? String == "chat.completion")
            let choices = try #require(json["choices"] as? [[String: Any]])
            #expect((choices.first?["message"] as? [String: Any])?["content"] as? String != nil)
            // The body goes upstream as parsed and encoded again (Qwen's extras intact, same JSON value), with
            // Airlock's key, not the caller's.
            let sent = try JSONValue.parse(airlock.emulator.stats.lastChatRequestBody ?? [])
            #expect(sent == (try JSONValue.parse(body)))
            #expect(airlock.emulator.stats.lastAuthorization == "Bearer airlock-test-key")
        }
    }

    @Test func passthroughAuthSendsTheCallersKey() async throws {
        try await AirlockHarness.withRunning(environment: ["AIRLOCK_UPSTREAM_AUTH": "passthrough"]) { airlock in
            let (response, _) = try await airlock.json("POST", "/v1/chat/completions", body: AirlockHarness.chat("hi"))
            #expect(response.status == 200)
            #expect(airlock.emulator.stats.lastAuthorization == "Bearer caller-key")
        }
    }

    @Test func streamingPassesEveryEventThroughIntact() async throws {
        try await AirlockHarness.withRunning { airlock in
            let body = AirlockHarness.chat(
                "Explain streams", stream: true, extra: #","stream_options":{"include_usage":true},"enable_thinking":true"#)
            let direct = try await airlock.client.execute(
                UpstreamRequest(
                    method: "POST", url: airlock.emulatorURL + "/chat/completions",
                    headers: [("Authorization", "Bearer k"), ("Content-Type", "application/json")], body: body))
            let directEvents = sseEvents(try await direct.collect(upTo: 1 << 20))
            let proxied = try await airlock.request("POST", "/v1/chat/completions", body: body)
            #expect(proxied.status == 200)
            #expect(proxied.header("content-type")?.hasPrefix("text/event-stream") == true)
            let events = sseEvents(try await proxied.collect(upTo: 1 << 20))
            #expect(events.count == directEvents.count)
            #expect(events.last! == nil, "ends with [DONE]")
            func deltas(_ events: [[String: Any]?], _ key: String) -> String {
                events.compactMap { $0 }.compactMap { ($0["choices"] as? [[String: Any]])?.first }
                    .compactMap { ($0["delta"] as? [String: Any])?[key] as? String }.joined()
            }
            #expect(deltas(events, "content") == deltas(directEvents, "content"))
            #expect(!deltas(events, "reasoning_content").isEmpty)
            #expect(deltas(events, "reasoning_content") == deltas(directEvents, "reasoning_content"))
            let usage = try #require(events.dropLast().last ?? nil)
            #expect((usage["choices"] as? [Any])?.isEmpty == true)
            #expect(usage["usage"] != nil)
        }
    }

    @Test(arguments: [
        ("{\"model\": \"qwen-plus\", \"messages\": [", 400, "invalid_json"),
        ("{\"model\":\"qwen-plus\"}", 400, "missing_required_parameter"),
        ("{\"model\":\"qwen-plus\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":\"no\"}", 400, "invalid_type"),
    ])
    func badRequestsGetOpenAIErrorsAndServingGoesOn(body: String, status: Int, code: String) async throws {
        try await AirlockHarness.withRunning { airlock in
            let (response, json) = try await airlock.json("POST", "/v1/chat/completions", body: Array(body.utf8))
            #expect(response.status == status)
            let error = try #require(json["error"] as? [String: Any])
            #expect(error["type"] as? String == "invalid_request_error")
            #expect(error["code"] as? String == code)
            #expect(error.keys.contains("param") && error.keys.contains("message"))
            #expect(airlock.emulator.stats.chatRequests == 0)
            let (ok, _) = try await airlock.json("POST", "/v1/chat/completions", body: AirlockHarness.chat("still there?"))
            #expect(ok.status == 200)
        }
    }

    @Test func twoMebibyteBodyIs413AndServingGoesOn() async throws {
        try await AirlockHarness.withRunning { airlock in
            let filler = String(repeating: "a", count: 2 << 20)
            let (response, json) = try await airlock.json(
                "POST", "/v1/chat/completions", body: AirlockHarness.chat(filler))
            #expect(response.status == 413)
            #expect((json["error"] as? [String: Any])?["code"] as? String == "request_too_large")
            #expect(airlock.emulator.stats.chatRequests == 0)
            let (ok, _) = try await airlock.json("POST", "/v1/chat/completions", body: AirlockHarness.chat("after"))
            #expect(ok.status == 200)
        }
    }

    @Test func clientDisconnectMidStreamAbortsTheUpstreamTransfer() async throws {
        var emulator = EmulatorConfiguration()
        emulator.tokensPerSecond = 50
        emulator.answerTokens = 500
        try await AirlockHarness.withRunning(emulator: emulator) { airlock in
            let response = try await airlock.request(
                "POST", "/v1/chat/completions", body: AirlockHarness.chat("tell me a long story", stream: true))
            var iterator = response.body.makeAsyncIterator()
            _ = try await iterator.next()
            _ = try await iterator.next()
            #expect(airlock.emulator.stats.streamsStarted == 1)
            response.cancel()  // closes the client's connection to Airlock
            try await eventually { airlock.emulator.stats.streamsAborted == 1 }
            try await eventually { airlock.serverUpstream.stats.aborted == 1 }
            #expect(airlock.emulator.stats.streamsCompleted == 0)
        }
    }

    @Test func upstreamErrorsPassThroughWithQwensStatusAndBody() async throws {
        try await AirlockHarness.withRunning(environment: ["AIRLOCK_UPSTREAM_RETRIES": "0"]) { airlock in
            let (response, json) = try await airlock.json(
                "POST", "/v1/chat/completions", body: AirlockHarness.chat("x [[fault:input_filter]]"))
            #expect(response.status == 400)
            #expect((json["error"] as? [String: Any])?["code"] as? String == "data_inspection_failed")
            let (limited, _) = try await airlock.json(
                "POST", "/v1/chat/completions", body: AirlockHarness.chat("y"),
                headers: [("x-emulator-fault", "rate_limit_retry_after")])
            #expect(limited.status == 429)
            #expect(limited.header("retry-after") == "1")
        }
    }

    @Test func unreachableUpstreamIs502InOpenAIShape() async throws {
        try await AirlockHarness.withRunning(upstreamURL: "http://127.0.0.1:9/compatible-mode/v1") { airlock in
            let (response, json) = try await airlock.json("POST", "/v1/chat/completions", body: AirlockHarness.chat("x"))
            #expect(response.status == 502)
            let error = try #require(json["error"] as? [String: Any])
            #expect(error["type"] as? String == "airlock_upstream_error")
            #expect(error["code"] as? String == "upstream_connect_failed")
            let (ready, readyJSON) = try await airlock.json("GET", "/readyz")
            #expect(ready.status == 503)
            #expect(readyJSON["upstream"] as? String == "unreachable")
        }
    }

    @Test func healthReadinessModelsAndEmbeddings() async throws {
        try await AirlockHarness.withRunning { airlock in
            let (health, healthJSON) = try await airlock.json("GET", "/healthz")
            #expect(health.status == 200 && healthJSON["status"] as? String == "ok")
            // Readiness probes the upstream (5 s budget); on a loaded machine the first probe may miss it.
            var readyStatus = 0
            var readyState: String?
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                let (ready, readyJSON) = try await airlock.json("GET", "/readyz")
                readyStatus = ready.status
                readyState = readyJSON["status"] as? String
                if readyStatus == 200 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(readyStatus == 200 && readyState == "ready")
            let (models, modelsJSON) = try await airlock.json("GET", "/v1/models")
            #expect(models.status == 200)
            #expect((modelsJSON["data"] as? [[String: Any]])?.contains { $0["id"] as? String == "qwen-plus" } == true)
            let (embeddings, embeddingsJSON) = try await airlock.json(
                "POST", "/v1/embeddings",
                body: Array(#"{"model":"text-embedding-v4","input":["a","b"],"dimensions":64}"#.utf8))
            #expect(embeddings.status == 200)
            let data = try #require(embeddingsJSON["data"] as? [[String: Any]])
            #expect(data.count == 2)
            #expect((data.first?["embedding"] as? [Any])?.count == 64)
            #expect(airlock.emulator.stats.embeddingRequests == 1)
        }
    }

    @Test func unknownRouteIs404InOpenAIShape() async throws {
        try await AirlockHarness.withRunning { airlock in
            let (response, json) = try await airlock.json("GET", "/v1/nothing-here")
            #expect(response.status == 404)
            #expect((json["error"] as? [String: Any])?["code"] as? String == "unknown_route")
        }
    }
}
