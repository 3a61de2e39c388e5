import ChatWire
import Inspection

/// Where one inspected text sits in a chat request: a message's string content, or one text part of it.
struct PromptTextSource: Sendable, Equatable {
    var message: Int
    /// The index in the content array; nil for string content.
    var part: Int?
}

extension ChatRequest {
    /// The texts inspection reads, one per string content or text part, each with its message's role, and where each
    /// came from (for `replacingTexts`).
    func inspectedTexts() -> (messages: [InspectedMessage], sources: [PromptTextSource]) {
        var texts: [InspectedMessage] = []
        var sources: [PromptTextSource] = []
        for (index, message) in messages.enumerated() {
            switch message.content {
            case .string(let text):
                texts.append(InspectedMessage(role: message.role, content: text))
                sources.append(PromptTextSource(message: index, part: nil))
            case .array(let parts):
                for (partIndex, part) in parts.enumerated() {
                    guard let text = ContentPart.text(of: part) else { continue }
                    texts.append(InspectedMessage(role: message.role, content: text))
                    sources.append(PromptTextSource(message: index, part: partIndex))
                }
            default:
                continue
            }
        }
        return (texts, sources)
    }

    /// A copy whose inspected texts are `texts` (in the order of `inspectedTexts()`); everything else is kept.
    func replacingTexts(_ texts: [InspectedMessage], sources: [PromptTextSource]) -> ChatRequest {
        var newMessages = messages
        for (text, source) in zip(texts, sources) where newMessages.indices.contains(source.message) {
            if let part = source.part {
                guard case .array(var parts) = newMessages[source.message].content, parts.indices.contains(part),
                    case .object(var object) = parts[part]
                else { continue }
                object["text"] = .string(text.content)
                parts[part] = .object(object)
                newMessages[source.message].content = .array(parts)
            } else {
                newMessages[source.message].content = .string(text.content)
            }
        }
        return ChatRequest(body: body, model: model, messages: newMessages, stream: stream, includeUsage: includeUsage)
    }
}
