import COpenBLAS
import ThreadJoin
import Dispatch
import Foundation
import Synchronization

/// Dedicated threads that run the encoder, each with its own scratch, fed from one queue.
///
/// The encoder's GEMMs are long blocking calls, so they run here rather than on Swift's cooperative pool.
/// A worker that wakes takes its share of the queue (queued jobs divided by idle workers) and encodes the
/// share as one batch: with a backlog, many small requests become one larger GEMM; with idle workers,
/// requests run side by side instead.
final class EncoderWorkerPool: Sendable {
    struct Job: Sendable {
        let batch: [[Int32]]
        let tokens: Int
        let continuation: CheckedContinuation<[[Float]], any Error>
    }

    private struct State {
        var queue: [Job] = []
        var head = 0
        var idleWorkers: Int
        var isShutDown = false

        var pending: Int { queue.count - head }
    }

    let encoder: BertEncoder
    let workerCount: Int
    let maxBatchTokens: Int
    private let state: Mutex<State>
    private let wakeup = DispatchSemaphore(value: 0)
    private let threads = LiveThreads()

    init(encoder: BertEncoder, workers: Int, maxBatchTokens: Int) {
        self.encoder = encoder
        self.workerCount = max(1, workers)
        self.maxBatchTokens = max(maxBatchTokens, encoder.tokenizer.maxSequenceLength)
        self.state = Mutex(State(idleWorkers: max(1, workers)))
        // Parallelism comes from the workers; OpenBLAS's own pool would fight them for the cores.
        openblas_set_num_threads(1)
    }

    /// Starts the threads; they hold the pool (not its owner) and end after `shutdown()`.
    func start() {
        threads.starting(workerCount)
        for index in 0..<workerCount {
            let thread = Thread { [self] in self.runWorker() }
            thread.name = "airlock-embed-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    func submit(_ batch: [[Int32]]) async throws -> [[Float]] {
        let tokens = batch.reduce(0) { $0 + $1.count }
        return try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state -> Bool in
                guard !state.isShutDown else { return false }
                state.queue.append(Job(batch: batch, tokens: tokens, continuation: continuation))
                return true
            }
            if accepted {
                wakeup.signal()
            } else {
                continuation.resume(throwing: EmbeddingError(.shutDown, "the embedder has been shut down"))
            }
        }
    }

    /// Fails queued work, lets running batches finish, and ends the threads.
    func shutdown() {
        let abandoned = state.withLock { state -> [Job] in
            guard !state.isShutDown else { return [] }
            state.isShutDown = true
            let rest = Array(state.queue[state.head...])
            state.queue.removeAll()
            state.head = 0
            return rest
        }
        for job in abandoned {
            job.continuation.resume(throwing: EmbeddingError(.shutDown, "the embedder has been shut down"))
        }
        for _ in 0..<workerCount { wakeup.signal() }
    }

    private func runWorker() {
        // Sized for one full-length text; grows to the largest batch this worker actually sees.
        let scratch = encoder.makeScratch()
        defer { threads.threadEnded() }
        while true {
            wakeup.wait()
            guard let jobs = takeShare() else { return }
            if jobs.isEmpty { continue }  // another worker took this wakeup's job as part of its share
            let vectors = encoder.encode(jobs.count == 1 ? jobs[0].batch : jobs.flatMap(\.batch), scratch: scratch)
            var offset = 0
            for job in jobs {
                job.continuation.resume(returning: Array(vectors[offset..<offset + job.batch.count]))
                offset += job.batch.count
            }
            state.withLock { $0.idleWorkers += 1 }
        }
    }

    /// Returns once every worker has ended (after ``shutdown()``), without blocking a thread meanwhile.
    func ended() async { await threads.allEnded() }

    /// nil when the pool is shut down; otherwise this worker's share of the queue, possibly empty.
    private func takeShare() -> [Job]? {
        state.withLock { state -> [Job]? in
            if state.isShutDown { return nil }
            guard state.pending > 0 else { return [] }
            let idle = max(1, state.idleWorkers)
            let share = (state.pending + idle - 1) / idle
            var jobs = [state.queue[state.head]]
            var tokens = jobs[0].tokens
            state.head += 1
            while jobs.count < share, state.pending > 0, tokens + state.queue[state.head].tokens <= maxBatchTokens {
                jobs.append(state.queue[state.head])
                tokens += state.queue[state.head].tokens
                state.head += 1
            }
            if state.head == state.queue.count {
                state.queue.removeAll(keepingCapacity: true)
                state.head = 0
            } else if state.head > 1024 {
                state.queue.removeFirst(state.head)
                state.head = 0
            }
            state.idleWorkers -= 1
            return jobs
        }
    }
}
