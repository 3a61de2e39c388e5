import ChatWire
/// A chat completion request, validated the way Qwen's compatible mode validates it.
struct ChatRequest: Sendable, Equatable {
    struct Message: Sendable, Equatable {
        var role: String
        /// Text of the message; content parts are joined, non-text parts ignored.
        var text: String
    }

    var model: String
    var messages: [Message]
    var stream: Bool
    var includeUsage: Bool
    var enableThinking: Bool
    var thinkingBudget: Int?
    var maxTokens: Int?
    var choiceCount: Int

    /// Text of the last `user` message, as sent (fault markers included).
    var lastUserText: String? {
        messages.last(where: { $0.role == "user" })?.text
    }

    static let roles: Set<String> = ["system", "user", "assistant", "tool", "function"]

    /// Parses and validates a request body. Unknown models are not checked here: Qwen answers them with 404 only
    /// after the body is known to be well formed.
    static func parse(_ body: some Collection<UInt8>) -> Result<ChatRequest, QwenAPIError> {
        guard let json = try? JSONValue.parse(Array(body)), case .object = json else {
            return .failure(.invalidParameter("The request body is not valid JSON."))
        }

        guard let modelValue = json["model"], !modelValue.isNull else {
            return .failure(.invalidParameter("Model not specified.", param: "model"))
        }
        guard let model = modelValue.stringValue, !model.isEmpty else {
            return .failure(.invalidParameter("The `model` field must be a non-empty string.", param: "model"))
        }

        guard let messagesValue = json["messages"], !messagesValue.isNull else {
            return .failure(.invalidParameter("Field required: input.messages", param: "messages"))
        }
        guard let rawMessages = messagesValue.arrayValue else {
            return .failure(.invalidParameter("The `messages` field must be an array.", param: "messages"))
        }
        guard !rawMessages.isEmpty else {
            return .failure(.invalidParameter("The `messages` field must not be empty.", param: "messages"))
        }
        var messages: [Message] = []
        messages.reserveCapacity(rawMessages.count)
        for (index, raw) in rawMessages.enumerated() {
            switch parseMessage(raw, index: index) {
            case .success(let message): messages.append(message)
            case .failure(let error): return .failure(error)
            }
        }

        let stream: Bool
        switch optionalBool(json["stream"], name: "stream") {
        case .success(let value): stream = value ?? false
        case .failure(let error): return .failure(error)
        }

        var includeUsage = false
        if let options = json["stream_options"], !options.isNull {
            guard case .object = options else {
                return .failure(
                    .invalidParameter("The `stream_options` field must be an object.", param: "stream_options"))
            }
            switch optionalBool(options["include_usage"], name: "stream_options.include_usage") {
            case .success(let value): includeUsage = value ?? false
            case .failure(let error): return .failure(error)
            }
        }

        let enableThinking: Bool
        switch optionalBool(json["enable_thinking"], name: "enable_thinking") {
        case .success(let value): enableThinking = value ?? false
        case .failure(let error): return .failure(error)
        }
        if enableThinking && !stream {
            return .failure(
                .invalidParameter(
                    "parameter.enable_thinking must be set to false for non-streaming calls", param: "enable_thinking"))
        }

        let thinkingBudget: Int?
        switch optionalInteger(json["thinking_budget"], name: "thinking_budget", range: 1...Int.max) {
        case .success(let value): thinkingBudget = value
        case .failure(let error): return .failure(error)
        }

        let maxTokens: Int?
        switch optionalInteger(json["max_tokens"], name: "max_tokens", range: 1...Int.max) {
        case .success(let value): maxTokens = value
        case .failure(let error): return .failure(error)
        }

        let choiceCount: Int
        switch optionalInteger(json["n"], name: "n", range: 1...4) {
        case .success(let value): choiceCount = value ?? 1
        case .failure(let error): return .failure(error)
        }

        if let failure = checkRange(
            json["temperature"], name: "temperature", accepts: { $0 >= 0 && $0 < 2 }, shown: "[0.0, 2.0)")
            ?? checkRange(json["top_p"], name: "top_p", accepts: { $0 > 0 && $0 <= 1 }, shown: "(0.0, 1.0]")
        {
            return .failure(failure)
        }

        return .success(
            ChatRequest(
                model: model, messages: messages, stream: stream, includeUsage: includeUsage,
                enableThinking: enableThinking, thinkingBudget: thinkingBudget, maxTokens: maxTokens,
                choiceCount: choiceCount))
    }

    private static func parseMessage(_ raw: JSONValue, index: Int) -> Result<Message, QwenAPIError> {
        let param = "messages[\(index)]"
        guard case .object = raw else {
            return .failure(.invalidParameter("Each message must be an object.", param: param))
        }
        guard let role = raw["role"]?.stringValue else {
            return .failure(.invalidParameter("Message is missing a string `role`.", param: param + ".role"))
        }
        guard roles.contains(role) else {
            return .failure(
                .invalidParameter(
                    "Role must be in [system, user, assistant, tool, function], got `\(role)`.", param: param + ".role")
            )
        }
        switch raw["content"] {
        case .string(let text):
            return .success(Message(role: role, text: text))
        case .array(let parts):
            var texts: [String] = []
            for part in parts {
                if let text = part["text"]?.stringValue {
                    texts.append(text)
                } else if part.stringValue == nil, case .object = part {
                    continue  // images, audio…: not text, not an error
                } else {
                    return .failure(.invalidParameter("Invalid content part.", param: param + ".content"))
                }
            }
            return .success(Message(role: role, text: texts.joined(separator: "\n")))
        case .none, .null:
            // An assistant turn that only calls tools carries no content.
            guard role == "assistant" else {
                return .failure(.invalidParameter("Message content is required.", param: param + ".content"))
            }
            return .success(Message(role: role, text: ""))
        default:
            return .failure(
                .invalidParameter("Message content must be a string or an array.", param: param + ".content"))
        }
    }

    private static func optionalBool(_ value: JSONValue?, name: String) -> Result<Bool?, QwenAPIError> {
        guard let value, !value.isNull else { return .success(nil) }
        guard let bool = value.boolValue else {
            return .failure(.invalidParameter("The `\(name)` field must be a boolean.", param: name))
        }
        return .success(bool)
    }

    private static func optionalInteger(
        _ value: JSONValue?, name: String, range: ClosedRange<Int>
    ) -> Result<Int?, QwenAPIError> {
        guard let value, !value.isNull else { return .success(nil) }
        guard let integer = value.integerValue else {
            return .failure(.invalidParameter("The `\(name)` field must be an integer.", param: name))
        }
        guard range.contains(integer) else {
            let upper = range.upperBound == Int.max ? "" : String(range.upperBound)
            return .failure(
                .invalidParameter("Range of \(name) should be [\(range.lowerBound), \(upper)]", param: name))
        }
        return .success(integer)
    }

    private static func checkRange(
        _ value: JSONValue?, name: String, accepts: (Double) -> Bool, shown: String
    ) -> QwenAPIError? {
        guard let value, !value.isNull else { return nil }
        guard let number = value.doubleValue else {
            return .invalidParameter("The `\(name)` field must be a number.", param: name)
        }
        return accepts(number) ? nil : .invalidParameter("Range of \(name) should be \(shown)", param: name)
    }
}
