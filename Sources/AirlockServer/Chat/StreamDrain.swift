import Synchronization
import TimeSource

/// One streamed answer's part in a graceful shutdown: when shutdown begins, the stream may go on for `timeout`; if it
/// has not ended by then, `cut` runs (it cancels the upstream transfer) and the route ends the stream with a
/// well-formed error event instead of leaving the client a connection that just closes. The wait runs on the injected
/// clock, so tests drive it without sleeping.
final class StreamDrain: Sendable {
    private struct State {
        var timer: Task<Void, Never>?
        var ended = false
        var didCut = false
    }

    private let timeout: Duration
    private let time: any TimeSource
    private let cut: @Sendable () -> Void
    private let state = Mutex(State())

    init(timeout: Duration, time: any TimeSource, cut: @escaping @Sendable () -> Void) {
        self.timeout = timeout
        self.time = time
        self.cut = cut
    }

    /// Whether the stream was cut because shutdown's grace ran out.
    var didCut: Bool { state.withLock { $0.didCut } }

    /// Shutdown began: start the grace period (once).
    func begin() {
        state.withLock { state in
            guard !state.ended, state.timer == nil else { return }
            state.timer = Task { [self] in
                do {
                    try await time.sleep(for: timeout)
                } catch {
                    return
                }
                if markCut() { cut() }
            }
        }
    }

    private func markCut() -> Bool {
        state.withLock { state -> Bool in
            guard !state.ended else { return false }
            state.didCut = true
            return true
        }
    }

    /// The stream ended by itself: nothing more to cut.
    func end() {
        let timer = state.withLock { state -> Task<Void, Never>? in
            state.ended = true
            return state.timer
        }
        timer?.cancel()
    }
}
