import Dispatch
import ThreadJoin
import Foundation
import Glibc
import Logging
import Synchronization

/// One unit of work: a pipeline of commands, answered exactly once (by a pool thread or by its deadline timer).
final class RedisJob: Sendable {
    typealias Continuation = CheckedContinuation<Result<[RedisReply], RedisError>, Never>

    let commands: [RedisCommand]
    let timeout: Duration
    /// `DispatchTime.now().uptimeNanoseconds` after which the job is not started any more.
    let deadline: UInt64
    private let continuation: Mutex<Continuation?>

    init(commands: [RedisCommand], timeout: Duration, deadline: UInt64, continuation: Continuation) {
        self.commands = commands
        self.timeout = timeout
        self.deadline = deadline
        self.continuation = Mutex(continuation)
    }

    /// Resumes the waiting caller unless someone already did; returns whether this call did.
    @discardableResult
    func complete(_ result: Result<[RedisReply], RedisError>) -> Bool {
        guard let continuation = continuation.withLock({ state -> Continuation? in
            defer { state = nil }
            return state
        }) else { return false }
        continuation.resume(returning: result)
        return true
    }

    var isCompleted: Bool { continuation.withLock { $0 == nil } }
}

/// Dedicated threads, each owning at most one `RedisConnection`, fed from one queue.
///
/// hiredis calls block, so they run here and never on Swift's cooperative pool. A connection lives and dies on
/// its thread: the thread is its lease. A connection whose context reports an error is dropped, and the thread
/// reconnects when the shared `ReconnectState` allows it.
final class ConnectionPool: Sendable {
    private struct State {
        var queue: [RedisJob] = []
        var head = 0
        var isShutDown = false
        var reconnect: ReconnectState
        var pending: Int { queue.count - head }
    }

    let configuration: RedisConfiguration
    let logger: Logger
    let statistics = RedisStatistics()
    private let state: Mutex<State>
    /// Bumped when a connection breaks or a connect fails: connections made before are presumed dead too (Redis
    /// restarted) and are replaced before their next use instead of each failing one call.
    private let epoch = Atomic<Int>(0)
    private let wakeup = DispatchSemaphore(value: 0)
    private let threads = LiveThreads()
    private let timerQueue = DispatchQueue(label: "airlock.redis.deadlines")

    init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(
            State(
                reconnect: ReconnectState(
                    initial: configuration.reconnectBackoff.initial, maximum: configuration.reconnectBackoff.maximum)))
    }

    /// Starts the threads; they hold the pool (not the client) and end after `shutdown()`.
    func start() {
        threads.starting(configuration.poolSize)
        for index in 0..<configuration.poolSize {
            let thread = Thread { [self] in self.runWorker() }
            thread.name = "airlock-redis-\(index)"
            thread.stackSize = 512 << 10
            thread.start()
        }
    }

    var isHealthy: Bool { state.withLock { $0.reconnect.isHealthy } }

    func submit(_ commands: [RedisCommand], timeout: Duration) async -> Result<[RedisReply], RedisError> {
        let now = DispatchTime.now().uptimeNanoseconds
        let deadline = now + ReconnectState.nanoseconds(timeout)
        return await withCheckedContinuation { continuation in
            let job = RedisJob(commands: commands, timeout: timeout, deadline: deadline, continuation: continuation)
            enum Admission { case queued, shutDown, unavailable(UInt64) }
            let admission = state.withLock { state -> Admission in
                guard !state.isShutDown else { return .shutDown }
                // Redis is known to be down and the next probe is not due: fail without waking anybody.
                if !state.reconnect.isHealthy, state.reconnect.probing || now < state.reconnect.nextAttemptAt {
                    return .unavailable(state.reconnect.nextAttemptAt > now ? state.reconnect.nextAttemptAt - now : 0)
                }
                state.queue.append(job)
                return .queued
            }
            switch admission {
            case .shutDown:
                job.complete(.failure(RedisError(.shutdown, "the Redis client has been shut down")))
            case .unavailable(let retryIn):
                statistics.failedFast.add(1, ordering: .relaxed)
                job.complete(
                    .failure(RedisError(.unavailable, "Redis is unreachable; next attempt in \(retryIn / 1_000_000) ms")))
            case .queued:
                wakeup.signal()
                // The caller never waits past its deadline, even when every thread is stuck in a slow call.
                timerQueue.asyncAfter(deadline: DispatchTime(uptimeNanoseconds: deadline)) { [statistics] in
                    if job.complete(.failure(RedisError(.timeout, "no reply within \(timeout)"))) {
                        statistics.timeouts.add(1, ordering: .relaxed)
                    }
                }
            }
        }
    }

    /// Fails queued work and ends the threads once their current call returns.
    func shutdown() {
        let abandoned = state.withLock { state -> [RedisJob] in
            guard !state.isShutDown else { return [] }
            state.isShutDown = true
            let rest = Array(state.queue[state.head...])
            state.queue.removeAll()
            state.head = 0
            return rest
        }
        for job in abandoned { job.complete(.failure(RedisError(.shutdown, "the Redis client has been shut down"))) }
        for _ in 0..<configuration.poolSize { wakeup.signal() }
    }

    private func runWorker() {
        // hiredis writes with write(2): a peer that closed its socket would raise SIGPIPE and end the process.
        // Blocked on this thread, the write fails with EPIPE instead.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        var connection: RedisConnection?
        var connectionEpoch = 0
        while true {
            wakeup.wait()
            guard let job = take() else { break }
            guard let job else { continue }
            let now = DispatchTime.now().uptimeNanoseconds
            if job.isCompleted || now >= job.deadline {
                continue  // the caller has been answered by its deadline timer
            }
            if connection == nil || connection?.isBroken == true || connectionEpoch != epoch.load(ordering: .acquiring) {
                connection = nil
                connectionEpoch = epoch.load(ordering: .acquiring)
                switch connect() {
                case .success(let fresh): connection = fresh
                case .failure(let error):
                    job.complete(.failure(error))
                    continue
                }
            }
            guard let active = connection else { continue }
            let result: Result<[RedisReply], RedisError>
            do {
                try active.setTimeout(job.timeout)
                result = .success(try active.execute(job.commands))
                statistics.commands.add(job.commands.count, ordering: .relaxed)
            } catch {
                result = .failure(error)
                connection = nil  // a failed call leaves the context mid-reply: never reuse it
                if error.code == .timeout {
                    statistics.timeouts.add(1, ordering: .relaxed)
                    // Redis accepts but does not answer: back off so that callers fail fast meanwhile.
                    reportConnectFailure(error)
                } else {
                    statistics.connectionsLost.add(1, ordering: .relaxed)
                    epoch.add(1, ordering: .releasing)
                }
            }
            job.complete(result)
        }
        threads.threadEnded()
    }

    /// Returns once every worker thread has ended (after ``shutdown()``), without blocking a thread meanwhile.
    func ended() async { await threads.allEnded() }

    /// nil at shutdown; otherwise the next job, or `.some(nil)` when another thread took it.
    private func take() -> RedisJob?? {
        state.withLock { state -> RedisJob?? in
            if state.isShutDown { return nil }
            guard state.pending > 0 else { return .some(nil) }
            let job = state.queue[state.head]
            state.head += 1
            if state.head == state.queue.count {
                state.queue.removeAll(keepingCapacity: true)
                state.head = 0
            } else if state.head > 1024 {
                state.queue.removeFirst(state.head)
                state.head = 0
            }
            return .some(job)
        }
    }

    private func connect() -> Result<RedisConnection, RedisError> {
        let now = DispatchTime.now().uptimeNanoseconds
        let decision = state.withLock { $0.reconnect.decide(now: now) }
        if case .failFast(let retryIn) = decision {
            statistics.failedFast.add(1, ordering: .relaxed)
            return .failure(RedisError(.unavailable, "Redis is unreachable; next attempt in \(retryIn / 1_000_000) ms"))
        }
        do {
            let connection = try RedisConnection(configuration: configuration)
            let wasDown = state.withLock { state -> Bool in
                defer { state.reconnect.connected() }
                return !state.reconnect.isHealthy
            }
            statistics.connects.add(1, ordering: .relaxed)
            if wasDown { logger.notice("redis reachable again") }
            return .success(connection)
        } catch {
            epoch.add(1, ordering: .releasing)
            reportConnectFailure(error)
            return .failure(error)
        }
    }

    private func reportConnectFailure(_ error: RedisError) {
        let now = DispatchTime.now().uptimeNanoseconds
        let failures = state.withLock { state -> Int in
            state.reconnect.failed(now: now, jitter: Double.random(in: 0...1))
            return state.reconnect.consecutiveFailures
        }
        statistics.connectFailures.add(1, ordering: .relaxed)
        // One line when Redis goes away, then one per 2^k failures: a long outage does not flood the log.
        if failures.nonzeroBitCount == 1 {
            logger.warning(
                "redis unreachable", metadata: ["error": "\(error)", "consecutive_failures": "\(failures)"])
        }
    }
}

/// Counters since the client started.
public final class RedisStatistics: Sendable {
    let commands = Atomic<Int>(0)
    let timeouts = Atomic<Int>(0)
    let connectionsLost = Atomic<Int>(0)
    let connects = Atomic<Int>(0)
    let connectFailures = Atomic<Int>(0)
    let failedFast = Atomic<Int>(0)

    /// Commands answered by Redis (each command of a pipeline counts).
    public var commandCount: Int { commands.load(ordering: .relaxed) }
    /// Calls that hit their timeout.
    public var timeoutCount: Int { timeouts.load(ordering: .relaxed) }
    /// Connections dropped after an I/O error other than a timeout.
    public var connectionLostCount: Int { connectionsLost.load(ordering: .relaxed) }
    /// Successful connects (the first ones included).
    public var connectCount: Int { connects.load(ordering: .relaxed) }
    public var connectFailureCount: Int { connectFailures.load(ordering: .relaxed) }
    /// Calls failed at once because Redis was known to be down.
    public var failedFastCount: Int { failedFast.load(ordering: .relaxed) }
}
