import ChatWire
import Inspection

/// Where one inspected text sits in a chat request: a message's string content, one text part of it, or the arguments
/// of one of its tool calls.
struct PromptTextSource: Sendable, Equatable {
    enum Location: Sendable, Equatable {
        case content
        /// The index in the content array.
        case part(Int)
        /// The index in `tool_calls`.
        case toolCallArguments(Int)
        /// The older single `function_call`.
        case functionCallArguments
    }

    var message: Int
    var location: Location
}

extension ChatRequest {
    /// Every text the model will read, one per string content, text part and tool-call arguments, each with its
    /// message's role, and where each came from (for `replacingTexts`).
    func inspectedTexts() -> (messages: [InspectedMessage], sources: [PromptTextSource]) {
        var texts: [InspectedMessage] = []
        var sources: [PromptTextSource] = []
        for (index, message) in messages.enumerated() {
            switch message.content {
            case .string(let text):
                texts.append(InspectedMessage(role: message.role, content: text))
                sources.append(PromptTextSource(message: index, location: .content))
            case .array(let parts):
                for (partIndex, part) in parts.enumerated() {
                    guard let text = ContentPart.text(of: part) else { continue }
                    texts.append(InspectedMessage(role: message.role, content: text))
                    sources.append(PromptTextSource(message: index, location: .part(partIndex)))
                }
            default:
                break
            }
            for (call, arguments) in ToolCalls.arguments(of: message) {
                texts.append(InspectedMessage(role: message.role, content: arguments))
                sources.append(
                    PromptTextSource(message: index, location: call.map { .toolCallArguments($0) } ?? .functionCallArguments))
            }
        }
        return (texts, sources)
    }

    /// A copy whose inspected texts are `texts` (in the order of `inspectedTexts()`); everything else is kept.
    func replacingTexts(_ texts: [InspectedMessage], sources: [PromptTextSource]) -> ChatRequest {
        var newMessages = messages
        for (text, source) in zip(texts, sources) where newMessages.indices.contains(source.message) {
            var message = newMessages[source.message]
            switch source.location {
            case .content:
                message.content = .string(text.content)
            case .part(let part):
                guard case .array(var parts) = message.content, parts.indices.contains(part),
                    case .object(var object) = parts[part]
                else { continue }
                object["text"] = .string(text.content)
                parts[part] = .object(object)
                message.content = .array(parts)
            case .toolCallArguments(let call):
                guard case .array(var calls)? = message.fields["tool_calls"], calls.indices.contains(call),
                    case .object(var object) = calls[call], case .object(var function)? = object["function"]
                else { continue }
                function["arguments"] = .string(text.content)
                object["function"] = .object(function)
                calls[call] = .object(object)
                message.fields["tool_calls"] = .array(calls)
            case .functionCallArguments:
                guard case .object(var function)? = message.fields["function_call"] else { continue }
                function["arguments"] = .string(text.content)
                message.fields["function_call"] = .object(function)
            }
            newMessages[source.message] = message
        }
        return ChatRequest(body: body, model: model, messages: newMessages, stream: stream, includeUsage: includeUsage)
    }
}
