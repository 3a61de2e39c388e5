public import HTTPTypes
public import Hummingbird
public import NIOCore

/// A response body writer that keeps a fast producer from flooding its connection's event loop.
///
/// Each `write` made off the event loop becomes one task in that loop's queue, and the channel only reports itself
/// unwritable once the loop has run those tasks. A producer faster than the loop (an unpaced stream of small events)
/// therefore queues tasks without bound, and every other connection on that loop waits behind them: measured here, an
/// 8 MB stream of 200-byte events held one of two event loops for 1.3 to 7.9 s, long enough for other connections'
/// connects to time out. After every `window` bytes this writer waits for a no-op task on the loop, so that at most
/// `window` bytes of writes are ever queued ahead of other connections' work, and a producer faster than the socket
/// then suspends on the channel's writability as it should. When the body runs on the loop itself (`airlock serve`
/// runs Swift concurrency on the event loops), the same wait gives the loop back to other connections.
public struct PacedResponseBodyWriter: ResponseBodyWriter {
    /// NIO's default high watermark for a channel's pending writes.
    public static let defaultWindow = 64 * 1024

    private var base: any ResponseBodyWriter
    private let eventLoop: any EventLoop
    private let window: Int
    private var unconfirmed = 0

    public init(_ base: any ResponseBodyWriter, eventLoop: any EventLoop, window: Int = Self.defaultWindow) {
        self.base = base
        self.eventLoop = eventLoop
        self.window = max(1, window)
    }

    public mutating func write(_ buffer: ByteBuffer) async throws {
        let count = buffer.readableBytes
        try await base.write(buffer)
        try await confirm(count)
    }

    public mutating func write(contentsOf buffers: some Sequence<ByteBuffer>) async throws {
        var count = 0
        for buffer in buffers { count += buffer.readableBytes }
        try await base.write(contentsOf: buffers)
        try await confirm(count)
    }

    public consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await base.finish(trailingHeaders)
    }

    private mutating func confirm(_ count: Int) async throws {
        unconfirmed += count
        guard unconfirmed >= window else { return }
        unconfirmed = 0
        // The loop runs its queue in order: once this no-op has run, every write before it has reached the channel.
        try await eventLoop.submit {}.get()
    }
}

extension ResponseBody {
    /// A streamed body whose writes are paced by `channel`'s event loop (see ``PacedResponseBodyWriter``).
    public static func paced(
        on channel: any Channel, window: Int = PacedResponseBodyWriter.defaultWindow,
        _ write: @Sendable @escaping (inout PacedResponseBodyWriter) async throws -> Void
    ) -> ResponseBody {
        let eventLoop = channel.eventLoop
        return ResponseBody { writer in
            var paced = PacedResponseBodyWriter(writer, eventLoop: eventLoop, window: window)
            try await write(&paced)
        }
    }
}
