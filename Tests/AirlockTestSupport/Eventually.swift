public import Testing

/// Polls `condition` until it holds; records a failure if it has not within `timeout`. The one way tests here wait
/// for something to happen. The default is generous on purpose: a whole parallel run shares two cores and one
/// embedding engine, so a store may wait its turn for a while; a condition that never holds still fails. Nothing in the tests waits to show that something did *not* happen: they await the
/// work itself (a queue settled, a request answered) and then check.
public func eventually(
    timeout: Duration = .seconds(120), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    let held = try await condition()
    #expect(held, "condition did not hold within \(timeout)", sourceLocation: sourceLocation)
}

/// Runs `body` until it stops throwing; after `timeout`, throws its last error.
public func eventuallySucceeds<T>(timeout: Duration = .seconds(120), _ body: () async throws -> T) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        do {
            return try await body()
        } catch {
            if ContinuousClock.now >= deadline { throw error }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
