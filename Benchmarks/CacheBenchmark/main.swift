// Cache benchmark (not a test): lookup latency through the real cache (Redis round trips, the index search, the gate)
// at growing entry counts in one namespace, and this process's resident memory. Vectors are handed in precomputed, so
// the figures exclude embedding time (≈6–8 ms for a short prompt, measured by EmbedBenchmark). They are seeded by
// entry (none is kept here) and come in two kinds:
// - `prompts` (default): drawn from a Gaussian with the mean and covariance of real prompts' embeddings (4,000
//   questions of ../shared/eval/cache/qqp-dev.tsv embedded with all-MiniLM-L6-v2 at start), so a million entries
//   spread as a million English prompts would;
// - `random`: uniform on the sphere, the worst case for an HNSW graph (no structure to follow).
//
// Usage: CacheBenchmark REDIS_URL [local|redis] [SIZES, e.g. 10000,100000] [prompts|random]
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

/// Where entry vectors come from.
enum VectorSource: Sendable {
    case random
    /// Centered embeddings of real prompts and their mean.
    case prompts(pool: [[Float]], mean: [Float])

    /// Embeds up to `count` distinct questions of a pairs file with the model in `modelDirectory`.
    static func prompts(pairsFile: String, modelDirectory: String, count: Int) async throws -> VectorSource {
        let lines = try String(contentsOfFile: pairsFile, encoding: .utf8).split(separator: "\n").dropFirst()
        var seen = Set<Substring>()
        var texts: [String] = []
        for line in lines {
            for text in line.split(separator: "\t").prefix(2) where texts.count < count && seen.insert(text).inserted {
                texts.append(String(text))
            }
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let embedder = LocalEmbedder(
            encoder: try BertEncoder.load(directory: modelDirectory), configuration: .init(workers: 2), logger: logger)
        defer { embedder.shutdown() }
        var vectors: [[Float]] = []
        for start in stride(from: 0, to: texts.count, by: 64) {
            vectors += try await embedder.embed(Array(texts[start..<min(texts.count, start + 64)]))
        }
        let dimensions = vectors[0].count
        var mean = [Float](repeating: 0, count: dimensions)
        for vector in vectors { for index in 0..<dimensions { mean[index] += vector[index] / Float(vectors.count) } }
        let pool = vectors.map { vector in (0..<dimensions).map { vector[$0] - mean[$0] } }
        return .prompts(pool: pool, mean: mean)
    }

    /// Vector `index` of `stream` (0: stored entries, 1: queries for prompts never stored): the same every time.
    /// For prompts: mean + Σ gⱼ·xⱼ / √16 over 16 random centered pool vectors xⱼ with standard normal gⱼ, which has the
    /// pool's mean and covariance; then normalized, as the embedder's vectors are.
    func vector(_ index: Int, stream: UInt64 = 0) -> [Float] {
        var generator = SeededGenerator(state: (UInt64(index) ^ (stream << 48)) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        switch self {
        case .random:
            return unitVector(384, using: &generator)
        case .prompts(let pool, let mean):
            var vector = mean
            for _ in 0..<16 {
                let member = pool[Int.random(in: 0..<pool.count, using: &generator)]
                // Box–Muller.
                let u1 = Float.random(in: Float.ulpOfOne..<1, using: &generator)
                let u2 = Float.random(in: 0..<1, using: &generator)
                let g = (-2 * log(u1)).squareRoot() * cos(2 * Float.pi * u2) / 4
                for index in vector.indices { vector[index] += g * member[index] }
            }
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return vector.map { $0 / norm }
        }
    }
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

/// A line on standard output, unbuffered (the 1M fill takes long: each size's line shows when it is measured).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// Redis's `used_memory_human` (entries, sets and, with vector sets, the index).
func redisMemory(_ redis: RedisClient) async -> String {
    guard let info = try? await redis.execute(RedisCommand("INFO", "memory")).string else { return "?" }
    return info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("used_memory_human:") }
        .map { String($0.dropFirst("used_memory_human:".count)) } ?? "?"
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
        let source: VectorSource =
            arguments.count > 3 && arguments[3] == "random"
            ? .random
            : try await .prompts(
                pairsFile: ProcessInfo.processInfo.environment["CACHE_BENCH_PAIRS"] ?? "../shared/eval/cache/qqp-dev.tsv",
                modelDirectory: ProcessInfo.processInfo.environment["AIRLOCK_MODEL_DIR"] ?? "models/all-MiniLM-L6-v2",
                count: 4000)
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
        let kind: String
        if case .prompts(let pool, _) = source { kind = "like \(pool.count) real prompts' embeddings" } else { kind = "uniformly random" }
        say("index: \(backend == .redis ? "Redis vector sets" : "in process"); vectors: \(kind)")
        say("entries  exact-hit p50/p99 (ms)  semantic-hit p50/p99 (ms)  miss p50/p99 (ms)  RSS (MB, +over empty)")
        for target in sizes {
            while stored < target {
                // Stores in parallel batches: the benchmark is about lookups, not how fast it fills.
                await withTaskGroup(of: Void.self) { group in
                    for index in stored..<min(target, stored + 64) {
                        group.addTask {
                            let vector = source.vector(index)
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
                if case .hit = await cache.lookup(semanticKey, vector: source.vector(index)) {} else { semanticMisses += 1 }
                semantic.append(milliseconds(ContinuousClock.now - start))
                let missKey = CacheKey(CacheKeyInput(tenant: "bench", model: "m", lastUserTurn: "unrelated \(round)"))
                start = ContinuousClock.now
                _ = await cache.lookup(missKey, vector: source.vector(round, stream: 1))
                miss.append(milliseconds(ContinuousClock.now - start))
            }
            let rss = residentMegabytes()
            say(
                String(
                    format: "%7d  %8.3f / %6.3f          %8.3f / %6.3f            %7.3f / %6.3f    %6.0f (+%.0f)   neighbour found %d/300",
                    stored, percentile(exact, 0.5), percentile(exact, 0.99), percentile(semantic, 0.5),
                    percentile(semantic, 0.99), percentile(miss, 0.5), percentile(miss, 0.99), rss, rss - baseline,
                    300 - semanticMisses) + "   Redis used_memory \(await redisMemory(redis))")
        }
        _ = try? await cache.delete(.all)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
