import Hummingbird
public import Logging
import NIOCore
public import ServiceLifecycle
import Synchronization

/// A local stand-in for Qwen's OpenAI-compatible API (DashScope compatible mode), serving under
/// `/compatible-mode/v1`: chat completions (whole and streamed, with thinking), embeddings and the model list,
/// deterministic answers at a configurable speed, and Qwen's failures on demand (see ``EmulatorFault``). A model
/// named like `Qwen3Guard-Gen-…` answers with a Qwen3Guard-Gen verdict, and `[[echo]]` in the last user message
/// makes the answer that message said back.
///
/// Run it as a `Service` in a `ServiceGroup`, or let ``withRunning(_:logger:_:)`` start it on an ephemeral port for
/// the length of a test.
public final class QwenEmulator: Service, Sendable {
    private enum Lifecycle {
        /// Not started yet; callers may already wait for the port.
        case idle(waiters: [CheckedContinuation<Int, any Error>])
        case starting(waiters: [CheckedContinuation<Int, any Error>])
        case listening(port: Int)
        case stopped(EmulatorError)
    }

    public let configuration: EmulatorConfiguration
    private let logger: Logger
    private let state = EmulatorState()
    private let lifecycle = Mutex(Lifecycle.idle(waiters: []))

    public init(configuration: EmulatorConfiguration = .init(), logger: Logger = Logger(label: "qwen-emulator")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until the task is cancelled or a graceful shutdown is triggered.
    public func run() async throws {
        let started = lifecycle.withLock { lifecycle -> Bool in
            guard case .idle(let waiters) = lifecycle else { return false }
            lifecycle = .starting(waiters: waiters)
            return true
        }
        guard started else { throw EmulatorError(.alreadyRunning, "this emulator has already been started") }

        let responder = EmulatorResponder(configuration: configuration, state: state, logger: logger)
        let application = Application(
            responder: responder,
            server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionWatchHandler()])),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { [weak self] channel in
                self?.didStartListening(port: channel.localAddress?.port ?? 0)
            },
            logger: logger
        )
        do {
            try await application.run()
            didStop(nil)
        } catch {
            didStop(error)
            throw error
        }
    }

    /// Waits until the emulator listens and returns its port (the ephemeral one when configured with port 0).
    /// Throws if it stopped, or failed to bind, first.
    public func waitUntilListening() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let result = lifecycle.withLock { lifecycle -> Result<Int, EmulatorError>? in
                switch lifecycle {
                case .idle(var waiters):
                    waiters.append(continuation)
                    lifecycle = .idle(waiters: waiters)
                    return nil
                case .starting(var waiters):
                    waiters.append(continuation)
                    lifecycle = .starting(waiters: waiters)
                    return nil
                case .listening(let port):
                    return .success(port)
                case .stopped(let error):
                    return .failure(error)
                }
            }
            if let result { continuation.resume(with: result) }
        }
    }

    /// A snapshot of what the emulator has received so far.
    public var stats: EmulatorStats {
        state.stats
    }

    /// Zeroes the counters and forgets how often each limited fault was served.
    public func resetStats() {
        state.resetStats()
        state.resetFaultCounts()
    }

    /// Forgets how often each limited fault was served, so that `[[fault:NAME:N]]` strikes N more times.
    public func resetFaultCounts() {
        state.resetFaultCounts()
    }

    /// Applies `fault` to every chat request until cleared with `nil`, whatever the request asks for. An unknown
    /// name makes every chat request fail with a 400 naming the known faults.
    public func setForcedFault(_ name: String?) {
        state.forcedFault = name
    }

    /// Typed form of ``setForcedFault(_:)-(String?)``.
    public func setForcedFault(_ fault: EmulatorFault?) {
        state.forcedFault = fault?.rawValue
    }

    /// Starts an emulator (on an ephemeral port unless `configuration` names one), runs `body` with it and its base
    /// URL (`http://127.0.0.1:PORT/compatible-mode/v1`), then shuts it down gracefully, also when `body` throws, and
    /// returns once it has stopped. It is never stopped by cancellation: a NIO server cancelled while it holds an
    /// accepted connection it has not handed out yet crashes the process (swift-nio #3481).
    public static func withRunning<T: Sendable>(
        _ configuration: EmulatorConfiguration = .init(),
        logger: Logger = QwenEmulator.quietLogger,
        _ body: (QwenEmulator, String) async throws -> T
    ) async throws -> T {
        let emulator = QwenEmulator(configuration: configuration, logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [.init(service: emulator)], gracefulShutdownSignals: [], logger: logger)
        // Held answers and streams end on graceful shutdown; the bound only guards against a bug hanging a test run.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(20)
        let group = ServiceGroup(configuration: groupConfiguration)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let result: Result<T, any Error>
            do {
                let port = try await emulator.waitUntilListening()
                let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
                result = .success(try await body(emulator, "http://\(host):\(port)/compatible-mode/v1"))
            } catch {
                result = .failure(error)
            }
            await group.triggerGracefulShutdown()
            do {
                try await tasks.waitForAll()
            } catch {
                if case .success = result { throw error }
            }
            return try result.get()
        }
    }

    /// The default logger of ``withRunning(_:logger:_:)``: warnings and worse only, so test output stays readable.
    public static var quietLogger: Logger {
        var logger = Logger(label: "qwen-emulator")
        logger.logLevel = .warning
        return logger
    }

    private func didStartListening(port: Int) {
        let waiters = lifecycle.withLock { lifecycle -> [CheckedContinuation<Int, any Error>] in
            guard case .starting(let waiters) = lifecycle else { return [] }
            lifecycle = .listening(port: port)
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    private func didStop(_ failure: (any Error)?) {
        let (waiters, error) = lifecycle.withLock {
            lifecycle -> ([CheckedContinuation<Int, any Error>], EmulatorError) in
            guard case .starting(let waiters) = lifecycle else {
                let error = EmulatorError(.notRunning, "the emulator has stopped")
                lifecycle = .stopped(error)
                return ([], error)
            }
            let reason = failure.map { "\($0)" } ?? "it was shut down"
            let error = EmulatorError(.bindFailed, "the emulator stopped before listening: \(reason)")
            lifecycle = .stopped(error)
            return (waiters, error)
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }
}
