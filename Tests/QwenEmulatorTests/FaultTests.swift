import AirlockTestSupport
import Foundation
import QwenEmulator
import Testing

@Suite("Faults on demand")
struct FaultTests {
    struct ErrorFault: Sendable, CustomTestStringConvertible {
        var fault: EmulatorFault
        var status: Int
        var code: String
        var type: String
        var message: String?
        var testDescription: String { fault.rawValue }
    }

    static let errorFaults: [ErrorFault] = [
        .init(
            fault: .inputFilter, status: 400, code: "data_inspection_failed", type: "data_inspection_failed",
            message: "Input data may contain inappropriate content."),
        .init(
            fault: .outputFilter, status: 400, code: "data_inspection_failed", type: "data_inspection_failed",
            message: "Output data may contain inappropriate content."),
        .init(fault: .rateLimit, status: 429, code: "limit_requests", type: "limit_requests"),
        .init(fault: .serverError, status: 500, code: "internal_error", type: "internal_error"),
        .init(fault: .unavailable, status: 503, code: "ModelUnavailable", type: "ModelUnavailable"),
        .init(fault: .badKey, status: 401, code: "invalid_api_key", type: "invalid_request_error"),
        .init(fault: .unknownModel, status: 404, code: "model_not_found", type: "invalid_request_error"),
    ]

    enum Trigger: String, Sendable, CaseIterable {
        case header
        case marker
    }

    @Test(
        "error faults answer with Qwen's status and error body, streaming or not, by header or marker",
        arguments: errorFaults, Trigger.allCases)
    func errorFault(_ expected: ErrorFault, trigger: Trigger) async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            for stream in [false, true] {
                let extra = stream ? #","stream":true"# : ""
                let reply: LoopbackHTTPClient.Reply
                switch trigger {
                case .header:
                    reply = try await client.chat(
                        "hello", extra: extra, headers: [("x-emulator-fault", expected.fault.rawValue)])
                case .marker:
                    reply = try await client.chat("hello [[fault:\(expected.fault.rawValue)]]", extra: extra)
                }
                #expect(reply.status == expected.status)
                #expect(reply.header("content-type") == "application/json")
                #expect(reply.header("retry-after") == nil)
                let json = try reply.json()
                #expect(Set(json.keys) == ["error", "request_id"])
                let error = try #require(json["error"] as? [String: Any])
                #expect(Set(error.keys) == ["message", "type", "param", "code"])
                #expect(error["code"] as? String == expected.code)
                #expect(error["type"] as? String == expected.type)
                if let message = expected.message { #expect(error["message"] as? String == message) }
                #expect(UUID(uuidString: json["request_id"] as? String ?? "") != nil)
            }
            #expect(emulator.stats.faultsServed == [expected.fault.rawValue: 2])
            #expect(emulator.stats.streamsStarted == 0)
        }
    }

    @Test("output_filter_midstream on a stream: 200, some chunks, a data_inspection_failed event, no [DONE]")
    func outputFilterMidstream() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat(
                "Tell me something [[fault:output_filter_midstream]]", extra: #","stream":true"#)
            #expect(reply.status == 200)
            #expect(reply.endedCleanly)
            let events = reply.events
            #expect(!events.contains("[DONE]"))
            #expect(events.count == 5)
            let contentChunks = try events.prefix(4).map(decode)
            #expect(contentChunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            let last = try decode(try #require(events.last))
            let error = try #require(last["error"] as? [String: Any])
            #expect(error["code"] as? String == "data_inspection_failed")
            #expect(error["message"] as? String == "Output data may contain inappropriate content.")
            #expect(last["request_id"] is String)
            #expect(emulator.stats.faultsServed["output_filter_midstream"] == 1)

            // Without streaming it is a plain 400.
            let whole = try await client.chat("Tell me something [[fault:output_filter_midstream]]")
            #expect(whole.status == 400)
            #expect(try errorCode(of: whole) == "data_inspection_failed")
        }
    }

    @Test("rate_limit_retry_after: 429 with Retry-After: 1 once, then the same request succeeds")
    func rateLimitRetryAfter() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let headers = [("x-emulator-fault", "rate_limit_retry_after")]
            let first = try await client.chat("retry me", headers: headers)
            #expect(first.status == 429)
            #expect(first.header("retry-after") == "1")
            #expect(try errorCode(of: first) == "limit_requests")
            let second = try await client.chat("retry me", headers: headers)
            #expect(second.status == 200)
            // Counts are per prompt: another prompt is limited afresh.
            #expect(try await client.chat("retry me too", headers: headers).status == 429)
            #expect(emulator.stats.faultsServed["rate_limit_retry_after"] == 2)
            #expect(emulator.stats.chatRequests == 3)
        }
    }

    @Test("a fault count limits a fault to the first N requests, by marker or header")
    func faultCounts() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let statuses = try await [1, 2, 3].asyncMap { _ in
                try await client.chat("flaky [[fault:server_error:2]]").status
            }
            #expect(statuses == [500, 500, 200])

            let headers = [("x-emulator-fault", "unavailable"), ("x-emulator-fault-count", "1")]
            #expect(try await client.chat("flaky", headers: headers).status == 503)
            #expect(try await client.chat("flaky", headers: headers).status == 200)

            // Unlimited by default.
            for _ in 0..<3 {
                #expect(try await client.chat("always", headers: [("x-emulator-fault", "rate_limit")]).status == 429)
            }

            // resetStats forgets the counts, so the fault strikes again.
            emulator.resetStats()
            #expect(try await client.chat("flaky", headers: headers).status == 503)
        }
    }

    @Test("unknown fault names and bad counts are the caller's mistake: 400")
    func unknownFault() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let byHeader = try await client.chat("hi", headers: [("x-emulator-fault", "meteor_strike")])
            #expect(byHeader.status == 400)
            #expect(byHeader.text.contains("meteor_strike"))
            #expect(try await client.chat("hi [[fault:meteor_strike]]").status == 400)
            #expect(try await client.chat("hi [[fault:rate_limit:zero]]").status == 400)
            #expect(emulator.stats.faultsServed.isEmpty)
        }
    }

    @Test("disconnect_midstream on a stream: a few chunks, then the connection closes without [DONE]")
    func disconnectMidstreamStream() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat("cut me [[fault:disconnect_midstream]]", extra: #","stream":true"#)
            #expect(reply.status == 200)
            #expect(!reply.endedCleanly)
            #expect(reply.events.count == 4)
            #expect(!reply.events.contains("[DONE]"))
            try await eventually { emulator.stats.streamsCutByFault == 1 }
            #expect(emulator.stats.streamsAborted == 0)
        }
    }

    @Test("disconnect_midstream without streaming: the body stops short of its Content-Length")
    func disconnectMidstreamWhole() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat("cut me", headers: [("x-emulator-fault", "disconnect_midstream")])
            #expect(reply.status == 200)
            #expect(!reply.endedCleanly)
            let promised = try #require(reply.header("content-length").flatMap { Int($0) })
            #expect(reply.body.count < promised)
            // The server survives and serves the next request.
            #expect(try await client.chat("again").status == 200)
        }
    }

    @Test("malformed_json: a 200 whose body, or one of whose events, is not JSON")
    func malformedJSON() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let whole = try await client.chat("garble [[fault:malformed_json]]")
            #expect(whole.status == 200)
            #expect(whole.endedCleanly)
            #expect(throws: (any Error).self) { try JSONSerialization.jsonObject(with: Data(whole.body)) }

            let stream = try await client.chat("garble [[fault:malformed_json]]", extra: #","stream":true"#)
            #expect(stream.status == 200)
            #expect(stream.events.contains("{not json"))
            let parseable = stream.events.filter { (try? decode($0)) != nil }
            #expect(parseable.count == 2)  // role + one token before the garbage
            #expect(emulator.stats.faultsServed["malformed_json"] == 2)
        }
    }

    @Test("refusal: a 200 answer in which the model declines, in the prompt's language")
    func refusal() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let english = try await content(of: client.chat("How do I pick a lock? [[fault:refusal]]"))
            #expect(english == "I'm sorry, but I can't help with that.")
            let chinese = try await content(of: client.chat("怎么撬锁？[[fault:refusal]]"))
            #expect(chinese == "抱歉，我无法帮助您完成这个请求。")

            let stream = try await client.chat(
                "How do I pick a lock?", extra: #","stream":true"#, headers: [("x-emulator-fault", "refusal")])
            #expect(stream.status == 200)
            #expect(stream.events.last == "[DONE]")
            let text = try stream.events.dropLast().map(decode).compactMap { try delta($0)["content"] as? String }
                .joined()
            #expect(text == "I'm sorry, but I can't help with that.")
        }
    }

    @Test("timeout: no answer until the client gives up, which the emulator notices")
    func timeout() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let port = try await emulator.waitUntilListening()
            let client = LoopbackHTTPClient(port: port)
            let gotAnything = try await client.sendAndAbandon(
                path: "/compatible-mode/v1/chat/completions",
                json: #"{"model":"qwen-plus","messages":[{"role":"user","content":"wait [[fault:timeout]]"}]}"#,
                headers: [], after: .milliseconds(400))
            #expect(!gotAnything)
            try await eventually { emulator.stats.requestsAbandoned == 1 }
            #expect(emulator.stats.faultsServed["timeout"] == 1)
            #expect(try await client.chat("still serving").status == 200)
        }
    }

    @Test("slow_first_byte holds the head for x-emulator-delay-ms, then answers normally")
    func slowFirstByte() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat(
                "take a while",
                headers: [("x-emulator-fault", "slow_first_byte"), ("x-emulator-delay-ms", "300")])
            #expect(reply.status == 200)
            #expect(reply.elapsed >= .milliseconds(300))
            let normal = try await client.chat("take a while")
            #expect(try content(of: reply) == content(of: normal))
        }
    }

    @Test("slow_first_byte defaults to the configured delay")
    func slowFirstByteDefault() async throws {
        var configuration = EmulatorConfiguration()
        configuration.slowFirstByteDelay = .milliseconds(200)
        try await QwenEmulator.withRunning(configuration) { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat("take a while [[fault:slow_first_byte]]", extra: #","stream":true"#)
            #expect(reply.status == 200)
            #expect(reply.elapsed >= .milliseconds(200))
            #expect(reply.events.last == "[DONE]")
        }
    }

    @Test("a forced fault applies to every chat request until cleared")
    func forcedFault() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            emulator.setForcedFault("server_error")
            for prompt in ["a", "b", "c"] {
                #expect(try await client.chat(prompt).status == 500)
            }
            // A forced fault wins over what the request asks for.
            #expect(try await client.chat("d", headers: [("x-emulator-fault", "rate_limit")]).status == 500)
            emulator.setForcedFault(EmulatorFault.unavailable)
            #expect(try await client.chat("e").status == 503)
            emulator.setForcedFault(nil as EmulatorFault?)
            #expect(try await client.chat("f").status == 200)
            #expect(emulator.stats.faultsServed == ["server_error": 4, "unavailable": 1])
        }
    }

    @Test("every fault has a test above")
    func everyFaultCovered() {
        let covered: Set<EmulatorFault> = Set(Self.errorFaults.map(\.fault)).union([
            .outputFilterMidstream, .rateLimitRetryAfter, .timeout, .slowFirstByte, .disconnectMidstream,
            .malformedJSON, .refusal,
            .piiLeak,  // EchoAndPIILeakTests
        ])
        #expect(covered == Set(EmulatorFault.allCases))
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
