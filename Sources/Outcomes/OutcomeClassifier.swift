import Foundation

/// Decides the outcome of an upstream answer. Pure: every input shape is unit-tested.
public struct OutcomeClassifier: Sendable {
    public let refusalDetector: any RefusalDetector

    public init(refusalDetector: any RefusalDetector = PhraseRefusalDetector()) {
        self.refusalDetector = refusalDetector
    }

    /// A whole (non-streamed) upstream response.
    public func classify(status: Int, body: [UInt8]) -> Outcome {
        switch status {
        case 200..<300:
            // The hot path: decode only what the decision needs (swift-foundation's JSONDecoder, far cheaper than a
            // whole dictionary tree), still rejecting anything that is not valid JSON.
            guard let probe = try? JSONDecoder().decode(CompletionProbe.self, from: Data(body)) else {
                return .failureMalformed
            }
            if probe.hasError, let error = Self.jsonObject(body)?["error"] as? [String: Any] {
                return classifyError(status: 400, error: error)
            }
            guard let choices = probe.choices else { return .failureMalformed }
            let text = choices.compactMap { $0.message?.content }.joined(separator: "\n")
            if !text.isEmpty && refusalDetector.isRefusal(text) { return .refusalModel }
            return .ok
        case 429:
            return .failureRateLimited
        case 500..<600:
            if let error = Self.jsonObject(body)?["error"] as? [String: Any], Self.isContentFilter(error) {
                return Self.filterSide(error)
            }
            return .failureUpstream5xx
        case 400..<500:
            let error = Self.jsonObject(body)?["error"] as? [String: Any] ?? [:]
            return classifyError(status: status, error: error)
        default:
            return .failureMalformed
        }
    }

    /// An error object (from a 4xx body, or an SSE error event inside a 200 stream).
    public func classifyError(status: Int, error: [String: Any]) -> Outcome {
        if Self.isContentFilter(error) { return Self.filterSide(error) }
        if status == 429 { return .failureRateLimited }
        let code = (error["code"] as? String ?? "").lowercased()
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
    static func isContentFilter(_ error: [String: Any]) -> Bool {
        let fields = [error["code"], error["type"], error["message"]].compactMap { $0 as? String }.map { $0.lowercased() }
        return fields.contains { $0.contains("data_inspection_failed") || $0.contains("datainspectionfailed") }
            || fields.contains { $0.contains("inappropriate content") }
    }

    static func filterSide(_ error: [String: Any]) -> Outcome {
        let message = (error["message"] as? String ?? "").lowercased()
        return message.contains("output") ? .refusalProviderOutput : .refusalProviderInput
    }

    static func jsonObject(_ bytes: [UInt8]) -> [String: Any]? {
        guard !bytes.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }
}

/// The parts of a chat completion that decide its outcome.
struct CompletionProbe: Decodable {
    struct Choice: Decodable {
        struct Message: Decodable {
            let content: String?
        }
        let message: Message?
    }

    let choices: [Choice]?
    let hasError: Bool

    enum CodingKeys: String, CodingKey { case choices, error }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        choices = try? container.decodeIfPresent([Choice].self, forKey: .choices)
        hasError = container.contains(.error)
    }
}
