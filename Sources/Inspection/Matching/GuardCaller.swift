import ChatWire
import Foundation
import Upstream

/// What a Qwen3Guard-Gen model answered.
public struct GuardVerdict: Sendable, Hashable {
    /// `Safe`, `Unsafe` or `Controversial`.
    public var safety: String
    public var categories: [String]
    /// Present when an answer was judged (`[user, assistant]`).
    public var refusal: Bool?

    public init(safety: String, categories: [String], refusal: Bool?) {
        self.safety = safety
        self.categories = categories
        self.refusal = refusal
    }

    /// Parses the model's text: `Safety: …`, `Categories: …|None`, and for answers `Refusal: Yes|No`.
    public static func parse(_ text: String) -> GuardVerdict? {
        var safety: String?
        var categories: [String] = []
        var refusal: Bool?
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "safety":
                guard ["safe", "unsafe", "controversial"].contains(value.lowercased()) else { return nil }
                safety = value.prefix(1).uppercased() + value.dropFirst().lowercased()
            case "categories", "category":
                if value.lowercased() != "none" {
                    categories = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                        .filter { !$0.isEmpty }
                }
            case "refusal":
                switch value.lowercased() {
                case "yes": refusal = true
                case "no": refusal = false
                default: return nil
                }
            default:
                continue
            }
        }
        guard let safety else { return nil }
        return GuardVerdict(safety: safety, categories: categories, refusal: refusal)
    }
}

/// A guard rule ready to call.
final class CompiledGuardRule: Sendable {
    let definition: RuleDefinition
    let pack: String
    let settings: GuardSettings
    let apiKey: String?

    init(definition: RuleDefinition, pack: String, settings: GuardSettings, environment: [String: String]) {
        self.definition = definition
        self.pack = pack
        self.settings = settings
        self.apiKey = settings.apiKeyEnvironment.flatMap { environment[$0] }
    }

    var id: String { definition.id }

    /// Whether the verdict triggers the rule: a listed level, and a listed category unless none are listed.
    func triggers(_ verdict: GuardVerdict) -> Bool {
        guard settings.levels.contains(where: { $0.caseInsensitiveCompare(verdict.safety) == .orderedSame }) else {
            return false
        }
        if settings.categories.isEmpty { return true }
        return verdict.categories.contains { category in
            settings.categories.contains { $0.caseInsensitiveCompare(category) == .orderedSame }
        }
    }

    /// Asks the endpoint about a prompt, or about an answer to it.
    func classify(prompt: String, answer: String?, client: UpstreamClient, maxResponseBytes: Int)
        async throws(InspectionError) -> GuardVerdict
    {
        var messages: [JSONValue] = [.object(["role": "user", "content": .string(prompt)])]
        if let answer { messages.append(.object(["role": "assistant", "content": .string(answer)])) }
        let body = JSONValue.object([
            "model": .string(settings.model), "messages": .array(messages), "temperature": 0, "max_tokens": 64,
            "stream": false,
        ]).encoded()
        var headers = [("content-type", "application/json"), ("accept", "application/json")]
        if let apiKey { headers.append(("authorization", "Bearer \(apiKey)")) }
        let url = settings.endpoint.hasSuffix("/") ? settings.endpoint + "chat/completions"
            : settings.endpoint + "/chat/completions"
        let timeout = settings.timeout
        let request = UpstreamRequest(
            method: "POST", url: url, headers: headers, body: body,
            timeouts: UpstreamTimeouts(
                connect: min(timeout, .seconds(5)), firstByte: timeout, idle: timeout, total: timeout))
        let response: UpstreamCompleteResponse
        do {
            response = try await client.send(request, maxBodyBytes: maxResponseBytes)
        } catch let error as UpstreamError {
            if error.code.isTimeout {
                throw InspectionError(.guardTimeout, "guard endpoint did not answer within \(timeout)", ruleID: id)
            }
            throw InspectionError(.guardFailed, "guard endpoint: \(error.code)", ruleID: id)
        } catch {
            throw InspectionError(.guardFailed, "guard endpoint: \(error)", ruleID: id)
        }
        guard response.status == 200 else {
            throw InspectionError(.guardFailed, "guard endpoint answered HTTP \(response.status)", ruleID: id)
        }
        guard case .array(let choices)? = (try? JSONValue.parse(response.body))?["choices"],
            let content = choices.first?["message"]?["content"]?.stringValue,
            let verdict = GuardVerdict.parse(content)
        else {
            throw InspectionError(.guardFailed, "guard endpoint answered in an unexpected form", ruleID: id)
        }
        return verdict
    }
}
