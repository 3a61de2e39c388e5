public import ChatWire

/// Decides the outcome of an upstream answer. Pure: every input shape is unit-tested.
public struct OutcomeClassifier: Sendable {
    public let refusalDetector: any RefusalDetector

    public init(refusalDetector: any RefusalDetector = PhraseRefusalDetector()) {
        self.refusalDetector = refusalDetector
    }

    /// A whole (non-streamed) upstream response, parsed here (strictly: a body that is not valid JSON is malformed).
    public func classify(status: Int, body: [UInt8]) -> Outcome {
        classify(status: status, json: body.isEmpty ? nil : try? JSONValue.parse(body))
    }

    /// A whole upstream response already parsed (nil: empty or not valid JSON).
    public func classify(status: Int, json: JSONValue?) -> Outcome {
        switch status {
        case 200..<300:
            guard case .object(let object)? = json else { return .failureMalformed }
            if let error = object["error"], error != .null { return classifyError(status: 400, error: error) }
            guard case .array(let choices)? = object["choices"] else { return .failureMalformed }
            var text = choices.compactMap { $0["message"]?["content"]?.stringValue }.joined(separator: "\n")
            if text.isEmpty {
                // Thinking mode can decline in its reasoning and leave the answer empty.
                text = choices.compactMap { $0["message"]?["reasoning_content"]?.stringValue }.joined(separator: "\n")
            }
            if !text.isEmpty && refusalDetector.isRefusal(text) { return .refusalModel }
            return .ok
        case 429:
            return .failureRateLimited
        case 500..<600:
            if let error = json?["error"], Self.isContentFilter(error) { return Self.filterSide(error) }
            return .failureUpstream5xx
        case 400..<500:
            return classifyError(status: status, error: json?["error"] ?? .null)
        default:
            return .failureMalformed
        }
    }

    /// An error object (from a 4xx body, or an SSE error event inside a 200 stream).
    public func classifyError(status: Int, error: JSONValue) -> Outcome {
        if Self.isContentFilter(error) { return Self.filterSide(error) }
        if status == 429 { return .failureRateLimited }
        let code = Self.field(error, "code").lowercased()
        if code.hasPrefix("limit_") || code == "insufficient_quota" || code.contains("throttl") {
            return .failureRateLimited
        }
        if code == "internal_error" || code == "modelunavailable" || code.contains("unavailable") || status >= 500 {
            return .failureUpstream5xx
        }
        return .failureClient4xx
    }

    /// Airlock could not use the upstream at all.
    public static func classify(transport code: String, isTimeout: Bool) -> Outcome {
        isTimeout ? .failureTimeout : .failureNetwork
    }

    /// Qwen's content filter: `data_inspection_failed`, also when only the message or type says so.
    static func isContentFilter(_ error: JSONValue) -> Bool {
        let fields = ["code", "type", "message"].map { field(error, $0).lowercased() }
        return fields.contains { $0.contains("data_inspection_failed") || $0.contains("datainspectionfailed") }
            || fields.contains { $0.contains("inappropriate content") }
    }

    static func filterSide(_ error: JSONValue) -> Outcome {
        field(error, "message").lowercased().contains("output") ? .refusalProviderOutput : .refusalProviderInput
    }

    /// A string field of an error object (a number's text, for numeric codes); empty when absent.
    static func field(_ error: JSONValue, _ name: String) -> String {
        switch error[name] {
        case .string(let value)?: value
        case .number(let value)?: value.text
        default: ""
        }
    }
}
