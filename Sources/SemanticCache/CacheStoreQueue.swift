import DequeModule
public import ServiceLifecycle
import Synchronization

/// Stores answers off the response path, in a bounded queue that this service owns: the client never waits for an
/// embedding or Redis, a burst cannot grow memory without bound (past `capacity` a store is dropped and counted), and a
/// graceful shutdown stores what was accepted before it returns.
public final class CacheStoreQueue: Service, Sendable {
    public struct Counts: Sendable, Equatable {
        public var accepted = 0
        public var dropped = 0
        public var stored = 0
    }

    private struct Job: Sendable {
        let key: CacheKey
        let completion: CachedCompletion
        let vector: [Float]?
        let ttl: Duration?
    }

    private struct State {
        var jobs = Deque<Job>()
        var running = 0
        var closed = false
        var counts = Counts()
        var consumer: CheckedContinuation<Void, Never>?
        var settledWaiters: [CheckedContinuation<Void, Never>] = []

        var isSettled: Bool { jobs.isEmpty && running == 0 }
    }

    public let cache: SemanticCache
    public let capacity: Int
    public let concurrency: Int
    private let state = Mutex(State())

    public init(cache: SemanticCache, capacity: Int = 1024, concurrency: Int = 2) {
        self.cache = cache
        self.capacity = max(1, capacity)
        self.concurrency = max(1, concurrency)
    }

    public var counts: Counts { state.withLock { $0.counts } }

    /// Queues a store; false (and counted as dropped) when the queue is full or shut down.
    @discardableResult
    public func enqueue(_ key: CacheKey, completion: CachedCompletion, vector: [Float]?, ttl: Duration?) -> Bool {
        let (accepted, consumer) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            guard !state.closed, state.jobs.count < capacity else {
                state.counts.dropped += 1
                return (false, nil)
            }
            state.jobs.append(Job(key: key, completion: completion, vector: vector, ttl: ttl))
            state.counts.accepted += 1
            defer { state.consumer = nil }
            return (true, state.consumer)
        }
        consumer?.resume()
        return accepted
    }

    /// Returns once nothing is queued or being stored.
    public func settled() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.isSettled { return true }
                state.settledWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Stores until graceful shutdown, then stores what is still queued and returns.
    public func run() async {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while let job = await next() {
                    group.addTask {
                        _ = await self.cache.store(job.key, completion: job.completion, vector: job.vector, ttl: job.ttl)
                        self.finished()
                    }
                }
            }
        } onGracefulShutdown: {
            self.close()
        }
    }

    /// Stops accepting; what is queued is still stored.
    public func close() {
        let consumer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume()
    }

    /// The next job once one is queued and a slot is free; nil once closed and drained.
    private func next() async -> Job? {
        while true {
            enum Step { case job(Job), done, wait }
            let step = state.withLock { state -> Step in
                if state.running < concurrency, let job = state.jobs.popFirst() {
                    state.running += 1
                    return .job(job)
                }
                if state.closed && state.jobs.isEmpty { return .done }
                return .wait
            }
            switch step {
            case .job(let job): return job
            case .done: return nil
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state -> Bool in
                        let canTake = state.running < concurrency && !state.jobs.isEmpty
                        if canTake || (state.closed && state.jobs.isEmpty) { return true }
                        state.consumer = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            }
        }
    }

    private func finished() {
        let (consumer, waiters) = state.withLock { state -> (CheckedContinuation<Void, Never>?, [CheckedContinuation<Void, Never>]) in
            state.running -= 1
            state.counts.stored += 1
            let consumer = state.consumer
            state.consumer = nil
            guard state.isSettled else { return (consumer, []) }
            defer { state.settledWaiters.removeAll() }
            return (consumer, state.settledWaiters)
        }
        consumer?.resume()
        for waiter in waiters { waiter.resume() }
    }
}
