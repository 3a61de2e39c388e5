import Logging
import Outcomes
import Synchronization

/// One request's bookkeeping, done exactly once: the outcome, the metrics, the log line and the ledger entry are
/// recorded by the first `finish`, and later calls do nothing. A streamed response hands its latest record to the
/// scope (`hold`) before the body runs; if the body never finishes it (the client went away before it started), the
/// scope records that record as a cut stream when it goes away, so no request goes unrecorded.
final class RequestScope: Sendable {
    private struct State {
        var held: RequestRecord?
        var finished = false
    }

    private let state = Mutex(State())
    private let logger: Logger
    private let metrics: AirlockMetrics

    init(logger: Logger, metrics: AirlockMetrics) {
        self.logger = logger
        self.metrics = metrics
    }

    /// The record as it stands, to be recorded as a cut stream if nothing finishes it.
    func hold(_ record: RequestRecord) {
        state.withLock { $0.held = record }
    }

    /// Records `record` unless this request was already recorded. Returns whether this call recorded it.
    @discardableResult
    func finish(_ record: RequestRecord) -> Bool {
        let first = state.withLock { state in
            defer { state.finished = true }
            return !state.finished
        }
        guard first else { return false }
        record.finish(logger: logger, metrics: metrics)
        return true
    }

    var isFinished: Bool { state.withLock { $0.finished } }

    deinit {
        let leftover = state.withLock { state -> RequestRecord? in
            state.finished ? nil : state.held
        }
        guard var record = leftover else { return }
        record.outcome = .failureStreamCut
        record.error = "client_disconnected"
        record.finish(logger: logger, metrics: metrics)
    }
}
