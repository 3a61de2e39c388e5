import ChatWire
import Foundation
import Testing

@testable import SemanticCache

@Suite struct CompletionReplayTests {
    static let completion = CachedCompletion(
        model: "qwen-plus", content: "Paris is the capital of France.", finishReason: "stop",
        usage: .init(promptTokens: 12, completionTokens: 7, totalTokens: 19))

    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func nonStreamJSON() throws {
        let body = try Self.object(CompletionReplay.chatCompletionJSON(Self.completion, id: "chatcmpl-1", created: 42))
        #expect(body["object"] as? String == "chat.completion")
        #expect(body["id"] as? String == "chatcmpl-1")
        #expect(body["created"] as? Int == 42)
        let choice = try #require((body["choices"] as? [[String: Any]])?.first)
        #expect(choice["finish_reason"] as? String == "stop")
        let message = try #require(choice["message"] as? [String: Any])
        #expect(message["role"] as? String == "assistant")
        #expect(message["content"] as? String == Self.completion.content)
        #expect((body["usage"] as? [String: Any])?["total_tokens"] as? Int == 19)
        // And it reads back as the same completion.
        #expect(CachedCompletion(chatCompletionJSON: CompletionReplay.chatCompletionJSON(Self.completion, id: "x", created: 1)) == Self.completion)
    }

    @Test func sseSequenceHasTheUpstreamShape() throws {
        let events = CompletionReplay.sseEvents(
            Self.completion, id: "chatcmpl-2", created: 7, includeUsage: true, chunkCharacters: 8)
        let texts = events.map { String(decoding: $0, as: UTF8.self) }
        #expect(texts.allSatisfy { $0.hasPrefix("data: ") && $0.hasSuffix("\n\n") })
        #expect(texts.last == "data: [DONE]\n\n")
        let chunks = try events.dropLast().map { try Self.object(Array($0.dropFirst(6).dropLast(2))) }
        #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" && $0["id"] as? String == "chatcmpl-2" })
        let first = try #require((chunks[0]["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])
        #expect(first["role"] as? String == "assistant" && first["content"] as? String == "")
        let usageChunk = try #require(chunks.last)
        #expect((usageChunk["choices"] as? [Any])?.isEmpty == true)
        #expect((usageChunk["usage"] as? [String: Any])?["completion_tokens"] as? Int == 7)
        let finish = try #require((chunks[chunks.count - 2]["choices"] as? [[String: Any]])?.first)
        #expect(finish["finish_reason"] as? String == "stop")
        #expect((finish["delta"] as? [String: Any])?["content"] as? String == "")
        let content = chunks.dropFirst().dropLast(2).compactMap {
            ($0["choices"] as? [[String: Any]])?.first.flatMap { ($0["delta"] as? [String: Any])?["content"] as? String }
        }.joined()
        #expect(content == Self.completion.content)
        let withoutUsage = CompletionReplay.sseEvents(Self.completion, id: "c", created: 1, includeUsage: false)
        #expect(withoutUsage.count == 4)  // role, one content piece, finish, [DONE]
    }

    @Test func toolCallsSurviveBothForms() throws {
        let calls = #"[{"function":{"arguments":"{\"city\":\"Paris\"}","name":"weather"},"id":"call_1","type":"function"}]"#
        let completion = CachedCompletion(model: "m", content: "", toolCallsJSON: calls, finishReason: "tool_calls")
        let body = try Self.object(CompletionReplay.chatCompletionJSON(completion, id: "x", created: 1))
        let message = try #require((body["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])
        #expect((message["tool_calls"] as? [[String: Any]])?.first?["id"] as? String == "call_1")
        // The streamed form and its assembly back: StreamedAnswerTests.toolCallsRoundTripThroughTheCacheForm.
    }
}
