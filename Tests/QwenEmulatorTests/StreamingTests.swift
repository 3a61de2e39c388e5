import AirlockTestSupport
import Foundation
import QwenEmulator
import Testing

@Suite("Chat completions, streaming")
struct StreamingTests {
    @Test("a stream has Qwen's event sequence: role, tokens, finish, usage, [DONE]")
    func eventSequence() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat(
                "Describe the sea", extra: #","stream":true,"stream_options":{"include_usage":true}"#)
            #expect(reply.status == 200)
            #expect(reply.header("content-type") == "text/event-stream")
            #expect(reply.endedCleanly)
            #expect(reply.text.hasSuffix("data: [DONE]\n\n"))

            let events = reply.events
            #expect(events.last == "[DONE]")
            let chunks = try events.dropLast().map(decode)
            // role + 24 tokens + finish + usage
            #expect(chunks.count == 27)
            let ids = Set(chunks.compactMap { $0["id"] as? String })
            #expect(ids.count == 1)
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            #expect(chunks.allSatisfy { $0["model"] as? String == "qwen-plus" })

            let first = try delta(chunks[0])
            #expect(first["role"] as? String == "assistant")
            #expect(first["content"] as? String == "")

            let tokens = try chunks[1...24].map { try #require(delta($0)["content"] as? String) }
            #expect(tokens.allSatisfy { !$0.isEmpty })
            #expect(try chunks[1...24].allSatisfy { try choice($0)["finish_reason"] is NSNull })

            let finish = try choice(chunks[25])
            #expect(finish["finish_reason"] as? String == "stop")
            #expect(try delta(chunks[25])["content"] as? String == "")

            let usageChunk = chunks[26]
            #expect((usageChunk["choices"] as? [Any])?.isEmpty == true)
            let usage = try #require(usageChunk["usage"] as? [String: Any])
            #expect(usage["completion_tokens"] as? Int == 24)
            #expect((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 0)

            // The same prompt without streaming gives the same text.
            let whole = try await content(of: client.chat("Describe the sea"))
            #expect(tokens.joined() == whole)
        }
    }

    @Test("without include_usage there is no usage chunk")
    func noUsageChunk() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat("Describe the sea", extra: #","stream":true"#)
            let chunks = try reply.events.dropLast().map(decode)
            #expect(chunks.count == 26)
            #expect(chunks.allSatisfy { !($0["choices"] as? [Any] ?? []).isEmpty })
            #expect(reply.events.last == "[DONE]")
        }
    }

    @Test("with enable_thinking, reasoning_content deltas come before the content")
    func thinking() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat(
                "Why is the sky blue?",
                extra: #","stream":true,"enable_thinking":true,"stream_options":{"include_usage":true}"#)
            #expect(reply.status == 200)
            let chunks = try reply.events.dropLast().map(decode)
            let deltas = try chunks.dropLast().map(delta)
            #expect(deltas[0]["role"] as? String == "assistant")

            let reasoningIndices = deltas.indices.filter {
                (deltas[$0]["reasoning_content"] as? String)?.isEmpty == false
            }
            let contentIndices = deltas.indices.filter { (deltas[$0]["content"] as? String)?.isEmpty == false }
            #expect(reasoningIndices.count == 16)
            #expect(contentIndices.count == 24)
            #expect((reasoningIndices.max() ?? 0) < (contentIndices.min() ?? 0))
            for index in reasoningIndices { #expect(deltas[index]["content"] is NSNull) }

            let usage = try #require(chunks.last?["usage"] as? [String: Any])
            #expect(usage["completion_tokens"] as? Int == 40)
            #expect((usage["completion_tokens_details"] as? [String: Any])?["reasoning_tokens"] as? Int == 16)
        }
    }

    @Test("n > 1 streams every choice, each with its own finish chunk")
    func multipleChoices() async throws {
        var configuration = EmulatorConfiguration()
        configuration.answerTokens = 5
        try await QwenEmulator.withRunning(configuration) { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat("Pick a fruit", extra: #","stream":true,"n":2"#)
            let chunks = try reply.events.dropLast().map(decode)
            let indices = try chunks.map { try #require(choice($0)["index"] as? Int) }
            #expect(indices.filter { $0 == 0 }.count == 7)
            #expect(indices.filter { $0 == 1 }.count == 7)
            let finishes = try chunks.filter { try choice($0)["finish_reason"] as? String == "stop" }
            #expect(finishes.count == 2)
        }
    }

    @Test("tokens are paced by tokensPerSecond and written as they are produced")
    func pacing() async throws {
        var configuration = EmulatorConfiguration()
        configuration.tokensPerSecond = 20
        configuration.answerTokens = 10
        try await QwenEmulator.withRunning(configuration) { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat("Take your time", extra: #","stream":true"#)
            #expect(reply.endedCleanly)
            #expect(reply.elapsed >= .milliseconds(450))
            // Written as produced: the parts arrive separately (arrival spacing is not asserted: a busy machine may
            // batch reads; UpstreamTests checks that the first chunk is in hand before the stream completes).
            #expect(reply.partArrivals.count >= 12)
        }
    }

    @Test("a non-streaming answer arrives after its generation time")
    func nonStreamGenerationTime() async throws {
        var configuration = EmulatorConfiguration()
        configuration.tokensPerSecond = 50
        configuration.answerTokens = 10
        try await QwenEmulator.withRunning(configuration) { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat("Take your time")
            #expect(reply.status == 200)
            #expect(reply.elapsed >= .milliseconds(200))
        }
    }

    @Test("a client that goes away mid-stream is counted as an aborted stream")
    func abortedStream() async throws {
        var configuration = EmulatorConfiguration()
        configuration.tokensPerSecond = 50
        // 40 s of answer: far longer than a busy machine takes to cut the client off; the test ends at the abort.
        configuration.answerTokens = 2000
        try await QwenEmulator.withRunning(configuration) { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat("Long story", extra: #","stream":true"#, cutoff: .afterBodyParts(3))
            #expect(reply.status == 200)
            #expect(!reply.endedCleanly)
            try await eventually { emulator.stats.streamsAborted == 1 }
            let stats = emulator.stats
            #expect(stats.streamsStarted == 1)
            #expect(stats.streamsCompleted == 0)
            #expect(stats.streamsCutByFault == 0)
        }
    }

    @Test("a stream that runs to the end is counted as completed")
    func completedStream() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            _ = try await client.chat("Short story", extra: #","stream":true"#)
            try await eventually { emulator.stats.streamsCompleted == 1 }
            #expect(emulator.stats.streamsStarted == 1)
            #expect(emulator.stats.streamsAborted == 0)
        }
    }
}

func decode(_ event: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any] else {
        throw TestFailure("event is not a JSON object: \(event)")
    }
    return object
}

func choice(_ chunk: [String: Any]) throws -> [String: Any] {
    try #require((chunk["choices"] as? [[String: Any]])?.first, "no choice in \(chunk)")
}

func delta(_ chunk: [String: Any]) throws -> [String: Any] {
    try #require(try choice(chunk)["delta"] as? [String: Any])
}
