/// A validated chat completion request: what Airlock inspects, keys the cache on and sends upstream are this one
/// parsed value (the body is encoded from it, never forwarded as bytes Airlock did not read). Anything Airlock does not
/// understand is refused here with a 400 that names it.
public struct ChatRequest: Sendable {
    public struct Message: Sendable, Equatable {
        public var role: String
        /// `string`, an array of content parts, or `null` (assistant messages with tool calls).
        public var content: JSONValue
        /// The message's other fields (`name`, `tool_calls`, `tool_call_id`, …), as sent.
        public var fields: [String: JSONValue] = [:]

        /// The text of the message: the string, or every text part (typed or not) joined by newlines.
        public var text: String {
            switch content {
            case .string(let text): return text
            case .array(let parts):
                return parts.compactMap(ContentPart.text(of:)).joined(separator: "\n")
            default: return ""
            }
        }

        /// The message as JSON: its fields with `content` (the form that goes upstream and into the cache key).
        public var json: JSONValue {
            var object = fields
            object["role"] = .string(role)
            object["content"] = content
            return .object(object)
        }
    }

    public let body: [String: JSONValue]
    public let model: String
    public let messages: [Message]
    public let stream: Bool
    public let includeUsage: Bool

    static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool", "function"]

    /// What one request may hold; past these it is refused with a 400 that names the limit.
    public struct Limits: Sendable, Equatable {
        /// UTF-8 bytes of `model`.
        public var maxModelLength: Int
        public var maxMessages: Int
        /// Content parts across all messages.
        public var maxContentParts: Int

        public init(maxModelLength: Int = 128, maxMessages: Int = 2048, maxContentParts: Int = 1024) {
            self.maxModelLength = maxModelLength
            self.maxMessages = maxMessages
            self.maxContentParts = maxContentParts
        }
    }

    /// Parses and validates; every failure is a client error naming the offending parameter.
    public static func parse(_ bytes: [UInt8], limits: Limits = Limits()) throws(ChatRequestError) -> ChatRequest {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            switch error.kind {
            case .duplicateKey:
                throw .invalidRequest(
                    "The key '\(error.path)' appears more than once in the request body. Send each key once.",
                    param: error.path, code: "duplicate_key")
            case .tooDeep:
                throw .invalidRequest(
                    "The request body is nested too deeply (\(error.description)).", param: error.path.isEmpty ? nil : error.path,
                    code: "invalid_json")
            case .malformed:
                throw .invalidRequest(
                    "We could not parse the JSON body of your request (\(error.description)). Send a JSON object with "
                        + "'model' and 'messages'.", param: nil, code: "invalid_json")
            }
        }
        guard case .object(let body) = value else {
            throw .invalidRequest("The request body must be a JSON object.", param: nil, code: "invalid_json")
        }
        guard let modelValue = body["model"], modelValue != .null else {
            throw .invalidRequest("you must provide a model parameter", param: "model", code: "missing_required_parameter")
        }
        guard case .string(let model) = modelValue, !model.isEmpty else {
            throw .invalidRequest(
                "Invalid type for 'model': expected a non-empty string, but got \(modelValue.typeName).", param: "model",
                code: "invalid_type")
        }
        // The model name reaches log lines, the ledger, metrics labels and Redis keys: bounded and printable.
        guard model.utf8.count <= limits.maxModelLength else {
            throw .invalidRequest(
                "Invalid 'model': longer than \(limits.maxModelLength) bytes.", param: "model", code: "string_above_max_length")
        }
        guard !model.unicodeScalars.contains(where: Self.isUnprintable) else {
            throw .invalidRequest(
                "Invalid 'model': it contains control or line-separator characters.", param: "model", code: "invalid_value")
        }
        guard let messagesValue = body["messages"], messagesValue != .null else {
            throw .invalidRequest(
                "Missing required parameter: 'messages'.", param: "messages", code: "missing_required_parameter")
        }
        guard case .array(let rawMessages) = messagesValue else {
            throw .invalidRequest(
                "Invalid type for 'messages': expected an array, but got \(messagesValue.typeName).", param: "messages",
                code: "invalid_type")
        }
        guard !rawMessages.isEmpty else {
            throw .invalidRequest(
                "Invalid 'messages': empty array. Expected an array with minimum length 1.", param: "messages",
                code: "empty_array")
        }
        guard rawMessages.count <= limits.maxMessages else {
            throw .invalidRequest(
                "Invalid 'messages': \(rawMessages.count) messages; at most \(limits.maxMessages) are accepted.",
                param: "messages", code: "array_above_max_length")
        }
        var partCount = 0
        var messages: [Message] = []
        messages.reserveCapacity(rawMessages.count)
        for (index, raw) in rawMessages.enumerated() {
            guard case .object(var message) = raw else {
                throw .invalidRequest(
                    "Invalid type for 'messages[\(index)]': expected an object, but got \(raw.typeName).",
                    param: "messages[\(index)]", code: "invalid_type")
            }
            guard case .string(let role)? = message.removeValue(forKey: "role"), roles.contains(role) else {
                throw .invalidRequest(
                    "Invalid 'messages[\(index)].role': expected one of \(roles.sorted().joined(separator: ", ")).",
                    param: "messages[\(index)].role", code: "invalid_value")
            }
            let content = message.removeValue(forKey: "content") ?? .null
            switch content {
            case .string, .null: break
            case .array(let parts):
                partCount += parts.count
                guard partCount <= limits.maxContentParts else {
                    throw .invalidRequest(
                        "Invalid 'messages[\(index)].content': more than \(limits.maxContentParts) content parts in the request.",
                        param: "messages[\(index)].content", code: "array_above_max_length")
                }
                for (position, part) in parts.enumerated() {
                    try ContentPart.validate(part, param: "messages[\(index)].content[\(position)]")
                }
            default:
                throw .invalidRequest(
                    "Invalid type for 'messages[\(index)].content': expected a string or an array of content parts, but got \(content.typeName).",
                    param: "messages[\(index)].content", code: "invalid_type")
            }
            try ToolCalls.validate(message, param: "messages[\(index)]")
            messages.append(Message(role: role, content: content, fields: message))
        }
        var stream = false
        if let streamValue = body["stream"], streamValue != .null {
            guard case .bool(let flag) = streamValue else {
                throw .invalidRequest(
                    "Invalid type for 'stream': expected a boolean, but got \(streamValue.typeName).", param: "stream",
                    code: "invalid_type")
            }
            stream = flag
        }
        let includeUsage = try streamOptions(body["stream_options"])
        return ChatRequest(body: body, model: model, messages: messages, stream: stream, includeUsage: includeUsage)
    }

    /// `stream_options`: null, or an object whose only key is `include_usage` (a boolean). Airlock rewrites it for the
    /// upstream (see `encodedBody`), so anything else in it would be dropped unseen: refused instead.
    static func streamOptions(_ value: JSONValue?) throws(ChatRequestError) -> Bool {
        guard let value, value != .null else { return false }
        guard case .object(let options) = value else {
            throw .invalidRequest(
                "Invalid type for 'stream_options': expected an object, but got \(value.typeName).",
                param: "stream_options", code: "invalid_type")
        }
        for key in options.keys.sorted() where key != "include_usage" {
            throw .invalidRequest(
                "Unrecognized request argument supplied: stream_options.\(key)", param: "stream_options.\(key)",
                code: "unknown_parameter")
        }
        guard let flag = options["include_usage"], flag != .null else { return false }
        guard case .bool(let include) = flag else {
            throw .invalidRequest(
                "Invalid type for 'stream_options.include_usage': expected a boolean, but got \(flag.typeName).",
                param: "stream_options.include_usage", code: "invalid_type")
        }
        return include
    }

    static func isUnprintable(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    public init(body: [String: JSONValue], model: String, messages: [Message], stream: Bool, includeUsage: Bool) {
        self.body = body
        self.model = model
        self.messages = messages
        self.stream = stream
        self.includeUsage = includeUsage
    }

    /// The request as it goes upstream: the parsed body, with `messages` written from the parsed messages (and
    /// `model` replaced, for a fallback that serves another model). A stream always asks for usage
    /// (`stream_options.include_usage`), so every answer is counted in tokens and money; the usage chunk is taken
    /// out again for a client that did not ask for it.
    public func encodedBody(model replacement: String? = nil) -> [UInt8] {
        var object = body
        object["messages"] = .array(messages.map(\.json))
        if stream { object["stream_options"] = .object(["include_usage": .bool(true)]) }
        if let replacement { object["model"] = .string(replacement) }
        return JSONValue.object(object).encoded()
    }
}

/// The content parts Airlock understands: OpenAI's and Qwen's compatible mode's typed parts, and Qwen's native form
/// that names its kind by key instead of `type` (`{"text": …}`, `{"image": …}`). Any other part is refused, never
/// passed around the checks.
public enum ContentPart {
    /// `type` values understood; `text` is read and inspected, the others are media (keyed by content, not read).
    static let types: Set<String> = ["text", "image_url", "input_audio", "video", "video_url", "file", "image", "audio"]
    /// Keys that name an untyped part's kind.
    static let untypedKinds = ["text", "image", "video", "audio"]

    /// The text of a text part (typed or untyped); nil for any other part.
    public static func text(of part: JSONValue) -> String? {
        guard case .object(let object) = part else { return nil }
        if let type = object["type"] {
            return type == .string("text") ? object["text"]?.stringValue : nil
        }
        return object["text"]?.stringValue
    }

    static func validate(_ part: JSONValue, param: String) throws(ChatRequestError) {
        guard case .object(let object) = part else {
            throw .invalidRequest(
                "Invalid type for '\(param)': expected a content part object, but got \(part.typeName).", param: param,
                code: "invalid_type")
        }
        if let typeValue = object["type"] {
            guard case .string(let type) = typeValue else {
                throw .invalidRequest(
                    "Invalid type for '\(param).type': expected a string.", param: param + ".type", code: "invalid_type")
            }
            guard types.contains(type) else {
                throw .invalidRequest(
                    "Airlock does not understand content parts of type '\(type)' ('\(param)'); it accepts "
                        + types.sorted().joined(separator: ", ") + ".", param: param + ".type",
                    code: "unsupported_content_part")
            }
            if type == "text" {
                guard case .string? = object["text"] else {
                    throw .invalidRequest(
                        "Invalid '\(param).text': a text part needs a string 'text'.", param: param + ".text",
                        code: "invalid_type")
                }
            }
            return
        }
        let kinds = untypedKinds.filter { object[$0] != nil }
        guard kinds.count == 1 else {
            throw .invalidRequest(
                "Airlock does not understand the content part '\(param)': give it a 'type', or exactly one of "
                    + untypedKinds.joined(separator: ", ") + ".", param: param, code: "unsupported_content_part")
        }
        if kinds[0] == "text", object["text"]?.stringValue == nil {
            throw .invalidRequest(
                "Invalid '\(param).text': a text part needs a string 'text'.", param: param + ".text", code: "invalid_type")
        }
    }
}

/// Tool calls in the history (`tool_calls`, and the older single `function_call`): the model reads their arguments,
/// so they are inspected like content, and they must have the shape OpenAI documents (arguments a JSON text in a
/// string) or the request is refused.
public enum ToolCalls {
    static func validate(_ message: [String: JSONValue], param: String) throws(ChatRequestError) {
        if let calls = message["tool_calls"], calls != .null {
            guard case .array(let list) = calls else {
                throw .invalidRequest(
                    "Invalid type for '\(param).tool_calls': expected an array, but got \(calls.typeName).",
                    param: param + ".tool_calls", code: "invalid_type")
            }
            for (position, call) in list.enumerated() {
                let callParam = "\(param).tool_calls[\(position)]"
                guard case .object(let object) = call else {
                    throw .invalidRequest(
                        "Invalid type for '\(callParam)': expected an object, but got \(call.typeName).", param: callParam,
                        code: "invalid_type")
                }
                if let type = object["type"], type != .string("function") {
                    throw .invalidRequest(
                        "Airlock does not understand tool calls of type \(type.canonicalText) ('\(callParam).type'); it "
                            + "accepts 'function'.", param: callParam + ".type", code: "unsupported_tool_call")
                }
                try validateFunction(object["function"], param: callParam + ".function")
            }
        }
        if let call = message["function_call"], call != .null {
            try validateFunction(call, param: param + ".function_call")
        }
    }

    private static func validateFunction(_ value: JSONValue?, param: String) throws(ChatRequestError) {
        guard case .object(let function)? = value else {
            throw .invalidRequest(
                "Invalid '\(param)': expected an object with 'name' and 'arguments'.", param: param, code: "invalid_type")
        }
        if let arguments = function["arguments"], arguments != .null, arguments.stringValue == nil {
            throw .invalidRequest(
                "Invalid type for '\(param).arguments': expected a string (the arguments as JSON text), but got "
                    + "\(arguments.typeName).", param: param + ".arguments", code: "invalid_type")
        }
    }

    /// The arguments text of each tool call of a message, with where it sits (nil index: `function_call`).
    public static func arguments(of message: ChatRequest.Message) -> [(index: Int?, text: String)] {
        var result: [(Int?, String)] = []
        if case .array(let list)? = message.fields["tool_calls"] {
            for (position, call) in list.enumerated() {
                if let text = call["function"]?["arguments"]?.stringValue { result.append((position, text)) }
            }
        }
        if let text = message.fields["function_call"]?["arguments"]?.stringValue { result.append((nil, text)) }
        return result
    }
}

/// Why a request body is not a chat request Airlock accepts: an OpenAI-style 400 `invalid_request_error` naming the
/// parameter and a code.
public struct ChatRequestError: Error, Sendable, Equatable {
    public var message: String
    public var param: String?
    public var code: String

    public init(message: String, param: String?, code: String) {
        self.message = message
        self.param = param
        self.code = code
    }

    static func invalidRequest(_ message: String, param: String?, code: String) -> ChatRequestError {
        ChatRequestError(message: message, param: param, code: code)
    }
}
