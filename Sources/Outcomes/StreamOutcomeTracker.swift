import Foundation

/// Follows a streamed answer event by event and says how it ended. A value-type state machine, no I/O.
public struct StreamOutcomeTracker: Sendable {
    public private(set) var sawDone = false
    public private(set) var finishReason: String?
    public private(set) var errorOutcome: Outcome?
    public private(set) var malformed = false
    /// The answer's text so far (content deltas of choice 0), for refusal detection and caching.
    public private(set) var content = ""
    public private(set) var events = 0
    private let classifier: OutcomeClassifier

    public init(classifier: OutcomeClassifier = OutcomeClassifier()) {
        self.classifier = classifier
    }

    /// Feeds the `data:` payload of one event (nil for comment-only events).
    public mutating func observe(data: [UInt8]?) {
        guard let data else { return }
        events += 1
        if data.elementsEqual("[DONE]".utf8) {
            sawDone = true
            return
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(data))) as? [String: Any] else {
            malformed = true
            return
        }
        if let error = object["error"] as? [String: Any] {
            errorOutcome = classifier.classifyError(status: 200, error: error)
            return
        }
        guard let choices = object["choices"] as? [[String: Any]] else { return }
        for choice in choices {
            if (choice["index"] as? Int ?? 0) == 0, let delta = choice["delta"] as? [String: Any],
                let text = delta["content"] as? String
            {
                content += text
            }
            if let reason = choice["finish_reason"] as? String { finishReason = reason }
        }
    }

    /// The outcome once the upstream stream has ended (cleanly or not).
    public func outcome() -> Outcome {
        if let errorOutcome { return errorOutcome }
        if malformed { return .failureMalformed }
        guard sawDone, finishReason != nil else { return .failureStreamCut }
        if !content.isEmpty && classifier.refusalDetector.isRefusal(content) { return .refusalModel }
        return .ok
    }

    /// Whether the stream ended with both a finish reason and `[DONE]`: the only streams that may be cached.
    public var endedCleanly: Bool { sawDone && finishReason != nil && errorOutcome == nil && !malformed }
}
