import AirlockTestSupport
import Foundation
import QwenEmulator
import Testing

@testable import Upstream

/// The real libcurl client against the real emulator over loopback.
@Suite struct UpstreamClientTests {
    static func chatBody(_ text: String, stream: Bool = false, extra: String = "") -> [UInt8] {
        let escaped = text.replacingOccurrences(of: "\"", with: "\\\"")
        return Array(
            #"{"model":"qwen-plus","messages":[{"role":"user","content":"\#(escaped)"}],"stream":\#(stream)\#(extra)}"#.utf8)
    }

    static func post(_ base: String, _ body: [UInt8], headers: [(String, String)] = [], timeouts: UpstreamTimeouts? = nil)
        -> UpstreamRequest
    {
        UpstreamRequest(
            method: "POST", url: base + "/chat/completions",
            headers: [("Authorization", "Bearer k"), ("Content-Type", "application/json")] + headers, body: body,
            timeouts: timeouts)
    }

    @Test func nonStreamingRoundTrip() async throws {
        let client = UpstreamClient()
        defer { client.shutdown() }
        try await QwenEmulator.withRunning { emulator, base in
            let response = try await client.execute(Self.post(base, Self.chatBody("hello there")))
            #expect(response.status == 200)
            #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
            let body = try await response.collect(upTo: 1 << 20)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
            #expect(json["object"] as? String == "chat.completion")
            #expect(emulator.stats.lastChatRequestBody == Self.chatBody("hello there"))
            #expect(emulator.stats.lastAuthorization == "Bearer k")
            #expect(emulator.stats.lastRequestHeaders["expect"] == nil)
        }
    }

    @Test func connectionsAreReused() async throws {
        let client = UpstreamClient()
        defer { client.shutdown() }
        try await QwenEmulator.withRunning { _, base in
            for _ in 0..<5 {
                let response = try await client.execute(Self.post(base, Self.chatBody("again")))
                _ = try await response.collect(upTo: 1 << 20)
                #expect(response.status == 200)
            }
            #expect(client.stats.completed == 5)
        }
    }

    @Test func streamArrivesInChunksBeforeItEnds() async throws {
        var configuration = EmulatorConfiguration()
        configuration.tokensPerSecond = 50
        configuration.answerTokens = 20
        let client = UpstreamClient()
        defer { client.shutdown() }
        try await QwenEmulator.withRunning(configuration) { emulator, base in
            let response = try await client.execute(Self.post(base, Self.chatBody("stream please", stream: true)))
            #expect(response.status == 200)
            var iterator = response.body.makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first != nil)
            // The first chunk is in hand while the emulator is still producing the rest (20 tokens at 50/s).
            #expect(emulator.stats.streamsCompleted == 0)
            var all = first ?? []
            while let chunk = try await iterator.next() { all += chunk }
            #expect(String(decoding: all, as: UTF8.self).hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test func refusedConnectionIsConnectFailed() async throws {
        let client = UpstreamClient()
        defer { client.shutdown() }
        // Port 9 on loopback: nothing listens there in this sandbox.
        await #expect {
            _ = try await client.execute(UpstreamRequest(method: "GET", url: "http://127.0.0.1:9/v1/models"))
        } throws: { ($0 as? UpstreamError)?.code == .connectFailed }
    }

    @Test func firstByteTimeoutFires() async throws {
        let client = UpstreamClient()
        defer { client.shutdown() }
        try await QwenEmulator.withRunning { emulator, base in
            let timeouts = UpstreamTimeouts(connect: .seconds(10), firstByte: .milliseconds(200), idle: nil, total: nil)
            // A first-byte timeout, not an answer: the emulator holds for ten minutes, so it fired on the client's deadline.
            await #expect {
                _ = try await client.execute(
                    Self.post(base, Self.chatBody("x"), headers: [("x-emulator-fault", "timeout")], timeouts: timeouts))
            } throws: { ($0 as? UpstreamError)?.code == .firstByteTimeout }
            // The emulator sees the connection close.
            try await eventually { emulator.stats.requestsAbandoned == 1 }
        }
    }

    @Test func idleTimeoutFiresBetweenChunks() async throws {
        var configuration = EmulatorConfiguration()
        configuration.tokensPerSecond = 2
        let client = UpstreamClient()
        defer { client.shutdown() }
        try await QwenEmulator.withRunning(configuration) { _, base in
            let timeouts = UpstreamTimeouts(connect: .seconds(10), firstByte: .seconds(30), idle: .milliseconds(150), total: nil)
            let response = try await client.execute(Self.post(base, Self.chatBody("slow", stream: true), timeouts: timeouts))
            await #expect {
                for try await _ in response.body {}
            } throws: { ($0 as? UpstreamError)?.code == .idleTimeout }
        }
    }

    @Test func cancellingTheBodyAbortsTheTransfer() async throws {
        var configuration = EmulatorConfiguration()
        configuration.tokensPerSecond = 100
        configuration.answerTokens = 1000
        let client = UpstreamClient()
        defer { client.shutdown() }
        try await QwenEmulator.withRunning(configuration) { emulator, base in
            let response = try await client.execute(Self.post(base, Self.chatBody("long", stream: true)))
            var iterator = response.body.makeAsyncIterator()
            _ = try await iterator.next()
            response.cancel()
            try await eventually { emulator.stats.streamsAborted == 1 }
            #expect(client.stats.aborted == 1)
        }
    }

    @Test func droppingTheResponseAbortsTheTransfer() async throws {
        var configuration = EmulatorConfiguration()
        configuration.tokensPerSecond = 100
        configuration.answerTokens = 1000
        let client = UpstreamClient()
        defer { client.shutdown() }
        try await QwenEmulator.withRunning(configuration) { emulator, base in
            do {
                let response = try await client.execute(Self.post(base, Self.chatBody("long", stream: true)))
                #expect(response.status == 200)
            }
            try await eventually { emulator.stats.streamsAborted == 1 }
        }
    }

    @Test func slowReaderPausesTheTransferInsteadOfBuffering() async throws {
        var configuration = EmulatorConfiguration()
        configuration.answerTokens = 40_000  // about 8 MB of SSE, sent as fast as possible
        var clientConfiguration = UpstreamClient.Configuration()
        clientConfiguration.maxBufferedBytes = 64 * 1024
        let client = UpstreamClient(configuration: clientConfiguration)
        defer { client.shutdown() }
        try await QwenEmulator.withRunning(configuration) { _, base in
            let response = try await client.execute(Self.post(base, Self.chatBody("big", stream: true)))
            var iterator = response.body.makeAsyncIterator()
            _ = try await iterator.next()
            // Nothing more is read: the transfer fills the 64 KiB buffer and pauses.
            try await eventually { client.stats.pauses >= 1 }
            var total = 0
            var last: [UInt8] = []
            while let chunk = try await iterator.next() {
                total += chunk.count
                last = Array((last + chunk).suffix(16))
            }
            #expect(total > 1_000_000)
            #expect(String(decoding: last, as: UTF8.self).hasSuffix("[DONE]\n\n"))
        }
    }

    @Test func shutdownFailsPendingRequests() async throws {
        let client = UpstreamClient()
        try await QwenEmulator.withRunning { _, base in
            let pending = Task {
                try await client.execute(Self.post(base, Self.chatBody("x"), headers: [("x-emulator-fault", "timeout")]))
            }
            try await eventually { client.stats.started >= 1 }
            client.shutdown()
            await #expect { _ = try await pending.value } throws: { ($0 as? UpstreamError)?.code == .shutdown }
            await #expect { _ = try await client.execute(Self.post(base, Self.chatBody("x"))) } throws: {
                ($0 as? UpstreamError)?.code == .shutdown
            }
        }
    }
}

