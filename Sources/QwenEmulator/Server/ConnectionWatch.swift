import NIOCore
import Synchronization

/// Tells a request handler that its client went away: the connection closed, or the client closed its side.
/// Hummingbird keeps remote half-closure enabled, so a client that hangs up is only noticed on the next write;
/// handlers that hold a response back (`timeout`, first-byte delays) have nothing to write and need this instead.
final class ConnectionWatch: Sendable {
    private struct State {
        var closed = false
        var nextWaiterID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    var isClosed: Bool {
        state.withLock { $0.closed }
    }

    func markClosed() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.closed else { return [] }
            state.closed = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when the client goes away or the task is cancelled.
    func waitUntilClosed() async {
        let id = state.withLock { state -> Int in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.closed || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }

    /// Sleeps for `duration`, throwing ``EmulatorError/Code/clientDisconnected`` as soon as the client goes away.
    func sleep(for duration: Duration) async throws {
        if isClosed { throw EmulatorError(.clientDisconnected, "the client went away") }
        let clientLeft = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await Task.sleep(for: duration)
                return false
            }
            group.addTask {
                await self.waitUntilClosed()
                return true
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
        if clientLeft || isClosed { throw EmulatorError(.clientDisconnected, "the client went away") }
    }
}

/// Sits in every connection's pipeline and marks its ``ConnectionWatch`` when the client goes away.
final class ConnectionWatchHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    let watch = ConnectionWatch()

    func channelInactive(context: ChannelHandlerContext) {
        watch.markClosed()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            watch.markClosed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The watch of `channel`'s connection, or `nil` if the handler is not in its pipeline.
    static func watch(of channel: any Channel) async -> ConnectionWatch? {
        try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: ConnectionWatchHandler.self).watch
        }.get()
    }
}
