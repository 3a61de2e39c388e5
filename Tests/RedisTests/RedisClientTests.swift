import Foundation
import Logging
import AirlockTestSupport
import Testing

@testable import Redis

/// The real hiredis client against a real `redis-server` each test starts.
@Suite struct RedisClientTests {
    static func client(_ url: String, configure: (inout RedisConfiguration) -> Void = { _ in }) throws -> RedisClient {
        var configuration = try RedisConfiguration(url: url)
        configure(&configuration)
        var logger = Logger(label: "test.redis")
        logger.logLevel = .critical
        return try RedisClient(configuration: configuration, logger: logger)
    }

    @Test func basicCommands() async throws {
        try await RedisServerProcess.with { server in
            let redis = try Self.client(server.tcpURL)
            defer { redis.shutdown() }
            try await redis.ping()
            try await redis.set("greeting", to: "hello")
            #expect(try await redis.get("greeting") == Array("hello".utf8))
            #expect(try await redis.get("missing") == nil)
            #expect(try await redis.execute(RedisCommand("INCRBY", "counter", 5)) == .integer(5))
            try await redis.execute(RedisCommand("HSET", "h", "a", "1", "b", "2"))
            let map = try #require(try await redis.execute(RedisCommand("HGETALL", "h")).fieldMap)
            #expect(map == ["a": Array("1".utf8), "b": Array("2".utf8)])
            #expect(try await redis.delete(["greeting", "counter", "h", "missing"]) == 3)
            await #expect(throws: RedisError.self) { try await redis.execute(RedisCommand("NOSUCHCOMMAND")) }
            do {
                try await redis.execute(RedisCommand("INCR", "h2"))
                try await redis.execute(RedisCommand("HSET", "h2", "f", "v"))
                Issue.record("WRONGTYPE expected")
            } catch let error as RedisError {
                #expect(error.code == .serverError)
                #expect(error.message.hasPrefix("WRONGTYPE"))
            }
            // Pooled connections stay usable after an error reply.
            try await redis.ping()
        }
    }

    @Test func pipelineAnswersInOrderInOneRoundTrip() async throws {
        try await RedisServerProcess.with { server in
            let redis = try Self.client(server.tcpURL)
            defer { redis.shutdown() }
            var commands = (0..<200).map { RedisCommand("SET", "k\($0)", "v\($0)") }
            commands.append(RedisCommand("INCR", "k0"))  // an error reply in the middle of a pipeline
            commands += (0..<200).map { RedisCommand("GET", "k\($0)") }
            let replies = try await redis.pipeline(commands)
            #expect(replies.count == 401)
            #expect(replies[0] == .status("OK"))
            #expect(replies[200].errorMessage != nil)
            for index in 0..<200 { #expect(replies[201 + index].string == "v\(index)") }
        }
    }

    @Test func binaryValuesRoundTrip() async throws {
        try await RedisServerProcess.with { server in
            let redis = try Self.client(server.tcpURL)
            defer { redis.shutdown() }
            let everyByte = (0...255).map { UInt8($0) } + [0, 0, 13, 10, 0]
            let binaryKey: [UInt8] = [0x00, 0xFF, 0x0D, 0x0A, 0x20]
            try await redis.execute(RedisCommand("SET", binaryKey, everyByte))
            #expect(try await redis.execute(RedisCommand("GET", binaryKey)) == .bulkString(everyByte))
            try await redis.set("empty", to: [UInt8]())
            #expect(try await redis.get("empty") == [])
            let floats: [Float] = (0..<384).map { Float($0) * 0.001 - 0.2 }
            let bytes = floats.withUnsafeBytes { Array($0) }
            try await redis.execute(RedisCommand("HSET", "vec", "v", bytes))
            let back = try #require(try await redis.execute(RedisCommand("HGET", "vec", "v")).bytes)
            #expect(back == bytes)
            let large = [UInt8](repeating: 0x41, count: 4 << 20)
            try await redis.set("large", to: large, timeout: .seconds(5))
            #expect(try await redis.get("large", timeout: .seconds(5))?.count == large.count)
            let unicode = "naïve — 東京 🚀"
            try await redis.set(unicode, to: unicode)
            #expect(try await redis.get(unicode) == Array(unicode.utf8))
        }
    }

    @Test func slowCommandTimesOutWithinItsTimeoutAndPoolRecovers() async throws {
        try await RedisServerProcess.with { server in
            let redis = try Self.client(server.tcpURL) { $0.poolSize = 2 }
            defer { redis.shutdown() }
            try await redis.ping()
            do {
                try await redis.execute(RedisCommand("DEBUG", "SLEEP", "0.5"), timeout: .milliseconds(80))
                Issue.record("expected a timeout")
            } catch let error as RedisError {
                // A timeout, not the reply that the 500 ms sleep would have given: the call ended on its own deadline.
                #expect(error.code == .timeout)
            }
            // After the server wakes up, the pool answers again by itself.
            try await eventuallySucceeds { try await redis.ping() }
            // A per-command timeout larger than the default lets a slow command finish.
            try await redis.execute(RedisCommand("DEBUG", "SLEEP", "0.2"), timeout: .seconds(2))
        }
    }

    @Test func hungServerFailsFastAndRecoversAfterItResumes() async throws {
        try await RedisServerProcess.with { server in
            let redis = try Self.client(server.tcpURL)
            defer { redis.shutdown() }
            try await redis.ping()
            server.pause()
            // Each call ends while the server is still stopped: on its timeout, not when the server resumes.
            for _ in 0..<20 {
                await #expect(throws: RedisError.self) { try await redis.ping() }
            }
            server.resume()
            try await eventuallySucceeds { try await redis.ping() }
        }
    }

    @Test func killedServerErrorsFastThenRecoversAfterRestart() async throws {
        try await RedisServerProcess.with { server in
            let redis = try Self.client(server.tcpURL)
            defer { redis.shutdown() }
            try await redis.set("before", to: "1")
            server.kill()
            var codes: Set<String> = []
            for _ in 0..<50 {
                do {
                    try await redis.ping()
                    Issue.record("ping succeeded with Redis dead")
                } catch let error as RedisError {
                    codes.insert(error.code.description)
                }
            }
            // Failing fast: most calls are refused without a connect attempt while the backoff runs.
            #expect(codes.contains("unavailable"))
            #expect(redis.isHealthy == false)
            try await server.start()
            try await eventuallySucceeds { try await redis.ping() }
            // A pooled connection that last saw the old server fails its first command, then reconnects.
            try await eventuallySucceeds { try await redis.set("after", to: "2") }
            #expect(try await redis.get("after") == Array("2".utf8))
            #expect(redis.isHealthy)
        }
    }

    @Test func unixSocketAuthAndDatabaseSelection() async throws {
        try await RedisServerProcess.with(password: "p@ss word") { server in
            let secret = "p%40ss%20word"
            let db3 = try Self.client("redis://:\(secret)@127.0.0.1:\(server.port)/3")
            let unix = try Self.client("unix://\(server.socketPath)?db=3&password=\(secret)")
            let db0 = try Self.client("unix://\(server.socketPath)?password=\(secret)")
            defer {
                db3.shutdown()
                unix.shutdown()
                db0.shutdown()
            }
            try await db3.set("where", to: "three")
            #expect(try await unix.get("where") == Array("three".utf8))
            #expect(try await db0.get("where") == nil)

            let wrong = try Self.client("redis://:nope@127.0.0.1:\(server.port)")
            defer { wrong.shutdown() }
            do {
                try await wrong.ping()
                Issue.record("a wrong password was accepted")
            } catch let error as RedisError {
                #expect(error.code == .authenticationFailed)
            }
        }
    }

    @Test func concurrentCallsShareThePool() async throws {
        try await RedisServerProcess.with { server in
            let redis = try Self.client(server.tcpURL) { $0.commandTimeout = .seconds(2) }
            defer { redis.shutdown() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<400 {
                    group.addTask {
                        try await redis.execute(RedisCommand("INCR", "shared"))
                        try await redis.set("k\(index)", to: "\(index)")
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await redis.get("shared") == Array("400".utf8))
            #expect(redis.statistics.connectCount <= redis.configuration.poolSize)
        }
    }

    @Test func shutdownFailsLaterCalls() async throws {
        try await RedisServerProcess.with { server in
            let redis = try Self.client(server.tcpURL)
            try await redis.ping()
            redis.shutdown()
            do {
                try await redis.ping()
                Issue.record("call after shutdown succeeded")
            } catch let error as RedisError {
                #expect(error.code == .shutdown)
            }
        }
    }

    @Test func unreachableRedisFailsAndThenFailsFast() async throws {
        // Nothing listens on this port (never started, below the ephemeral range): refused at once, then fail-fast
        // until the backoff passes.
        let port = RedisServerProcess.randomPort()
        let redis = try Self.client("redis://127.0.0.1:\(port)")
        defer { redis.shutdown() }
        var codes: Set<String> = []
        for _ in 0..<10 {
            do {
                try await redis.ping()
                Issue.record("ping succeeded with nothing listening")
            } catch {
                codes.insert(error.code.description)
            }
        }
        #expect(codes.isSubset(of: ["connect_failed", "unavailable"]), "\(codes)")
        #expect(codes.contains("unavailable"))
    }
}
