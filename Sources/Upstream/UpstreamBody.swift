import DequeModule
import Synchronization

/// Response body chunks as they arrive from libcurl, with backpressure.
///
/// The libcurl write callback offers each chunk; when more than `highWater` bytes wait unread, the transfer is
/// paused (libcurl keeps the data and re-delivers it later), and it is resumed once the reader has drained below
/// half of that. So a slow client holds Airlock's buffer for one transfer at about `highWater`, never the whole answer.
public struct UpstreamBody: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    let channel: BodyChannel
    let lease: TransferLease

    public struct AsyncIterator: AsyncIteratorProtocol {
        let channel: BodyChannel
        let lease: TransferLease
        public mutating func next() async throws -> [UInt8]? { try await channel.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel, lease: lease) }

    /// Aborts the transfer if it is still running.
    public func cancel() { channel.cancel() }
}

/// Hooks from the channel back to the transfer's driver, called without the channel lock held.
protocol BodyChannelDelegate: AnyObject, Sendable {
    func channelWantsResume(_ channel: BodyChannel)
    func channelCancelled(_ channel: BodyChannel)
}

final class BodyChannel: Sendable {
    enum Offer { case accepted, pause, abort }

    private struct State {
        var chunks: Deque<[UInt8]> = []
        var buffered = 0
        var finished = false
        var failure: UpstreamError?
        var waiter: CheckedContinuation<[UInt8]?, any Error>?
        var producerPaused = false
        var cancelled = false
    }

    private let state = Mutex(State())
    private let highWater: Int
    let transferID: Int
    // Set once, before the transfer starts.
    private let delegateBox = Mutex<(any BodyChannelDelegate)?>(nil)

    init(highWater: Int, transferID: Int) {
        self.highWater = max(highWater, 16 * 1024)
        self.transferID = transferID
    }

    func setDelegate(_ delegate: any BodyChannelDelegate) {
        delegateBox.withLock { $0 = delegate }
    }

    /// Producer side (driver thread). `.pause` means: do not consume, libcurl will offer it again after a resume.
    func offer(_ bytes: UnsafeRawBufferPointer) -> Offer {
        let resumeWaiter: (CheckedContinuation<[UInt8]?, any Error>, [UInt8])? = state.withLock { s in
            if s.cancelled { return nil }
            if s.buffered >= highWater {
                s.producerPaused = true
                return nil
            }
            let chunk = [UInt8](bytes)
            if let waiter = s.waiter {
                s.waiter = nil
                return (waiter, chunk)
            }
            s.chunks.append(chunk)
            s.buffered += chunk.count
            return nil
        }
        if let (waiter, chunk) = resumeWaiter {
            waiter.resume(returning: chunk)
            return .accepted
        }
        return state.withLock { s in
            if s.cancelled { return .abort }
            return s.producerPaused ? .pause : .accepted
        }
    }

    /// Producer side: the transfer ended, cleanly (`nil`) or not.
    func finish(_ failure: UpstreamError?) {
        let waiter: CheckedContinuation<[UInt8]?, any Error>? = state.withLock { s in
            guard !s.finished else { return nil }
            s.finished = true
            s.failure = failure
            guard s.chunks.isEmpty, let waiter = s.waiter else { return nil }
            s.waiter = nil
            return waiter
        }
        if let waiter {
            if let failure { waiter.resume(throwing: failure) } else { waiter.resume(returning: nil) }
        }
    }

    var isFinished: Bool { state.withLock { $0.finished } }
    var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Consumer side.
    func next() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8]?, any Error>) in
                enum Action { case value([UInt8]?), fail(any Error), wait }
                var wantsResume = false
                let action: Action = state.withLock { s in
                    if let chunk = s.chunks.popFirst() {
                        s.buffered -= chunk.count
                        if s.producerPaused && s.buffered <= highWater / 2 {
                            s.producerPaused = false
                            wantsResume = true
                        }
                        return .value(chunk)
                    }
                    if s.cancelled { return .fail(UpstreamError(.cancelled, "transfer cancelled")) }
                    if s.finished {
                        if let failure = s.failure { return .fail(failure) }
                        return .value(nil)
                    }
                    if s.producerPaused {
                        s.producerPaused = false
                        wantsResume = true
                    }
                    s.waiter = continuation
                    return .wait
                }
                if wantsResume, let delegate = delegateBox.withLock({ $0 }) {
                    delegate.channelWantsResume(self)
                }
                switch action {
                case .value(let value): continuation.resume(returning: value)
                case .fail(let error): continuation.resume(throwing: error)
                case .wait: break
                }
            }
        } onCancel: {
            self.cancel()
        }
    }

    /// Either side: stop the transfer; a waiting reader gets `cancelled`.
    func cancel() {
        let (waiter, notify): (CheckedContinuation<[UInt8]?, any Error>?, Bool) = state.withLock { s in
            guard !s.cancelled, !s.finished else { return (nil, false) }
            s.cancelled = true
            s.chunks.removeAll()
            s.buffered = 0
            let waiter = s.waiter
            s.waiter = nil
            return (waiter, true)
        }
        waiter?.resume(throwing: UpstreamError(.cancelled, "transfer cancelled"))
        if notify, let delegate = delegateBox.withLock({ $0 }) {
            delegate.channelCancelled(self)
        }
    }
}
