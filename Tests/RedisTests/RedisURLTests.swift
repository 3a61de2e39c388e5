import Testing

@testable import Redis

@Suite struct RedisURLTests {
    @Test func tcpWithEverything() throws {
        let parts = try RedisURL.parse("redis://alice:s%40cret@cache.internal:6380/3")
        #expect(parts.endpoint == .tcp(host: "cache.internal", port: 6380))
        #expect(parts.username == "alice")
        #expect(parts.password == "s@cret")
        #expect(parts.database == 3)
    }

    @Test func defaultsAndPasswordOnlyForms() throws {
        #expect(try RedisURL.parse("redis://localhost").endpoint == .tcp(host: "localhost", port: 6379))
        #expect(try RedisURL.parse("redis://localhost/").database == 0)
        let colon = try RedisURL.parse("redis://:pw@h:1")
        #expect(colon.username == nil && colon.password == "pw")
        let bare = try RedisURL.parse("redis://pw@h:1/0")
        #expect(bare.username == nil && bare.password == "pw")
        #expect(try RedisURL.parse("redis://[::1]:7000/2").endpoint == .tcp(host: "::1", port: 7000))
    }

    @Test func unixSocket() throws {
        let parts = try RedisURL.parse("unix:///var/run/redis/redis.sock?db=5&password=x")
        #expect(parts.endpoint == .unixSocket(path: "/var/run/redis/redis.sock"))
        #expect(parts.database == 5)
        #expect(parts.password == "x")
        #expect(try RedisURL.parse("unix:///tmp/r.sock").database == 0)
    }

    @Test(arguments: [
        "http://localhost:6379", "redis://", "redis://host:0", "redis://host:99999", "redis://host:port",
        "redis://host/-1", "redis://host/x", "unix://relative.sock", "unix:///a.sock?db=z", "unix:///a?foo=1",
        "redis://[::1", "redis://u:%zz@h",
    ])
    func malformedURLsAreRejected(_ url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }

    @Test func validationRejectsImpossibleSettings() {
        var configuration = RedisConfiguration()
        configuration.poolSize = 0
        #expect(throws: RedisError.self) { try configuration.validated() }
        configuration = RedisConfiguration()
        configuration.commandTimeout = .zero
        #expect(throws: RedisError.self) { try configuration.validated() }
    }
}

@Suite struct ReconnectStateTests {
    @Test func healthyPoolConnectsFreely() {
        var state = ReconnectState(initial: .milliseconds(50), maximum: .seconds(1))
        #expect(state.decide(now: 0) == .connect)
        #expect(state.decide(now: 0) == .connect)
    }

    @Test func afterFailureOneProbeAtATimeOnceBackoffPassed() {
        var state = ReconnectState(initial: .milliseconds(50), maximum: .seconds(1))
        state.failed(now: 0, jitter: 1)
        #expect(state.nextAttemptAt == 50_000_000)
        #expect(state.decide(now: 10_000_000) == .failFast(retryIn: 40_000_000))
        #expect(state.decide(now: 50_000_000) == .connect)
        // A second thread while the probe is out: fail fast.
        if case .connect = state.decide(now: 60_000_000) { Issue.record("two probes at once") }
        state.failed(now: 100_000_000, jitter: 1)
        #expect(state.nextAttemptAt == 200_000_000)
        state.connected()
        #expect(state.isHealthy)
        #expect(state.decide(now: 0) == .connect)
    }

    @Test func backoffIsCappedAndJittered() {
        var state = ReconnectState(initial: .milliseconds(50), maximum: .seconds(1))
        for _ in 0..<40 { state.failed(now: 0, jitter: 1) }
        #expect(state.nextAttemptAt == 1_000_000_000)
        state.failed(now: 0, jitter: 0)
        #expect(state.nextAttemptAt == 500_000_000)
    }
}
