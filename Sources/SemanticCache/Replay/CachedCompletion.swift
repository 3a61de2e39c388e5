public import ChatWire

/// An answer as the cache keeps it: enough to replay it as OpenAI JSON or as SSE chunks, in either form,
/// whichever form the original answer came in.
public struct CachedCompletion: Sendable, Hashable, Codable {
    /// Token counts as Qwen reported them (with the cache and reasoning details, when it gave them).
    public typealias Usage = TokenUsage

    /// The model that answered, as upstream named it.
    public var model: String
    public var content: String
    /// Thinking text (`reasoning_content`), when the model produced any.
    public var reasoningContent: String?
    /// The message's `tool_calls` as a JSON array, verbatim.
    public var toolCallsJSON: String?
    public var finishReason: String
    public var usage: Usage?
    public var systemFingerprint: String?

    public init(
        model: String, content: String, reasoningContent: String? = nil, toolCallsJSON: String? = nil,
        finishReason: String, usage: Usage? = nil, systemFingerprint: String? = nil
    ) {
        self.model = model
        self.content = content
        self.reasoningContent = reasoningContent
        self.toolCallsJSON = toolCallsJSON
        self.finishReason = finishReason
        self.usage = usage
        self.systemFingerprint = systemFingerprint
    }

    /// Reads a non-streamed `chat.completion` body (choice 0). nil when it is not one, or has no `finish_reason`: an
    /// unfinished answer is never cached.
    public init?(chatCompletionJSON body: [UInt8]) {
        guard case .object(let object)? = try? JSONValue.parse(body) else { return nil }
        self.init(chatCompletion: object)
    }

    /// The same, from a completion already parsed.
    public init?(chatCompletion object: [String: JSONValue]) {
        guard object["object"] == .string("chat.completion"), case .array(let choices)? = object["choices"],
            case .object(let choice)? = choices.first, case .string(let finishReason)? = choice["finish_reason"],
            case .object(let message)? = choice["message"]
        else { return nil }
        var toolCalls: String?
        if let calls = message["tool_calls"], calls != .null { toolCalls = calls.canonicalText }
        self.init(
            model: object["model"]?.stringValue ?? "", content: message["content"]?.stringValue ?? "",
            reasoningContent: message["reasoning_content"]?.stringValue, toolCallsJSON: toolCalls,
            finishReason: finishReason, usage: Self.usage(object["usage"]),
            systemFingerprint: object["system_fingerprint"]?.stringValue)
    }

    /// A `usage` object's token counts; nil without prompt and completion counts.
    public static func usage(_ value: JSONValue?) -> Usage? { TokenUsage(json: value) }
}
