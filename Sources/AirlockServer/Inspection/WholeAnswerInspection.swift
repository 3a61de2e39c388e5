import ChatWire
import Foundation
import Inspection

/// Output inspection of a whole (non-streamed) chat completion: every choice's `content` and `reasoning_content`
/// through the output patterns, the answer through the model-based rules and refusal detection, then the prompt's
/// placeholders restored for the client.
struct WholeAnswerInspection: Sendable {
    /// The body for the client: rules applied, placeholders restored.
    var clientBody: [UInt8]
    /// The body for the cache: rules applied, placeholders kept (each hit restores its own request's values).
    var storedBody: [UInt8]
    var blockedBy: [String]?
    var refusal: RefusalVerdict?
    var findings: [Finding] = []
    var failures: [RuleFailure] = []

    static let fields = ["content", "reasoning_content"]

    static func inspect(_ body: [UInt8], policy: ChatCompletionsRoute.PromptPolicy) async -> WholeAnswerInspection {
        var result = WholeAnswerInspection(clientBody: body, storedBody: body)
        guard case .object(var completion)? = try? JSONValue.parse(body),
            case .array(var choices)? = completion["choices"]
        else { return result }
        let ruleSet = policy.ruleSet
        var storedChoices = choices
        var changed = false
        var answers: [String] = []
        for (position, rawChoice) in choices.enumerated() {
            guard case .object(var choice) = rawChoice, case .object(var message)? = choice["message"] else { continue }
            var storedMessage = message
            for field in fields {
                guard let text = message[field]?.stringValue, !text.isEmpty else { continue }
                let patterns = ruleSet.inspectOutputPatterns(text: text)
                if field == "content" { answers.append(patterns.text) }
                result.findings += patterns.findings
                result.failures += patterns.failures
                if case .block(let rules) = patterns.decision {
                    result.blockedBy = rules
                    return result
                }
                let restored = policy.tokens.restore(in: patterns.text)
                if patterns.text != text {
                    storedMessage[field] = .string(patterns.text)
                    changed = true
                }
                if restored != text {
                    message[field] = .string(restored)
                    changed = true
                }
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
        completion["choices"] = .array(choices)
        result.clientBody = encode(.object(completion)) ?? body
        completion["choices"] = .array(storedChoices)
        result.storedBody = encode(.object(completion)) ?? body
        return result
    }

    static func encode(_ value: JSONValue) -> [UInt8]? {
        value.encoded()
    }
}
