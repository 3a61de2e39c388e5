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

/// Collects a streamed answer from its SSE `data:` payloads; yields a `CachedCompletion` only after a clean end
/// (a `finish_reason` and then `[DONE]`), never after an error event or a cut stream.
public struct StreamedCompletionAssembler: Sendable {
    private var model = ""
    private var content = ""
    private var reasoning = ""
    private var finishReason: String?
    private var usage: CachedCompletion.Usage?
    private var fingerprint: String?
    private var toolCalls: [Int: [String: String]] = [:]
    private var sawDone = false
    private var failed = false

    public init() {}

    /// Feeds one event's data (the text after `data:`, without the line break).
    public mutating func consume(data payload: String) {
        guard !failed, !sawDone else { return }
        let trimmed = payload.trimmingCharacters(in: .whitespaces)
        if trimmed == "[DONE]" {
            sawDone = true
            return
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
            failed = true
            return
        }
        if object["error"] != nil {
            failed = true
            return
        }
        if let name = object["model"] as? String { model = name }
        if let value = object["system_fingerprint"] as? String { fingerprint = value }
        if let value = CachedCompletion.usage(object["usage"]) { usage = value }
        guard let choices = object["choices"] as? [[String: Any]] else { return }
        for choice in choices where (choice["index"] as? Int ?? 0) == 0 {
            if let delta = choice["delta"] as? [String: Any] {
                if let text = delta["content"] as? String { content += text }
                if let text = delta["reasoning_content"] as? String { reasoning += text }
                if let calls = delta["tool_calls"] as? [[String: Any]] { mergeToolCalls(calls) }
            }
            if let reason = choice["finish_reason"] as? String { finishReason = reason }
        }
    }

    /// The answer, when the stream ended cleanly; nil otherwise.
    public var completion: CachedCompletion? {
        guard sawDone, !failed, let finishReason else { return nil }
        return CachedCompletion(
            model: model, content: content, reasoningContent: reasoning.isEmpty ? nil : reasoning,
            toolCallsJSON: toolCallsJSON, finishReason: finishReason, usage: usage, systemFingerprint: fingerprint)
    }

    private mutating func mergeToolCalls(_ calls: [[String: Any]]) {
        for call in calls {
            let index = call["index"] as? Int ?? 0
            var merged = toolCalls[index] ?? [:]
            if let id = call["id"] as? String { merged["id"] = id }
            if let type = call["type"] as? String { merged["type"] = type }
            if let function = call["function"] as? [String: Any] {
                if let name = function["name"] as? String { merged["name", default: ""] += name }
                if let arguments = function["arguments"] as? String { merged["arguments", default: ""] += arguments }
            }
            toolCalls[index] = merged
        }
    }

    private var toolCallsJSON: String? {
        guard !toolCalls.isEmpty else { return nil }
        let calls = toolCalls.keys.sorted().map { index -> [String: Any] in
            let call = toolCalls[index] ?? [:]
            return [
                "id": call["id"] ?? "", "type": call["type"] ?? "function",
                "function": ["name": call["name"] ?? "", "arguments": call["arguments"] ?? ""],
            ]
        }
        return CachedCompletion.jsonText(calls)
    }
}
