import AirlockTestSupport
import Foundation
import QwenEmulator
import Testing

@Suite("Echo and the pii_leak fault")
struct EchoAndPIILeakTests {
    static let leak =
        "Sure. The customer's card is 4111 1111 1111 1111, their email is jane.doe@example.com and their phone is "
        + "+1 415 555 0100."

    @Test("[[echo]] answers with the last user message, every [[…]] marker removed and trimmed")
    func echoWhole() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat(
                "  [[echo]] Send <EMAIL_1> the card 4111 1111 1111 1111, please. [[guard:safe]]\n")
            #expect(reply.status == 200)
            #expect(try content(of: reply) == "Send <EMAIL_1> the card 4111 1111 1111 1111, please.")
            let usage = try #require(try reply.json()["usage"] as? [String: Any])
            // "Send", " <EMAIL_1>", " the", " card", " 4111", " 1111", " 1111", " 1111", ",", " please", "."
            #expect(usage["completion_tokens"] as? Int == 11)

            let chinese = try await client.chat("把<PHONE_1>发给我，谢谢[[echo]]")
            #expect(try content(of: chinese) == "把<PHONE_1>发给我，谢谢")

            // A fault marker next to [[echo]] still applies and is not echoed.
            let slow = try await client.chat(
                "[[fault:slow_first_byte]] hi <NAME_1> [[echo]]", headers: [("x-emulator-delay-ms", "150")])
            #expect(slow.elapsed >= .milliseconds(150))
            #expect(try content(of: slow) == "hi <NAME_1>")
            #expect(emulator.stats.faultsServed == ["slow_first_byte": 1])
        }
    }

    @Test("a streamed echo sends one token per chunk, placeholders and digit groups intact")
    func echoStream() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat(
                "Hello there, <EMAIL_1> wrote 4111 1111. 你好！[[echo]]", extra: #","stream":true"#)
            #expect(reply.status == 200)
            #expect(reply.events.last == "[DONE]")
            let chunks = try reply.events.dropLast().map(decode)
            let tokens = try chunks.dropFirst().dropLast().map { try #require(delta($0)["content"] as? String) }
            #expect(
                tokens == ["Hello", " there", ",", " <EMAIL_1>", " wrote", " 4111", " 1111", ".", " 你", "好", "！"])
            #expect(try choice(chunks[chunks.count - 1])["finish_reason"] as? String == "stop")
        }
    }

    @Test("max_tokens truncates an echo")
    func echoTruncated() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let json = try await client.chat("one two three four five [[echo]]", extra: #","max_tokens":3"#).json()
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "length")
            #expect((choice["message"] as? [String: Any])?["content"] as? String == "one two three")
        }
    }

    @Test("pii_leak whole: a 200 with exactly the leaking text, counted as a fault")
    func piiLeakWhole() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let byMarker = try await client.chat("What is on file? [[fault:pii_leak]]")
            #expect(byMarker.status == 200)
            #expect(try content(of: byMarker) == Self.leak)
            let byHeader = try await client.chat("What is on file?", headers: [("x-emulator-fault", "pii_leak")])
            #expect(try content(of: byHeader) == Self.leak)
            let usage = try #require(try byHeader.json()["usage"] as? [String: Any])
            #expect(usage["completion_tokens"] as? Int == 24)
            emulator.setForcedFault(EmulatorFault.piiLeak)
            #expect(try content(of: try await client.chat("anything")) == Self.leak)
            #expect(emulator.stats.faultsServed == ["pii_leak": 3])
        }
    }

    @Test("pii_leak streamed: the card number's digit groups arrive in different chunks")
    func piiLeakStream() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat("What is on file? [[fault:pii_leak]]", extra: #","stream":true"#)
            #expect(reply.status == 200)
            #expect(reply.events.last == "[DONE]")
            let chunks = try reply.events.dropLast().map(decode)
            let tokens = try chunks.dropFirst().dropLast().map { try #require(delta($0)["content"] as? String) }
            #expect(tokens.joined() == Self.leak)
            let card = try #require(tokens.firstIndex(of: " 4111"))
            #expect(Array(tokens[card..<card + 4]) == [" 4111", " 1111", " 1111", " 1111"])
            #expect(!tokens.contains { $0.contains("4111 1111") })
            #expect(tokens.contains(" jane.doe@example.com"))
            #expect(emulator.stats.faultsServed == ["pii_leak": 1])
        }
    }
}
