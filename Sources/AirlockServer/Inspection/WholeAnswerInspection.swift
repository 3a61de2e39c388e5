import ChatWire
import Foundation
import Inspection
import SemanticCache

/// Output inspection of a whole (non-streamed) chat completion, parsed once: every choice's `content`,
/// `reasoning_content` and tool-call arguments through the output patterns, the answer through the model-based rules
/// and refusal detection, then the prompt's placeholders restored for the client (in tool-call arguments too).
struct WholeAnswerInspection: Sendable {
    /// The body for the client: rules applied, placeholders restored.
    var clientBody: [UInt8]
    /// The completion for the cache: rules applied, placeholders kept (each hit restores its own request's values).
    var stored: [String: JSONValue]
    var blockedBy: [String]?
    var refusal: RefusalVerdict?
    var findings: [Finding] = []
    var failures: [RuleFailure] = []

    static let fields = ["content", "reasoning_content"]

    static func inspect(_ completion: [String: JSONValue], body: [UInt8], policy: ChatCompletionsRoute.PromptPolicy)
        async -> WholeAnswerInspection
    {
        var result = WholeAnswerInspection(clientBody: body, stored: completion)
        guard case .array(var choices)? = completion["choices"] else { return result }
        let ruleSet = policy.ruleSet
        var storedChoices = choices
        var changed = false
        var answers: [String] = []
        /// One text through the output patterns: (for the client, for the cache), or nil when a rule blocked.
        func check(_ text: String) -> (client: String, kept: String)? {
            let patterns = ruleSet.inspectOutputPatterns(text: text)
            result.findings += patterns.findings
            result.failures += patterns.failures
            if case .block(let rules) = patterns.decision {
                result.blockedBy = rules
                return nil
            }
            return (policy.tokens.restore(in: patterns.text), patterns.text)
        }
        for (position, rawChoice) in choices.enumerated() {
            guard case .object(var choice) = rawChoice, case .object(var message)? = choice["message"] else { continue }
            var storedMessage = message
            for field in fields {
                guard let text = message[field]?.stringValue, !text.isEmpty else { continue }
                guard let (client, kept) = check(text) else { return result }
                if field == "content" { answers.append(kept) }
                if kept != text {
                    storedMessage[field] = .string(kept)
                    changed = true
                }
                if client != text {
                    message[field] = .string(client)
                    changed = true
                }
            }
            if case .array(var calls)? = message["tool_calls"] {
                var storedCalls = calls
                for (index, rawCall) in calls.enumerated() {
                    guard case .object(var call) = rawCall, case .object(var function)? = call["function"],
                        let arguments = function["arguments"]?.stringValue, !arguments.isEmpty
                    else { continue }
                    guard let (client, kept) = check(arguments) else { return result }
                    if kept != arguments, case .object(var storedCall) = storedCalls[index],
                        case .object(var storedFunction)? = storedCall["function"]
                    {
                        storedFunction["arguments"] = .string(kept)
                        storedCall["function"] = .object(storedFunction)
                        storedCalls[index] = .object(storedCall)
                        changed = true
                    }
                    if client != arguments {
                        function["arguments"] = .string(client)
                        call["function"] = .object(function)
                        calls[index] = .object(call)
                        changed = true
                    }
                }
                message["tool_calls"] = .array(calls)
                storedMessage["tool_calls"] = .array(storedCalls)
            }
            choice["message"] = .object(message)
            choices[position] = .object(choice)
            if case .object(var storedChoice) = storedChoices[position] {
                storedChoice["message"] = .object(storedMessage)
                storedChoices[position] = .object(storedChoice)
            }
        }
        // Model-based rules and refusal detection read the answer with the output rules applied and the placeholders
        // kept: a guard or remote embedder never receives the prompt's values.
        for answer in answers {
            let models = await ruleSet.inspectOutputModels(text: answer, prompt: policy.messages)
            result.findings += models.findings
            result.failures += models.failures
            if case .block(let rules) = models.decision {
                result.blockedBy = rules
                return result
            }
            if result.refusal == nil { result.refusal = models.refusal }
        }
        guard changed else { return result }
        var client = completion
        client["choices"] = .array(choices)
        result.clientBody = JSONValue.object(client).encoded()
        result.stored["choices"] = .array(storedChoices)
        return result
    }
}

extension CachedCompletion {
    /// A copy with the request's values put back for its placeholders (content, reasoning, tool-call arguments).
    func restoring(_ tokens: TokenizationMap) -> CachedCompletion {
        guard !tokens.isEmpty else { return self }
        var copy = self
        copy.content = tokens.restore(in: content)
        copy.reasoningContent = reasoningContent.map { tokens.restore(in: $0) }
        if let text = toolCallsJSON, case .array(var calls)? = try? JSONValue.parse(Array(text.utf8)) {
            for (index, rawCall) in calls.enumerated() {
                guard case .object(var call) = rawCall, case .object(var function)? = call["function"],
                    let arguments = function["arguments"]?.stringValue
                else { continue }
                function["arguments"] = .string(tokens.restore(in: arguments))
                call["function"] = .object(function)
                calls[index] = .object(call)
            }
            copy.toolCallsJSON = JSONValue.array(calls).canonicalText
        }
        return copy
    }
}
