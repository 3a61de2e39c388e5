import Dispatch
import Foundation
public import ServiceLifecycle
import Synchronization
import ThreadJoin

/// A bounded pool of dedicated threads for CPU-heavy request work (parsing and inspecting large prompts and answers),
/// so that it never runs on the event loops, which `airlock serve` also uses as Swift's global executor: `/healthz`,
/// `/readyz`, `/metrics` and every other connection's I/O go on while a pool thread chews through a 1 MiB prompt.
///
/// Admission is bounded: at most `threads + queue` pieces of work are admitted at once (running, or waiting for a
/// thread); past that `run` throws ``Overloaded`` at once, and the route sheds the request with 429 and `Retry-After`
/// instead of queueing without bound. Work runs as a task whose executor preference is the pool (a `TaskExecutor`):
/// its synchronous stretches run on pool threads, and after an `await` (an embedding batch on the encoder's own
/// threads) it comes back to the pool, not to an event loop.
public final class WorkPool: TaskExecutor, Service, Sendable {
    public struct Overloaded: Error, Sendable {}

    private struct State {
        var jobs: [UnownedJob] = []
        var head = 0
        var admitted = 0
        /// Long-lived work pinned to the pool (streams being pumped): not bounded, not shed, but waited for.
        var pinned = 0
        var closing = false

        var idle: Bool { admitted == 0 && pinned == 0 }
    }

    public let threadCount: Int
    public let maxAdmitted: Int
    private let state: Mutex<State>
    private let wakeup = DispatchSemaphore(value: 0)
    private let threads = LiveThreads()
    private let started = Atomic<Bool>(false)
    private let shedCount = Atomic<Int>(0)

    /// `threads` 0 means one per core.
    public init(threads: Int, queue: Int) {
        let count = threads > 0 ? threads : max(1, ProcessInfo.processInfo.activeProcessorCount)
        self.threadCount = count
        self.maxAdmitted = count + max(0, queue)
        self.state = Mutex(State())
    }

    /// Work admitted and not yet finished.
    public var admitted: Int { state.withLock { $0.admitted } }

    /// Requests turned away since start.
    public var shed: Int { shedCount.load(ordering: .relaxed) }

    /// Runs `body` on the pool, or throws ``Overloaded`` when the pool is full (or shut down).
    public func run<T: Sendable>(_ body: @Sendable () async -> T) async throws(Overloaded) -> T {
        let admitted = state.withLock { state -> Bool in
            guard !state.closing, state.admitted < maxAdmitted else { return false }
            state.admitted += 1
            return true
        }
        guard admitted else {
            shedCount.add(1, ordering: .relaxed)
            throw Overloaded()
        }
        return await runAdmittedWork(body)
    }

    /// Runs `body` on the pool even past its bound (work that must not be shed, such as inspecting an answer the
    /// upstream already produced; bounded by the requests in flight). After shutdown it runs where the caller is.
    public func runAdmitted<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        let admitted = state.withLock { state -> Bool in
            guard !state.closing else { return false }
            state.admitted += 1
            return true
        }
        guard admitted else { return await body() }
        return await runAdmittedWork(body)
    }

    /// Runs admitted work on the pool, then releases its admission (waking the threads if shutdown waits for it).
    private func runAdmittedWork<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        startIfNeeded()
        let result = await withTaskExecutorPreference(self) { await body() }
        let wake = state.withLock { state -> Bool in
            state.admitted -= 1
            return state.closing && state.idle
        }
        if wake { for _ in 0..<threadCount { wakeup.signal() } }
        return result
    }

    /// Runs `body` with the pool as its executor preference, for long-lived work that is paced by I/O rather than
    /// bounded by the pool (a stream's pump): not counted against the bound, never shed. After shutdown has ended the
    /// threads it runs where the caller is.
    public func pinned<T>(_ body: () async throws -> T) async rethrows -> T {
        let accepted = state.withLock { state -> Bool in
            guard !(state.closing && state.idle) else { return false }
            state.pinned += 1
            return true
        }
        guard accepted else { return try await body() }
        startIfNeeded()
        defer {
            let wake = state.withLock { state -> Bool in
                state.pinned -= 1
                return state.closing && state.idle
            }
            if wake { for _ in 0..<threadCount { wakeup.signal() } }
        }
        return try await withTaskExecutorPreference(self) { try await body() }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        state.withLock { $0.jobs.append(job) }
        wakeup.signal()
    }

    /// Waits for graceful shutdown, then lets the work admitted finish and ends the threads.
    public func run() async throws {
        try? await gracefulShutdown()
        close()
        if started.load(ordering: .acquiring) { await threads.allEnded() }
    }

    /// Stops admitting; threads end once the admitted work is done.
    public func close() {
        state.withLock { $0.closing = true }
        for _ in 0..<threadCount { wakeup.signal() }
    }

    private func startIfNeeded() {
        guard started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return
        }
        threads.starting(threadCount)
        for index in 0..<threadCount {
            let thread = Thread { [self] in self.work() }
            thread.name = "airlock-work-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Whether the calling thread is one of a work pool's threads (for tests and assertions).
    public static var isPoolThread: Bool { pthread_getspecific(poolThreadKey) != nil }

    private static let poolThreadKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Nice value of the pool's threads: above the event loops' 0, so that when every core is busy the kernel runs
    /// the loops (health probes, other connections' I/O) first and the pool's long computations after.
    static let niceness: Int32 = 5

    private func work() {
        pthread_setspecific(Self.poolThreadKey, UnsafeRawPointer(bitPattern: 1))
        // On Linux a nice value belongs to a thread: PRIO_PROCESS with 0 sets the calling thread's alone.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
        defer { threads.threadEnded() }
        while true {
            wakeup.wait()
            while let job = next() {
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
            if state.withLock({ $0.closing && $0.idle && $0.head == $0.jobs.count }) { return }
        }
    }

    private func next() -> UnownedJob? {
        state.withLock { state -> UnownedJob? in
            guard state.head < state.jobs.count else { return nil }
            let job = state.jobs[state.head]
            state.head += 1
            if state.head == state.jobs.count {
                state.jobs.removeAll(keepingCapacity: true)
                state.head = 0
            } else if state.head > 1024 {
                state.jobs.removeFirst(state.head)
                state.head = 0
            }
            return job
        }
    }
}
