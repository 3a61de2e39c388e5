#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One answer, decided before the first byte is written: its tokens, how it ends and what it costs.
struct ChatCompletion: Sendable {
    struct Choice: Sendable {
        var reasoning: [String]
        var content: [String]
        var finishReason: String
    }

    let id: String
    let created: Int
    let model: String
    let choices: [Choice]
    let promptTokens: Int
    let thinking: Bool

    var reasoningTokens: Int { choices.reduce(0) { $0 + $1.reasoning.count } }
    var completionTokens: Int { choices.reduce(0) { $0 + $1.content.count + $1.reasoning.count } }

    /// Composes the answer for `request`, its content taken from `source`; `max_tokens` truncates any of them.
    init(request: ChatRequest, configuration: EmulatorConfiguration, source: AnswerSource) {
        self.id = "chatcmpl-" + UUID().uuidString.lowercased()
        self.created = Int(Date().timeIntervalSince1970)
        self.model = request.model
        self.thinking = request.enableThinking
        self.promptTokens = TokenEstimate.prompt(request.messages)
        let prompt = FaultMarker.stripped(request.lastUserText ?? "")
        let limit = request.maxTokens ?? Int.max
        self.choices = (0..<request.choiceCount).map { index in
            let full: [String]
            switch source {
            case .composed:
                full = AnswerComposer.answerTokens(
                    prompt: prompt, count: max(configuration.answerTokens, 1), choice: index)
            case .refusal:
                full = AnswerComposer.refusalTokens(prompt: prompt)
            case .echo:
                full = EchoAnswer.tokens(of: request.lastUserText ?? "")
            case .guardVerdict(let verdict):
                full = verdict.tokens
            case .piiLeak:
                full = PIILeakAnswer.tokens
            }
            let reasoning =
                request.enableThinking
                ? AnswerComposer.reasoningTokens(
                    prompt: prompt, count: min(request.thinkingBudget ?? 16, 16), choice: index)
                : []
            return Choice(
                reasoning: reasoning,
                content: Array(full.prefix(limit)),
                finishReason: full.count > limit ? "length" : "stop")
        }
    }

    // MARK: Non-streaming body

    /// `{"choices":[…],"object":"chat.completion","usage":{…},"created":…,"system_fingerprint":null,"model":…,"id":…}`
    func responseBody() -> [UInt8] {
        var json = JSONWriter(capacity: 512)
        json.beginObject()
        json.key("choices")
        json.beginArray()
        for (index, choice) in choices.enumerated() {
            json.beginObject()
            json.key("message")
            json.beginObject()
            json.member("role", "assistant")
            json.member("content", choice.content.joined())
            json.endObject()
            json.member("finish_reason", choice.finishReason)
            json.member("index", index)
            json.nullMember("logprobs")
            json.endObject()
        }
        json.endArray()
        json.member("object", "chat.completion")
        json.key("usage")
        writeUsage(into: &json)
        writeTrailer(into: &json)
        json.endObject()
        return json.bytes
    }

    // MARK: Stream events

    /// The first event of each choice: `{"content":"","role":"assistant"}` (plus an empty `reasoning_content` when
    /// thinking).
    func roleEvent(choice: Int) -> [UInt8] {
        chunkEvent(choice: choice) { json in
            json.member("content", "")
            json.member("role", "assistant")
            if thinking { json.member("reasoning_content", "") }
        }
    }

    func reasoningEvent(choice: Int, token: String) -> [UInt8] {
        chunkEvent(choice: choice) { json in
            json.member("content", nil)
            json.member("reasoning_content", token)
        }
    }

    func contentEvent(choice: Int, token: String) -> [UInt8] {
        chunkEvent(choice: choice) { json in
            json.member("content", token)
            if thinking { json.member("reasoning_content", nil) }
        }
    }

    func finishEvent(choice: Int) -> [UInt8] {
        chunkEvent(choice: choice, finishReason: choices[choice].finishReason) { json in
            json.member("content", "")
        }
    }

    /// The `include_usage` chunk: no choices, the usage of the whole answer.
    func usageEvent() -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.key("choices")
        json.beginArray()
        json.endArray()
        json.member("object", "chat.completion.chunk")
        json.key("usage")
        writeUsage(into: &json)
        writeTrailer(into: &json)
        json.endObject()
        return Self.event(json.bytes)
    }

    static func errorEvent(_ error: QwenAPIError, requestID: String) -> [UInt8] {
        event(error.body(requestID: requestID))
    }

    static let doneEvent: [UInt8] = Array("data: [DONE]\n\n".utf8)

    static func event(_ json: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(json.count + 8)
        bytes.append(contentsOf: "data: ".utf8)
        bytes.append(contentsOf: json)
        bytes.append(contentsOf: "\n\n".utf8)
        return bytes
    }

    private func chunkEvent(
        choice: Int, finishReason: String? = nil, delta: (inout JSONWriter) -> Void
    ) -> [UInt8] {
        var json = JSONWriter(capacity: 320)
        json.beginObject()
        json.key("choices")
        json.beginArray()
        json.beginObject()
        json.key("delta")
        json.beginObject()
        delta(&json)
        json.endObject()
        json.member("finish_reason", finishReason)
        json.member("index", choice)
        json.nullMember("logprobs")
        json.endObject()
        json.endArray()
        json.member("object", "chat.completion.chunk")
        json.nullMember("usage")
        writeTrailer(into: &json)
        json.endObject()
        return Self.event(json.bytes)
    }

    private func writeUsage(into json: inout JSONWriter) {
        json.beginObject()
        json.member("prompt_tokens", promptTokens)
        json.member("completion_tokens", completionTokens)
        json.member("total_tokens", promptTokens + completionTokens)
        if thinking {
            json.key("completion_tokens_details")
            json.beginObject()
            json.member("reasoning_tokens", reasoningTokens)
            json.endObject()
        }
        json.key("prompt_tokens_details")
        json.beginObject()
        json.member("cached_tokens", 0)
        json.endObject()
        json.endObject()
    }

    private func writeTrailer(into json: inout JSONWriter) {
        json.member("created", created)
        json.nullMember("system_fingerprint")
        json.member("model", model)
        json.member("id", id)
    }
}
