import Foundation

/// A validated chat completion request. The original bytes are what goes upstream; the parsed fields are what
/// Airlock itself reads.
public struct ChatRequest: Sendable {
    public struct Message: Sendable, Equatable {
        public var role: String
        /// `string`, an array of content parts, or `null` (assistant messages with tool calls).
        public var content: JSONValue
        /// The text of the message: the string, or the text parts joined by newlines.
        public var text: String {
            switch content {
            case .string(let text): return text
            case .array(let parts):
                return parts.compactMap { part in part["type"]?.stringValue == "text" ? part["text"]?.stringValue : nil }
                    .joined(separator: "\n")
            default: return ""
            }
        }
    }

    public let body: [String: JSONValue]
    public let model: String
    public let messages: [Message]
    public let stream: Bool
    public let includeUsage: Bool

    static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool", "function"]

    /// Parses and validates; every failure is a client error naming the offending parameter.
    public static func parse(_ bytes: [UInt8]) throws(AirlockHTTPError) -> ChatRequest {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw .invalidRequest(
                "We could not parse the JSON body of your request. Send a JSON object with 'model' and 'messages'.",
                param: nil, code: "invalid_json")
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
        var messages: [Message] = []
        messages.reserveCapacity(rawMessages.count)
        for (index, raw) in rawMessages.enumerated() {
            guard case .object(let message) = raw else {
                throw .invalidRequest(
                    "Invalid type for 'messages[\(index)]': expected an object, but got \(raw.typeName).",
                    param: "messages[\(index)]", code: "invalid_type")
            }
            guard case .string(let role)? = message["role"], roles.contains(role) else {
                throw .invalidRequest(
                    "Invalid 'messages[\(index)].role': expected one of \(roles.sorted().joined(separator: ", ")).",
                    param: "messages[\(index)].role", code: "invalid_value")
            }
            let content = message["content"] ?? .null
            switch content {
            case .string, .array, .null: break
            default:
                throw .invalidRequest(
                    "Invalid type for 'messages[\(index)].content': expected a string or an array of content parts, but got \(content.typeName).",
                    param: "messages[\(index)].content", code: "invalid_type")
            }
            messages.append(Message(role: role, content: content))
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
        let includeUsage = body["stream_options"]?["include_usage"]?.boolValue ?? false
        return ChatRequest(body: body, model: model, messages: messages, stream: stream, includeUsage: includeUsage)
    }
}
