import Foundation

/// Turns a cached answer back into what a client expects: pure functions, no I/O.
public enum CompletionReplay {
    /// The OpenAI non-stream body: `{"id", "object":"chat.completion", "created", "model", "choices":[…], "usage"}`.
    /// `id` and `created` are new for each replay; the usage is the stored one, as the provider billed it then.
    public static func chatCompletionJSON(_ completion: CachedCompletion, id: String, created: Int) -> [UInt8] {
        var message: [String: Any] = ["role": "assistant", "content": completion.content]
        if let reasoning = completion.reasoningContent { message["reasoning_content"] = reasoning }
        if let calls = parsedJSON(completion.toolCallsJSON) { message["tool_calls"] = calls }
        var object: [String: Any] = [
            "id": id, "object": "chat.completion", "created": created, "model": completion.model,
            "choices": [["index": 0, "message": message, "finish_reason": completion.finishReason, "logprobs": NSNull()]],
        ]
        if let usage = completion.usage { object["usage"] = usageObject(usage) }
        if let fingerprint = completion.systemFingerprint { object["system_fingerprint"] = fingerprint }
        return serialize(object)
    }

    /// The SSE events of a streamed answer, each a complete `data: …\n\n` frame: a role delta with empty content,
    /// reasoning and content deltas (content cut into pieces of at most `chunkCharacters`), tool calls, a chunk
    /// with the finish reason and empty content, a usage chunk with `"choices":[]` when `includeUsage`, and
    /// `data: [DONE]`.
    public static func sseEvents(
        _ completion: CachedCompletion, id: String, created: Int, includeUsage: Bool, chunkCharacters: Int = 64
    ) -> [[UInt8]] {
        func chunk(_ delta: [String: Any], finishReason: String? = nil) -> [UInt8] {
            var object: [String: Any] = [
                "id": id, "object": "chat.completion.chunk", "created": created, "model": completion.model,
                "choices": [
                    [
                        "index": 0, "delta": delta, "finish_reason": finishReason.map { $0 as Any } ?? NSNull(),
                        "logprobs": NSNull(),
                    ]
                ],
            ]
            if let fingerprint = completion.systemFingerprint { object["system_fingerprint"] = fingerprint }
            return frame(object)
        }
        var events: [[UInt8]] = [chunk(["role": "assistant", "content": ""])]
        if let reasoning = completion.reasoningContent, !reasoning.isEmpty {
            for piece in pieces(reasoning, chunkCharacters) { events.append(chunk(["reasoning_content": piece])) }
        }
        for piece in pieces(completion.content, chunkCharacters) { events.append(chunk(["content": piece])) }
        if let calls = parsedJSON(completion.toolCallsJSON) as? [[String: Any]] {
            let indexed = calls.enumerated().map { index, call -> [String: Any] in
                var call = call
                call["index"] = index
                return call
            }
            events.append(chunk(["tool_calls": indexed]))
        }
        events.append(chunk(["content": ""], finishReason: completion.finishReason))
        if includeUsage, let usage = completion.usage {
            events.append(
                frame([
                    "id": id, "object": "chat.completion.chunk", "created": created, "model": completion.model,
                    "choices": [Any](), "usage": usageObject(usage),
                ]))
        }
        events.append(Array("data: [DONE]\n\n".utf8))
        return events
    }

    static func pieces(_ text: String, _ size: Int) -> [String] {
        guard !text.isEmpty else { return [] }
        let size = max(1, size)
        var out: [String] = []
        var index = text.startIndex
        while index < text.endIndex {
            let end = text.index(index, offsetBy: size, limitedBy: text.endIndex) ?? text.endIndex
            out.append(String(text[index..<end]))
            index = end
        }
        return out
    }

    private static func usageObject(_ usage: CachedCompletion.Usage) -> [String: Any] {
        [
            "prompt_tokens": usage.promptTokens, "completion_tokens": usage.completionTokens,
            "total_tokens": usage.totalTokens,
        ]
    }

    private static func parsedJSON(_ text: String?) -> Any? {
        guard let text else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    private static func frame(_ object: [String: Any]) -> [UInt8] {
        Array("data: ".utf8) + serialize(object) + Array("\n\n".utf8)
    }

    private static func serialize(_ object: [String: Any]) -> [UInt8] {
        // Only strings, numbers, arrays, dictionaries and NSNull go in: serialization cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Array(data)
    }
}
