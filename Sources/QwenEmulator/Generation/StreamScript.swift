/// The order of a stream's events, decided up front as small descriptors; each event's bytes are rendered only when
/// it is about to be written, so the answer is never held as one buffer.
struct StreamScript: Sendable {
    enum Step: Sendable, Equatable {
        case role(choice: Int)
        case reasoning(choice: Int, position: Int)
        case content(choice: Int, position: Int)
        case finish(choice: Int)
        case usage
        case done
        /// `data: {"error":{…}}` in the middle of a 200 stream.
        case errorEvent(QwenAPIError)
        /// An event whose data is not JSON.
        case malformedEvent
        /// Close the connection without ending the body.
        case disconnect
    }

    /// How the stream ends.
    enum Ending: Sendable, Equatable {
        case normal
        /// After `afterTokens` content positions, an error event and the end of the body, no `[DONE]`.
        case errorEvent(QwenAPIError, afterTokens: Int)
        /// After `afterTokens` content positions, the connection is closed.
        case disconnect(afterTokens: Int)
        /// After `afterTokens` content positions, a non-JSON event, then `[DONE]`.
        case malformed(afterTokens: Int)
    }

    private(set) var steps: [Step] = []

    init(completion: ChatCompletion, includeUsage: Bool, ending: Ending) {
        let choices = completion.choices
        for choice in choices.indices { steps.append(.role(choice: choice)) }

        let longestReasoning = choices.map(\.reasoning.count).max() ?? 0
        for position in 0..<longestReasoning {
            for (index, choice) in choices.enumerated() where position < choice.reasoning.count {
                steps.append(.reasoning(choice: index, position: position))
            }
        }

        let longestContent = choices.map(\.content.count).max() ?? 0
        let cut = Self.cut(ending, longestContent: longestContent)
        for position in 0..<longestContent {
            if let cut, cut.position == position { break }
            for (index, choice) in choices.enumerated() where position < choice.content.count {
                steps.append(.content(choice: index, position: position))
            }
        }
        if let cut {
            steps.append(contentsOf: cut.steps)
            return
        }

        for choice in choices.indices { steps.append(.finish(choice: choice)) }
        if includeUsage { steps.append(.usage) }
        steps.append(.done)
    }

    /// Where an early ending cuts the content (never past its end) and what it writes there.
    private static func cut(_ ending: Ending, longestContent: Int) -> (position: Int, steps: [Step])? {
        switch ending {
        case .normal:
            return nil
        case .errorEvent(let error, let after):
            return (min(after, longestContent), [.errorEvent(error)])
        case .disconnect(let after):
            return (min(after, longestContent), [.disconnect])
        case .malformed(let after):
            return (min(after, longestContent), [.malformedEvent, .done])
        }
    }

    /// Whether writing this step should wait one token interval first.
    static func isPaced(_ step: Step) -> Bool {
        switch step {
        case .reasoning(let choice, _), .content(let choice, _): return choice == 0
        default: return false
        }
    }

    static let malformedEventBytes: [UInt8] = Array("data: {not json\n\n".utf8)
}
