/// When a pool thread may try to connect: a value-type state machine, tested without I/O.
///
/// While Redis is healthy every thread connects on its own. After a failure only one thread at a time probes,
/// and only once the backoff has passed; every other command fails at once with `unavailable`, so that a dead
/// Redis costs callers nothing but the error.
struct ReconnectState: Sendable {
    enum Decision: Equatable {
        /// Connect now (and report the outcome).
        case connect
        /// Fail the command without I/O; `retryIn` nanoseconds until the next attempt is due.
        case failFast(retryIn: UInt64)
    }

    let initialNanoseconds: UInt64
    let maximumNanoseconds: UInt64
    private(set) var consecutiveFailures = 0
    private(set) var nextAttemptAt: UInt64 = 0
    private(set) var probing = false

    init(initial: Duration, maximum: Duration) {
        initialNanoseconds = max(1, Self.nanoseconds(initial))
        maximumNanoseconds = max(initialNanoseconds, Self.nanoseconds(maximum))
    }

    var isHealthy: Bool { consecutiveFailures == 0 }

    mutating func decide(now: UInt64) -> Decision {
        if consecutiveFailures == 0 { return .connect }
        if probing { return .failFast(retryIn: nextAttemptAt > now ? nextAttemptAt - now : 0) }
        if now < nextAttemptAt { return .failFast(retryIn: nextAttemptAt - now) }
        probing = true
        return .connect
    }

    mutating func connected() {
        consecutiveFailures = 0
        probing = false
        nextAttemptAt = 0
    }

    /// A connect attempt failed, or a command timed out (Redis accepts but does not answer).
    /// `jitter` in 0…1 spreads replicas' probes; the wait is between half and all of the exponential delay.
    mutating func failed(now: UInt64, jitter: Double) {
        consecutiveFailures += 1
        probing = false
        let exponent = min(consecutiveFailures - 1, 30)
        let (scaled, overflow) = initialNanoseconds.multipliedReportingOverflow(by: 1 << UInt64(exponent))
        let delay = overflow ? maximumNanoseconds : min(scaled, maximumNanoseconds)
        let spread = Double(delay) * (0.5 + 0.5 * min(max(jitter, 0), 1))
        nextAttemptAt = now + UInt64(spread)
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}
