import Foundation
public import Logging
public import ServiceLifecycle

/// Runs `services` in a `ServiceGroup` for the length of `body`, then shuts them down gracefully and waits until they
/// have stopped. Servers are never stopped by cancelling their task: a NIO server cancelled while it holds an
/// accepted connection it has not handed out yet crashes the process ("Deinited NIOAsyncWriter without calling
/// finish()", swift-nio #3481).
public func withRunningServices<T: Sendable>(
    _ services: [any Service], logger: Logger = quietLogger, _ body: () async throws -> T
) async throws -> T {
    let group = ServiceGroup(
        configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let result: Result<T, any Error>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return try result.get()
    }
}

/// Warnings and worse only, so that test output stays readable.
public var quietLogger: Logger {
    var logger = Logger(label: "airlock-test")
    logger.logLevel = .warning
    return logger
}

/// Runs CPU-heavy synchronous work (a full-model forward pass in a debug build takes seconds) on a thread of its own.
/// Swift's cooperative pool has one thread per core, two here: a test that computes on it for seconds stops every other
/// test's async work meanwhile (their polls, sleeps and graceful shutdowns), which is how a parallel run stalled for
/// 20 to 30 s before.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
