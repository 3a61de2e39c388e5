import Foundation
import Synchronization

/// Time as Airlock's time-based logic reads it: monotonic instants for cool-downs and deadlines, wall-clock
/// milliseconds for expiry times shared with other processes through Redis, and waits between retries.
///
/// Production uses ``SystemTime``; tests use ``ManualTime``, which they advance, so that a breaker's cool-down or an
/// entry's lifetime is tested without sleeping.
public protocol TimeSource: Sendable {
    /// Now, on a monotonic clock.
    var now: ContinuousClock.Instant { get }
    /// Now, in milliseconds since 1970 (the form stored in Redis and shared across processes).
    var unixMilliseconds: Int64 { get }
    /// Waits `duration` (a retry's backoff).
    func sleep(for duration: Duration) async throws
}

/// The system's clocks.
public struct SystemTime: TimeSource {
    public init() {}
    public var now: ContinuousClock.Instant { ContinuousClock.now }
    public var unixMilliseconds: Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// A clock that moves only when told to: ``advance(by:)``, or ``sleep(for:)``, which moves it by the wait at once
/// instead of waiting. Starts at the system's time, so wall-clock values stay plausible for Redis.
public final class ManualTime: TimeSource {
    private struct State {
        var offset: Duration = .zero
    }

    private let origin = ContinuousClock.now
    private let wallOrigin = SystemTime().unixMilliseconds
    private let state = Mutex(State())

    public init() {}

    public var now: ContinuousClock.Instant { origin + state.withLock { $0.offset } }

    public var unixMilliseconds: Int64 {
        let offset = state.withLock { $0.offset }
        let (seconds, attoseconds) = offset.components
        return wallOrigin + seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Moves the clock forward by `duration`.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "time only moves forward")
        state.withLock { $0.offset += duration }
    }

    /// Advances by `duration` and returns at once.
    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        advance(by: max(duration, .zero))
    }
}
