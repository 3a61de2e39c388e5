import AirlockTestSupport
import ChatWire
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import Testing
import QwenEmulator
import Upstream

@testable import AirlockServer

/// A small upstream written for these tests: it answers a streamed chat request with whatever hostile stream the
/// prompt names, so Airlock's bounds meet the real thing over loopback and libcurl.
enum HostileUpstream {
    static let chunkHead = #"{"id":"c","object":"chat.completion.chunk","model":"qwen-plus","choices":"#

    static func event(_ json: String) -> ByteBuffer { ByteBuffer(string: "data: \(json)\n\n") }

    /// Writes what `kind` names; endless kinds write until Airlock hangs up.
    static func write(_ kind: String, to writer: inout some ResponseBodyWriter) async throws {
        switch kind {
        case "garbage":
            try await writer.write(event(chunkHead + #"[{"index":0,"delta":{"content":"Hi"}}]}"#))
            try await writer.write(ByteBuffer(string: "data: {this is not json\n\n"))
        case "huge-event":
            // One 10 MB event: a content string of 10 MB.
            try await writer.write(ByteBuffer(string: "data: " + chunkHead + #"[{"index":0,"delta":{"content":""#))
            let block = ByteBuffer(repeating: UInt8(ascii: "a"), count: 1 << 20)
            for _ in 0..<10 { try await writer.write(block) }
            try await writer.write(ByteBuffer(string: #""}}]}"# + "\n\n"))
        case "huge-index":
            try await writer.write(event(chunkHead + #"[{"index":1e300,"delta":{"content":"Hi"}}]}"#))
            try await writer.write(event(chunkHead + #"[{"index":1e300,"delta":{},"finish_reason":"stop"}]}"#))
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
        case "huge-integer-index":
            try await writer.write(event(chunkHead + #"[{"index":9223372036854775807,"delta":{"content":"Hi"}}]}"#))
        case "endless-line":
            try await writer.write(ByteBuffer(string: "data: "))
            let block = ByteBuffer(repeating: UInt8(ascii: "a"), count: 64 * 1024)
            while true { try await writer.write(block) }
        case "endless-events":
            while true {
                try await writer.write(event(chunkHead + #"[{"index":0,"delta":{"content":"more "}}]}"#))
                try await Task.sleep(for: .milliseconds(5))
            }
        default:
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
        }
        try await writer.finish(nil)
    }

    /// Runs the upstream; `body` gets its base URL (what `upstream.url` takes).
    static func withRunning<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/v1/chat/completions") { request, _ -> Response in
            var buffer = try await request.body.collect(upTo: 1 << 20)
            let text = buffer.readString(length: buffer.readableBytes) ?? ""
            let kind = ["garbage", "huge-event", "huge-integer-index", "huge-index", "endless-line", "endless-events"]
                .first { text.contains("hostile:\($0)\"") } ?? "done"
            if text.contains("\"stream\":false") || !text.contains("\"stream\":true") {
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: "{not a completion")))
            }
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream"],
                body: ResponseBody { writer in try await write(kind, to: &writer) })
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            }, logger: quietLogger)
        return try await withRunningServices([app]) {
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            return try await body("http://127.0.0.1:\(port)/v1")
        }
    }
}

@Suite struct HostileUpstreamTests {
    /// Streams one hostile answer through Airlock: the status, the error code of its last data event, and its outcome
    /// comment.
    static func stream(_ airlock: AirlockHarness, _ kind: String) async throws -> (status: Int, code: String?, outcome: String?) {
        let response = try await airlock.request(
            "POST", "/v1/chat/completions", body: AirlockHarness.chat("hostile:\(kind)", stream: true))
        let bytes = try await response.collect(upTo: 64 << 20)
        let text = String(decoding: bytes, as: UTF8.self)
        let events = sseEvents(bytes)
        let code = events.compactMap { $0?["error"] as? [String: Any] }.last?["code"] as? String
        let outcome = text.components(separatedBy: ": x-airlock-outcome: ").last.map {
            String($0.prefix { $0 != "\n" })
        }
        // Every data event Airlock sent is JSON or [DONE]: well-formed to the end.
        let dataEvents = text.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }
        for event in dataEvents {
            let payload = event.dropFirst(6)
            #expect(
                payload == "[DONE]" || (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) != nil,
                "\(kind): an event that is not JSON reached the client")
        }
        return (response.status, code, outcome)
    }

    @Test func everyHostileStreamEndsWithAWellFormedErrorAndAirlockStaysUp() async throws {
        try await HostileUpstream.withRunning { upstream in
            try await AirlockHarness.withRunning(
                // No request timeout that a loaded machine could reach first: the size bounds must end these streams.
                environment: [
                    "AIRLOCK_MAX_UPSTREAM_EVENT_BYTES": "1MiB", "AIRLOCK_UPSTREAM_REQUEST_TIMEOUT_MS": "600000",
                    "AIRLOCK_UPSTREAM_RETRIES": "0",
                ],
                upstreamURL: upstream
            ) { airlock in
                let garbage = try await Self.stream(airlock, "garbage")
                #expect(garbage.status == 200)
                #expect(garbage.code == "upstream_malformed_response" && garbage.outcome == "failure_malformed")

                let huge = try await Self.stream(airlock, "huge-event")
                #expect(huge.code == "upstream_event_too_large" && huge.outcome == "failure_malformed")

                let index = try await Self.stream(airlock, "huge-index")
                #expect(index.code == nil && index.outcome == "ok", "1e300 is no index: the choice's position stands")

                let bigInteger = try await Self.stream(airlock, "huge-integer-index")
                #expect(bigInteger.code == "upstream_malformed_response" && bigInteger.outcome == "failure_malformed")

                let line = try await Self.stream(airlock, "endless-line")
                #expect(line.code == "upstream_event_too_large" && line.outcome == "failure_malformed")

                // A whole answer that is not a completion.
                let (whole, json) = try await airlock.json(
                    "POST", "/v1/chat/completions", body: AirlockHarness.chat("hostile:garbage"))
                #expect(whole.status == 502)
                #expect((json["error"] as? [String: Any])?["code"] as? String == "upstream_malformed_response")

                let (health, _) = try await airlock.json("GET", "/healthz")
                #expect(health.status == 200)
            }
            // Endless but well-formed: the upstream request timeout ends it (an Airlock of its own, with a short one).
            try await AirlockHarness.withRunning(
                environment: [
                    "AIRLOCK_MAX_UPSTREAM_EVENT_BYTES": "1MiB", "AIRLOCK_UPSTREAM_REQUEST_TIMEOUT_MS": "1500",
                    "AIRLOCK_UPSTREAM_RETRIES": "0",
                ],
                upstreamURL: upstream
            ) { airlock in
                let endless = try await Self.stream(airlock, "endless-events")
                #expect(endless.code == "upstream_idle_timeout" && endless.outcome == "failure_timeout")
                let (health, _) = try await airlock.json("GET", "/healthz")
                #expect(health.status == 200)
            }
        }
    }
}

@Suite struct GracefulDrainTests {
    @Test func shutdownEndsAStreamStillRunningWithAWellFormedErrorEvent() async throws {
        let reader = UpstreamClient(logger: quietLogger)
        defer { reader.shutdown() }
        var slow = EmulatorConfiguration()
        slow.tokensPerSecond = 20
        slow.answerTokens = 2000  // 100 s of answer: it cannot end by itself within the test
        // The harness's clock is manual, so the drain time passes at once when shutdown begins.
        let collected = try await AirlockHarness.withRunning(emulator: slow) { airlock -> Task<[UInt8], any Error> in
            let response = try await reader.execute(
                UpstreamRequest(
                    method: "POST", url: airlock.baseURL + "/v1/chat/completions",
                    headers: [("Content-Type", "application/json"), ("Authorization", "Bearer caller-key")],
                    body: AirlockHarness.chat("Tell me a long story.", stream: true)))
            #expect(response.status == 200)
            return Task {
                var bytes: [UInt8] = []
                for try await chunk in response.body { bytes += chunk }
                return bytes
            }
        }
        // Returning from the harness shut Airlock down gracefully; the stream was ended, not dropped.
        let text = String(decoding: try await collected.value, as: UTF8.self)
        #expect(text.contains(#""code":"airlock_shutting_down""#))
        #expect(text.hasSuffix(": x-airlock-outcome: failure_stream_cut\n\n"))
        #expect(!text.contains("[DONE]"))
    }
}
