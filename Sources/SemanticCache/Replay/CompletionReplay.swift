import ChatWire

/// Turns a cached answer back into what a client expects: pure functions, no I/O. Written with ChatWire's JSON value
/// (keys sorted, numbers exact).
public enum CompletionReplay {
    /// The OpenAI non-stream body: `{"id", "object":"chat.completion", "created", "model", "choices":[…], "usage"}`.
    /// `id` and `created` are new for each replay; the usage is the stored one, as the provider billed it then.
    public static func chatCompletionJSON(_ completion: CachedCompletion, id: String, created: Int) -> [UInt8] {
        var message: [String: JSONValue] = ["role": "assistant", "content": .string(completion.content)]
        if let reasoning = completion.reasoningContent { message["reasoning_content"] = .string(reasoning) }
        if let calls = parsedJSON(completion.toolCallsJSON) { message["tool_calls"] = calls }
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "chat.completion", "created": .number(JSONNumber(created)),
            "model": .string(completion.model),
            "choices": .array([
                .object([
                    "index": 0, "message": .object(message), "finish_reason": .string(completion.finishReason),
                    "logprobs": .null,
                ])
            ]),
        ]
        if let usage = completion.usage { object["usage"] = usageObject(usage) }
        if let fingerprint = completion.systemFingerprint { object["system_fingerprint"] = .string(fingerprint) }
        return JSONValue.object(object).encoded()
    }

    /// The SSE events of a streamed answer, each a complete `data: …\n\n` frame: a role delta with empty content,
    /// reasoning and content deltas (content cut into pieces of at most `chunkCharacters`), tool calls, a chunk
    /// with the finish reason and empty content, a usage chunk with `"choices":[]` when `includeUsage`, and
    /// `data: [DONE]`.
    public static func sseEvents(
        _ completion: CachedCompletion, id: String, created: Int, includeUsage: Bool, chunkCharacters: Int = 64
    ) -> [[UInt8]] {
        func chunk(_ delta: [String: JSONValue], finishReason: String? = nil) -> [UInt8] {
            var object: [String: JSONValue] = [
                "id": .string(id), "object": "chat.completion.chunk", "created": .number(JSONNumber(created)),
                "model": .string(completion.model),
                "choices": .array([
                    .object([
                        "index": 0, "delta": .object(delta), "finish_reason": finishReason.map(JSONValue.string) ?? .null,
                        "logprobs": .null,
                    ])
                ]),
            ]
            if let fingerprint = completion.systemFingerprint { object["system_fingerprint"] = .string(fingerprint) }
            return frame(.object(object))
        }
        var events: [[UInt8]] = [chunk(["role": "assistant", "content": ""])]
        if let reasoning = completion.reasoningContent, !reasoning.isEmpty {
            for piece in pieces(reasoning, chunkCharacters) { events.append(chunk(["reasoning_content": .string(piece)])) }
        }
        for piece in pieces(completion.content, chunkCharacters) { events.append(chunk(["content": .string(piece)])) }
        if case .array(let calls)? = parsedJSON(completion.toolCallsJSON) {
            let indexed = calls.enumerated().map { index, call -> JSONValue in
                guard case .object(var object) = call else { return call }
                object["index"] = .number(JSONNumber(index))
                return .object(object)
            }
            events.append(chunk(["tool_calls": .array(indexed)]))
        }
        events.append(chunk(["content": ""], finishReason: completion.finishReason))
        if includeUsage, let usage = completion.usage {
            events.append(
                frame(
                    .object([
                        "id": .string(id), "object": "chat.completion.chunk", "created": .number(JSONNumber(created)),
                        "model": .string(completion.model), "choices": .array([]), "usage": usageObject(usage),
                    ])))
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

    private static func usageObject(_ usage: CachedCompletion.Usage) -> JSONValue { usage.json }

    private static func parsedJSON(_ text: String?) -> JSONValue? {
        guard let text else { return nil }
        return try? JSONValue.parse(Array(text.utf8))
    }

    private static func frame(_ value: JSONValue) -> [UInt8] {
        Array("data: ".utf8) + value.encoded() + Array("\n\n".utf8)
    }
}
