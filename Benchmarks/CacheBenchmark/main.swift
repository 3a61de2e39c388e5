// Cache benchmark (not a test): lookup latency through the real cache (Redis round trips, the index search, the gate)
// at growing entry counts in one namespace, and this process's resident memory. Vectors are random unit vectors
// (seeded by entry, so none is kept here) handed in precomputed, so the figures exclude embedding time (≈6–8 ms for a
// short prompt, measured by EmbedBenchmark).
//
// Usage: CacheBenchmark REDIS_URL [local|redis] [SIZES, e.g. 10000,100000]
//   (bash Benchmarks/bench-cache.sh starts throwaway redis-servers: Debian's for local, Redis 8 for redis)
import Embeddings
import Foundation
import Logging
import Redis
import SemanticCache

struct RandomEmbedder: Embedder {
    let dimensions = 384
    func embed(_ texts: [String]) async throws -> [[Float]] { texts.map { _ in randomUnitVector(384) } }
}

func randomUnitVector(_ dimensions: Int) -> [Float] {
    var generator = SystemRandomNumberGenerator()
    return unitVector(dimensions, using: &generator)
}

/// The vector of stored entry `index`: the same every time it is asked for.
func entryVector(_ index: Int) -> [Float] {
    var generator = SeededGenerator(state: UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
    return unitVector(384, using: &generator)
}

struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func unitVector<G: RandomNumberGenerator>(_ dimensions: Int, using generator: inout G) -> [Float] {
    var vector = (0..<dimensions).map { _ in Float.random(in: -1...1, using: &generator) }
    let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
    for index in vector.indices { vector[index] /= norm }
    return vector
}

func residentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    return kilobytes / 1024
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

@main
enum CacheBenchmark {
    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let url = arguments.first ?? "redis://127.0.0.1:6379"
        let backend = SemanticCacheConfiguration.IndexBackend(rawValue: arguments.count > 1 ? arguments[1] : "local") ?? .local
        let sizes = (arguments.count > 2 ? arguments[2] : "10000,100000").split(separator: ",").compactMap { Int($0) }
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var redisConfiguration = try RedisConfiguration(url: url)
        redisConfiguration.commandTimeout = .seconds(2)
        let redis = try RedisClient(configuration: redisConfiguration, logger: logger)
        defer { redis.shutdown() }
        var configuration = SemanticCacheConfiguration(
            maxEntriesPerNamespace: 2_000_000, maxIndexBytes: 4 << 30, keyPrefix: "airlock-bench")
        configuration.index = backend
        let cache = try SemanticCache(configuration: configuration, redis: redis, embedder: RandomEmbedder(), logger: logger)
        _ = try? await cache.delete(.all)
        let baseline = residentMegabytes()
        let answer = CachedCompletion(model: "bench", content: String(repeating: "answer ", count: 40), finishReason: "stop")
        var stored = 0
        print("index: \(backend == .redis ? "Redis vector sets" : "in process")")
        print("entries  exact-hit p50/p99 (ms)  semantic-hit p50/p99 (ms)  miss p50/p99 (ms)  RSS (MB, +over empty)")
        for target in sizes {
            while stored < target {
                // Stores in parallel batches: the benchmark is about lookups, not how fast it fills.
                await withTaskGroup(of: Void.self) { group in
                    for index in stored..<min(target, stored + 64) {
                        group.addTask {
                            let vector = entryVector(index)
                            let key = CacheKey(CacheKeyInput(tenant: "bench", model: "m", lastUserTurn: "question number \(index)"))
                            _ = await cache.store(key, completion: answer, vector: vector)
                        }
                    }
                }
                stored = min(target, stored + 64)
            }
            var exact: [Double] = []
            var semantic: [Double] = []
            var miss: [Double] = []
            var semanticMisses = 0
            for round in 0..<300 {
                let index = Int.random(in: 0..<stored)
                let exactKey = CacheKey(CacheKeyInput(tenant: "bench", model: "m", lastUserTurn: "question number \(index)"))
                var start = ContinuousClock.now
                if case .hit = await cache.lookup(exactKey) {} else { fatalError("expected an exact hit") }
                exact.append(milliseconds(ContinuousClock.now - start))
                // Same words as a stored entry but not the same text: the exact layer misses, the scan finds it.
                let semanticKey = CacheKey(
                    CacheKeyInput(tenant: "bench", model: "m", lastUserTurn: "question number \(index)?!"))
                start = ContinuousClock.now
                // The vector-set index searches approximately (HNSW): a near neighbour it does not reach is a miss, counted.
                if case .hit = await cache.lookup(semanticKey, vector: entryVector(index)) {} else { semanticMisses += 1 }
                semantic.append(milliseconds(ContinuousClock.now - start))
                let missKey = CacheKey(CacheKeyInput(tenant: "bench", model: "m", lastUserTurn: "unrelated \(round)"))
                start = ContinuousClock.now
                _ = await cache.lookup(missKey, vector: randomUnitVector(384))
                miss.append(milliseconds(ContinuousClock.now - start))
            }
            let rss = residentMegabytes()
            print(
                String(
                    format: "%7d  %8.3f / %6.3f          %8.3f / %6.3f            %7.3f / %6.3f    %6.0f (+%.0f)   neighbour found %d/300",
                    stored, percentile(exact, 0.5), percentile(exact, 0.99), percentile(semantic, 0.5),
                    percentile(semantic, 0.99), percentile(miss, 0.5), percentile(miss, 0.99), rss, rss - baseline,
                    300 - semanticMisses))
        }
        _ = try? await cache.delete(.all)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
