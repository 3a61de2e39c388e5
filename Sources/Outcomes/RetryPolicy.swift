/// When and how long to wait before another attempt: exponential backoff with full jitter, `Retry-After` honoured,
/// all inside the request's deadline.
public struct RetryPolicy: Sendable, Equatable {
    public var maxRetries: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxRetries: Int = 2, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(2)) {
        self.maxRetries = max(0, maxRetries)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Which attempt outcomes may be retried while nothing has reached the client: connect failures, 429 and 5xx.
    /// Never a refusal, never another 4xx, never a timeout after the request was sent (the model may be generating).
    public static func isRetryable(_ outcome: Outcome, connectPhase: Bool) -> Bool {
        switch outcome {
        case .failureRateLimited, .failureUpstream5xx: true
        case .failureNetwork, .failureTimeout: connectPhase
        default: false
        }
    }

    /// The wait before retry number `retry` (1-based), or nil when the budget or the deadline says stop.
    public func delay<G: RandomNumberGenerator>(
        retry: Int, retryAfter: Duration?, remaining: Duration?, using generator: inout G
    ) -> Duration? {
        guard retry <= maxRetries else { return nil }
        let wait: Duration
        if let retryAfter {
            wait = retryAfter
        } else {
            let ceiling = min(maxDelay, baseDelay * (1 << min(retry - 1, 20)))
            let nanos = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
            wait = .nanoseconds(Int64.random(in: 0...max(0, nanos), using: &generator))
        }
        if let remaining, wait >= remaining { return nil }
        return wait
    }

    /// `Retry-After` as seconds (the form Qwen and most gateways send); an HTTP date is not trusted for timing.
    public static func parseRetryAfter(_ value: String?) -> Duration? {
        guard let value, let seconds = Double(value.trimmingSpaces()), seconds >= 0, seconds <= 3600 else { return nil }
        return .milliseconds(Int64(seconds * 1000))
    }
}

extension String {
    fileprivate func trimmingSpaces() -> Substring {
        var view = self[...]
        while view.first == " " { view = view.dropFirst() }
        while view.last == " " { view = view.dropLast() }
        return view
    }
}
