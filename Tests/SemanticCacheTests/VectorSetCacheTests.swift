import AirlockTestSupport
import Foundation
import Redis
import Testing
import TimeSource

@testable import SemanticCache

/// What only the vector-set backend (`index: redis`) has, against the Redis 8 server `make test` fetches and the real
/// model: two instances sharing one index with nothing loaded, members leaving the set with their entries, a refused
/// vector. What both backends share (hits, the gate, expiry, the LRU cap, deletes, a Redis restart) runs on both in
/// `SemanticCacheIntegrationTests`.
@Suite(.serialized) struct VectorSetCacheTests {
    typealias Base = SemanticCacheIntegrationTests

    static func withCache<T>(
        _ configure: (inout SemanticCacheConfiguration) -> Void = { _ in }, time: any TimeSource = SystemTime(),
        _ body: (SemanticCache, RedisServerProcess, RedisClient) async throws -> T
    ) async throws -> T {
        let embedder = try Base.embedder.get()
        return try await RedisServerProcess.with(server: .redis8) { server in
            let redis = try Base.makeRedis(server)
            defer { redis.shutdown() }
            var configuration = SemanticCacheConfiguration()
            configuration.index = .redis
            configure(&configuration)
            let cache = try SemanticCache(
                configuration: configuration, redis: redis, embedder: embedder, time: time, logger: Base.quiet)
            return try await body(cache, server, redis)
        }
    }

    @Test func twoInstancesShareEntriesWithoutLoadingAnything() async throws {
        let embedder = try Base.embedder.get()
        try await RedisServerProcess.with(server: .redis8) { server in
            let redisA = try Base.makeRedis(server)
            let redisB = try Base.makeRedis(server)
            defer {
                redisA.shutdown()
                redisB.shutdown()
            }
            var configuration = SemanticCacheConfiguration()
            configuration.index = .redis
            let a = try SemanticCache(configuration: configuration, redis: redisA, embedder: embedder, logger: Base.quiet)
            let b = try SemanticCache(configuration: configuration, redis: redisB, embedder: embedder, logger: Base.quiet)
            _ = await a.store(Base.key("What is the boiling point of water?"), completion: Base.answer)
            // B never ran, loaded or followed anything: the index is Redis's.
            #expect(Base.layer(await b.lookup(Base.key("What's the boiling point of water?"))) == "semantic")
            #expect(Base.layer(await b.lookup(Base.key("What is the boiling point of water?"))) == "exact")
            let deleted = try await b.delete(.tenant("acme"))
            #expect(deleted == 1)
            #expect(Base.layer(await a.lookup(Base.key("What's the boiling point of water?"))) == "miss")
            let left = try await a.vectorSetCount(namespace: Base.key("x").namespace)
            #expect(left == 0)
        }
    }

    @Test func expiredEntriesAreNeverServedAndLeaveTheVectorSet() async throws {
        let time = ManualTime()
        try await Self.withCache(time: time) { cache, _, _ in
            let key = Base.key("What is the capital of France?")
            _ = await cache.store(key, completion: Base.answer, ttl: .seconds(60))
            #expect(Base.layer(await cache.lookup(Base.key("What's the capital of France?"))) == "semantic")
            // Past its expiry by the cache's clock: no longer a candidate, whatever Redis has not yet expired.
            time.advance(by: .seconds(61))
            #expect(Base.layer(await cache.lookup(Base.key("What's the capital of France?"))) == "miss")
            let value2 = try await cache.vectorSetCount(namespace: key.namespace)
            #expect(value2 == 1)
            let value3 = try await cache.sweepVectorSets()
            #expect(value3 == 1)
            let value4 = try await cache.vectorSetCount(namespace: key.namespace)
            #expect(value4 == 0)
        }
    }

    /// The vector goes in with `VADD … CAS` after the entry's script: when Redis refuses it, the store is counted as
    /// failed and the entry still answers exact lookups; semantic lookups of that namespace are bypassed, not wrong.
    @Test func aRefusedVectorFailsTheStoreAndExactHitsRemain() async throws {
        try await Self.withCache { cache, _, redis in
            let key = Base.key("Define entropy.")
            // Something that is not a vector set under the set's key: VADD and VCARD answer WRONGTYPE.
            let setKey = "airlock:{\(key.namespace)}:vs"
            _ = try await redis.execute(RedisCommand("SET", setKey, "not a vector set")).checked()
            guard case .failed(let reason) = await cache.store(key, completion: Base.answer) else {
                Issue.record("expected the store to fail")
                return
            }
            #expect(reason.contains("WRONGTYPE"))
            #expect(cache.statistics.storeFailureCount == 1)
            #expect(Base.layer(await cache.lookup(key)) == "exact")
            #expect(Base.layer(await cache.lookup(Base.key("Please define entropy."))) == "bypass")
        }
    }
}
