import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import StreamPacing
import Synchronization
import Testing

/// Stands in for Hummingbird's writer over NIO: every write becomes a task on the event loop, as
/// `NIOAsyncChannelHandlerWriterDelegate` makes it, and the task is slow, as a loop busy with other connections is.
private struct LoopQueueWriter: ResponseBodyWriter {
    final class Ledger: Sendable {
        struct Counts { var written = 0, processed = 0, mostQueued = 0, finished = false }
        let counts = Mutex(Counts())
    }
    let loop: any EventLoop
    let ledger: Ledger

    mutating func write(_ buffer: ByteBuffer) async throws {
        let count = buffer.readableBytes
        ledger.counts.withLock { counts in
            counts.written += count
            counts.mostQueued = max(counts.mostQueued, counts.written - counts.processed)
        }
        let ledger = self.ledger
        loop.execute {
            usleep(100)
            ledger.counts.withLock { $0.processed += count }
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        ledger.counts.withLock { $0.finished = true }
    }
}

@Suite struct PacedResponseBodyWriterTests {
    @Test func writesQueuedOnTheLoopNeverExceedTheWindow() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let ledger = LoopQueueWriter.Ledger()
        let window = 4096
        var writer = PacedResponseBodyWriter(LoopQueueWriter(loop: loop, ledger: ledger), eventLoop: loop, window: window)
        let event = ByteBuffer(repeating: 0x61, count: 200)
        for _ in 0..<500 { try await writer.write(event) }
        try await writer.write(contentsOf: [event, event, event])
        try await writer.finish(nil)
        let counts = ledger.counts.withLock { $0 }
        #expect(counts.written == 503 * 200)
        #expect(counts.finished)
        // The writer waits for the loop after each window's worth, so at most one window plus one write is queued.
        #expect(counts.mostQueued <= window + 600, "\(counts.mostQueued) bytes were queued on the loop at once")
        try await group.shutdownGracefully()
    }

    @Test func aWindowBelowOneByteIsOneByte() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let ledger = LoopQueueWriter.Ledger()
        var writer = PacedResponseBodyWriter(LoopQueueWriter(loop: loop, ledger: ledger), eventLoop: loop, window: 0)
        for _ in 0..<20 { try await writer.write(ByteBuffer(repeating: 0x61, count: 10)) }
        let counts = ledger.counts.withLock { $0 }
        // Every write is confirmed before the next, so nothing but the one write in hand is ever queued.
        #expect(counts.mostQueued == 10)
        #expect(counts.processed == 200)
        try await group.shutdownGracefully()
    }
}
