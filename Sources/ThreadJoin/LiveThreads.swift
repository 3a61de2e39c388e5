import Synchronization

/// Counts a component's running threads and lets async code wait until they have all returned, without blocking a
/// thread meanwhile (the join of a `Service.run()` that stops threads it started).
public final class LiveThreads: Sendable {
    private struct State {
        var live = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Call before starting `count` threads.
    public func starting(_ count: Int) {
        state.withLock { $0.live += count }
    }

    /// Call as the last thing a thread does.
    public func threadEnded() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.live -= 1
            guard state.live == 0 else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once no counted thread is running.
    public func allEnded() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.live == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
