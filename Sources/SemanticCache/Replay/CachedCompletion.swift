import Foundation

/// An answer as the cache keeps it: enough to replay it as OpenAI JSON or as SSE chunks, in either form,
/// whichever form the original answer came in.
public struct CachedCompletion: Sendable, Hashable, Codable {
    public struct Usage: Sendable, Hashable, Codable {
        public var promptTokens: Int
        public var completionTokens: Int
        public var totalTokens: Int

        public init(promptTokens: Int, completionTokens: Int, totalTokens: Int) {
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.totalTokens = totalTokens
        }
    }

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

    /// Reads a non-streamed `chat.completion` body (choice 0). nil when it is not one, or has no
    /// `finish_reason`: an unfinished answer is never cached.
    public init?(chatCompletionJSON body: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            object["object"] as? String == "chat.completion",
            let choices = object["choices"] as? [[String: Any]], let choice = choices.first,
            let finishReason = choice["finish_reason"] as? String,
            let message = choice["message"] as? [String: Any]
        else { return nil }
        self.init(
            model: object["model"] as? String ?? "", content: message["content"] as? String ?? "",
            reasoningContent: message["reasoning_content"] as? String,
            toolCallsJSON: Self.jsonText(message["tool_calls"]), finishReason: finishReason,
            usage: Self.usage(object["usage"]), systemFingerprint: object["system_fingerprint"] as? String)
    }

    static func usage(_ value: Any?) -> Usage? {
        guard let usage = value as? [String: Any], let prompt = usage["prompt_tokens"] as? Int,
            let completion = usage["completion_tokens"] as? Int
        else { return nil }
        return Usage(
            promptTokens: prompt, completionTokens: completion,
            totalTokens: usage["total_tokens"] as? Int ?? prompt + completion)
    }

    static func jsonText(_ value: Any?) -> String? {
        guard let value, !(value is NSNull), JSONSerialization.isValidJSONObject(value),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
