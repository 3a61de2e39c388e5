import AirlockTestSupport
import Foundation
import Redis
import Testing

@testable import SemanticCache

/// The vector-set index against the Redis 8 server `scripts/fetch-redis8.sh` fetches (pinned, sha256-checked), and
/// detection of vector-set support against Debian's Redis 7.
@Suite struct VectorSetIndexTests {
    /// A unit vector at `angle` radians in the plane of the first two of `dimensions` axes.
    static func vector(_ angle: Double, dimensions: Int = 8) -> [Float] {
        var vector = [Float](repeating: 0, count: dimensions)
        vector[0] = Float(cos(angle))
        vector[1] = Float(sin(angle))
        return vector
    }

    static func withIndex<T>(_ body: (VectorSetIndex, RedisClient) async throws -> T) async throws -> T {
        try await RedisServerProcess.with(server: .redis8) { server in
            let redis = try SemanticCacheIntegrationTests.makeRedis(server)
            defer { redis.shutdown() }
            return try await body(VectorSetIndex(redis: redis, prefix: "airlock-test"), redis)
        }
    }

    @Test func supportIsDetectedOnRedis8AndNotOnRedis7() async throws {
        let onRedis8 = try await Self.withIndex { _, redis in try await VectorSetIndex.isSupported(by: redis) }
        #expect(onRedis8)
        let onRedis7 = try await RedisServerProcess.with { server in
            let redis = try SemanticCacheIntegrationTests.makeRedis(server)
            defer { redis.shutdown() }
            return try await VectorSetIndex.isSupported(by: redis)
        }
        #expect(!onRedis7)
    }

    @Test func searchReturnsUnexpiredMembersAboveTheThresholdBestFirstWithTheirText() async throws {
        try await Self.withIndex { index, redis in
            let now: Int64 = 1_800_000_000_000
            // cos(0.3) = 0.955, cos(0.6) = 0.825, cos(1.2) = 0.362 to the query at angle 0.
            try await index.add(
                namespace: "ns", id: "near", vector: Self.vector(0.3), text: "what is the capital of france",
                expiresAtMilliseconds: now + 60_000)
            try await index.add(
                namespace: "ns", id: "middle", vector: Self.vector(0.6), text: "capital of spain",
                expiresAtMilliseconds: now + 60_000)
            try await index.add(
                namespace: "ns", id: "far", vector: Self.vector(1.2), text: "a poem", expiresAtMilliseconds: now + 60_000)
            try await index.add(
                namespace: "ns", id: "expired", vector: Self.vector(0.05), text: "stale", expiresAtMilliseconds: now - 1)
            try await index.add(
                namespace: "other", id: "elsewhere", vector: Self.vector(0), text: "other namespace",
                expiresAtMilliseconds: now + 60_000)
            #expect(index.key("ns") == "airlock-test:{ns}:vs", "inside the namespace's hash tag")
            #expect(try await index.count(namespace: "ns") == 4)

            let found = try await index.search(
                namespace: "ns", vector: Self.vector(0), minimum: 0.8, limit: 4, nowMilliseconds: now)
            #expect(found.map(\.id) == ["near", "middle"], "\(found)")
            #expect(found.first?.text == "what is the capital of france")
            // Int8 quantization moves a cosine by well under a hundredth here.
            #expect(abs((found.first?.similarity ?? 0) - cos(0.3)) < 0.01)
            #expect(abs((found.last?.similarity ?? 0) - cos(0.6)) < 0.01)
            let strict = try await index.search(
                namespace: "ns", vector: Self.vector(0), minimum: 0.9, limit: 4, nowMilliseconds: now)
            #expect(strict.map(\.id) == ["near"])
            let one = try await index.search(
                namespace: "ns", vector: Self.vector(0), minimum: 0, limit: 1, nowMilliseconds: now)
            #expect(one.map(\.id) == ["near"])
            // Past every expiry: nothing, though the members are still there until removed.
            let later = try await index.search(
                namespace: "ns", vector: Self.vector(0), minimum: 0, limit: 4, nowMilliseconds: now + 120_000)
            #expect(later.isEmpty)

            try await index.remove(namespace: "ns", ids: ["near", "expired", "absent"])
            #expect(try await index.count(namespace: "ns") == 2)
            let after = try await index.search(
                namespace: "ns", vector: Self.vector(0), minimum: 0.8, limit: 4, nowMilliseconds: now)
            #expect(after.map(\.id) == ["middle"])
            #expect(try await index.search(namespace: "empty", vector: Self.vector(0), minimum: 0, limit: 4,
                nowMilliseconds: now).isEmpty)
            // Texts with quotes, backslashes and non-ASCII survive the attributes.
            try await index.add(
                namespace: "ns", id: "quoted", vector: Self.vector(0.01), text: #"say "hi" \ 你好"#,
                expiresAtMilliseconds: now + 60_000)
            let quoted = try await index.search(
                namespace: "ns", vector: Self.vector(0), minimum: 0.99, limit: 1, nowMilliseconds: now)
            #expect(quoted.first?.text == #"say "hi" \ 你好"#)
            _ = redis
        }
    }
}
