import Synchronization
public import TimeSource

/// The breaker's logic as a value: closed → open after `failureThreshold` consecutive failures → half-open after
/// `coolDown` (one probe at a time) → closed on a success, open again on a failure.
public struct CircuitBreakerState: Sendable, Equatable {
    public enum Phase: String, Sendable { case closed, open, halfOpen = "half_open" }

    public struct Settings: Sendable, Equatable {
        public var failureThreshold: Int
        public var coolDown: Duration
        public init(failureThreshold: Int = 5, coolDown: Duration = .seconds(10)) {
            self.failureThreshold = max(1, failureThreshold)
            self.coolDown = coolDown
        }
    }

    public enum Admission: Sendable, Equatable { case allowed, probe, rejected }

    public private(set) var phase: Phase = .closed
    public private(set) var consecutiveFailures = 0
    private var openedAt: ContinuousClock.Instant?
    private var probeInFlight = false
    public let settings: Settings

    public init(settings: Settings) { self.settings = settings }

    public mutating func admit(now: ContinuousClock.Instant) -> Admission {
        switch phase {
        case .closed:
            return .allowed
        case .open:
            guard let openedAt, now - openedAt >= settings.coolDown else { return .rejected }
            phase = .halfOpen
            probeInFlight = true
            return .probe
        case .halfOpen:
            if probeInFlight { return .rejected }
            probeInFlight = true
            return .probe
        }
    }

    public mutating func recordSuccess() {
        phase = .closed
        consecutiveFailures = 0
        openedAt = nil
        probeInFlight = false
    }

    public mutating func recordFailure(now: ContinuousClock.Instant) {
        consecutiveFailures += 1
        if phase == .halfOpen || consecutiveFailures >= settings.failureThreshold {
            phase = .open
            openedAt = now
        }
        probeInFlight = false
    }

    /// A request that was admitted ended without saying anything about the upstream's health (e.g. a refusal).
    public mutating func recordNeutral() {
        if phase == .halfOpen { recordSuccess() }
    }
}

/// One breaker per upstream target, shared by all requests. Its cool-down is read from `time`.
public final class CircuitBreaker: Sendable {
    public let name: String
    private let state: Mutex<CircuitBreakerState>
    private let time: any TimeSource

    public init(name: String, settings: CircuitBreakerState.Settings, time: any TimeSource = SystemTime()) {
        self.name = name
        self.state = Mutex(CircuitBreakerState(settings: settings))
        self.time = time
    }

    public func admit() -> CircuitBreakerState.Admission {
        let now = time.now
        return state.withLock { $0.admit(now: now) }
    }
    public func recordSuccess() { state.withLock { $0.recordSuccess() } }
    public func recordFailure() {
        let now = time.now
        state.withLock { $0.recordFailure(now: now) }
    }
    public func recordNeutral() { state.withLock { $0.recordNeutral() } }
    public var phase: CircuitBreakerState.Phase { state.withLock { $0.phase } }

    /// Feeds an attempt's outcome: transient failures count against the target, clean answers and refusals for it.
    public func record(_ outcome: Outcome) {
        switch outcome {
        case .failureTimeout, .failureUpstream5xx, .failureNetwork, .failureMalformed, .failureStreamCut:
            recordFailure()
        case .ok, .refusalModel, .refusalProviderInput, .refusalProviderOutput, .failureClient4xx:
            recordSuccess()
        default:
            recordNeutral()
        }
    }
}
