public import Logging
public import ServiceLifecycle

/// A Redis client over libhiredis: a pool of connections, each driven by its own dedicated thread.
///
/// Built for a cache in the request path: every call is bounded by its timeout (queueing included), a dead Redis
/// makes calls fail at once with `RedisError.Code.unavailable` while threads probe it with exponential backoff,
/// and the pool recovers by itself when Redis returns. hiredis 0.14 has no TLS: put a TLS tunnel beside Redis
/// where the link needs one.
public final class RedisClient: Service, Sendable {
    public let configuration: RedisConfiguration
    private let pool: ConnectionPool

    /// Starts the pool's threads; connections are made on first use.
    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "airlock.redis")) throws(RedisError) {
        self.configuration = try configuration.validated()
        self.pool = ConnectionPool(configuration: self.configuration, logger: logger)
        pool.start()
    }

    deinit { pool.shutdown() }

    /// Runs until graceful shutdown, then fails what is still queued and waits (without blocking a thread) until the
    /// threads have ended.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdownAndWait()
    }

    /// Fails queued calls with `shutdown` and tells the threads to end once their current call returns; returns at
    /// once. Idempotent.
    public func shutdown() { pool.shutdown() }

    /// ``shutdown()``, then waits until the threads have ended.
    public func shutdownAndWait() async {
        pool.shutdown()
        await pool.ended()
    }

    public var statistics: RedisStatistics { pool.statistics }

    /// Whether the last connect attempt succeeded (false while Redis is known to be down).
    public var isHealthy: Bool { pool.isHealthy }

    /// Runs one command. An error reply throws `serverError`; nothing waits longer than `timeout`
    /// (default: the configured command timeout).
    @discardableResult
    public func execute(_ command: RedisCommand, timeout: Duration? = nil) async throws(RedisError) -> RedisReply {
        try await pool.submit([command], timeout: timeout ?? configuration.commandTimeout).get()[0].checked()
    }

    /// Runs the commands as one pipeline on one connection (one round trip) and returns one reply per command,
    /// error replies included as `.error`. The timeout covers the whole pipeline.
    public func pipeline(_ commands: [RedisCommand], timeout: Duration? = nil) async throws(RedisError) -> [RedisReply] {
        if commands.isEmpty { return [] }
        return try await pool.submit(commands, timeout: timeout ?? configuration.commandTimeout).get()
    }
}
