import ChatWire
import Embeddings
import Foundation
import Logging
import Redis
import AirlockTestSupport
import Testing
import TimeSource

@testable import SemanticCache

/// The whole cache against a real `redis-server` each test starts and the real embedding model. The tests that take a
/// backend run twice: the in-process index on Debian's Redis 7 and Redis 8's vector sets on the Redis 8 server
/// `make test` fetches (`VectorSetCacheTests` adds what only the vector sets have).
@Suite(.serialized) struct SemanticCacheIntegrationTests {
    /// Both index backends, each on the server it runs on in production.
    static let backends: [SemanticCacheConfiguration.IndexBackend] = [.local, .redis]

    static func server(for backend: SemanticCacheConfiguration.IndexBackend) -> RedisServerProcess.Server {
        backend == .redis ? .redis8 : .system
    }

    /// The model, loaded once for the test process; a missing model fails the tests (run `make models`).
    static let embedder = Result { try TestModel.embedder() }

    static let answer = CachedCompletion(
        model: "qwen-plus", content: "Paris.", finishReason: "stop",
        usage: .init(promptTokens: 10, completionTokens: 2, totalTokens: 12))

    static func key(
        _ text: String, tenant: String = "acme", model: String = "qwen-plus", system: String = "Be brief.",
        temperature: String = "0.2"
    ) -> CacheKey {
        CacheKey(
            CacheKeyInput(
                tenant: tenant, model: model, context: [#"{"content":"\#(system)","role":"system"}"#],
                lastUserTurn: text, sampling: ["temperature": temperature], rulesVersion: "test"))
    }

    /// A Redis client and a cache over a fresh server; both shut down before the server is killed.
    static func withCache<T>(
        _ backend: SemanticCacheConfiguration.IndexBackend = .local,
        _ configure: (inout SemanticCacheConfiguration) -> Void = { _ in }, time: any TimeSource = SystemTime(),
        _ body: (SemanticCache, RedisServerProcess) async throws -> T
    ) async throws -> T {
        let embedder = try embedder.get()
        return try await RedisServerProcess.with(server: server(for: backend)) { server in
            let redis = try makeRedis(server)
            defer { redis.shutdown() }
            var configuration = SemanticCacheConfiguration()
            configuration.index = backend
            configure(&configuration)
            let cache = try SemanticCache(
                configuration: configuration, redis: redis, embedder: embedder, time: time, logger: quiet)
            return try await body(cache, server)
        }
    }

    /// How many vectors the backend holds for `namespace`: the in-process index's entries, or the vector set's members.
    static func vectors(_ cache: SemanticCache, _ namespace: String) async throws -> Int {
        cache.indexBackend == .redis ? try await cache.vectorSetCount(namespace: namespace) : cache.indexedEntryCount
    }

    static var quiet: Logger {
        var logger = Logger(label: "test.cache")
        logger.logLevel = .critical
        return logger
    }

    static func makeRedis(_ server: RedisServerProcess) throws -> RedisClient {
        var configuration = try RedisConfiguration(url: server.tcpURL)
        configuration.commandTimeout = .milliseconds(100)
        configuration.reconnectBackoff = .init(initial: .milliseconds(20), maximum: .milliseconds(200))
        return try RedisClient(configuration: configuration, logger: quiet)
    }

    static func layer(_ lookup: CacheLookup) -> String {
        switch lookup {
        case .hit(let hit): hit.layer.rawValue
        case .miss: "miss"
        case .bypass: "bypass"
        }
    }

    @Test(arguments: backends) func hitAfterMissExactAndSemantic(_ backend: SemanticCacheConfiguration.IndexBackend) async throws {
        try await Self.withCache(backend) { cache, _ in
            let key = Self.key("What is the capital of France?")
            guard case .miss(let vector) = await cache.lookup(key) else {
                Issue.record("expected a miss")
                return
            }
            #expect(await cache.store(key, completion: Self.answer, vector: vector) == .stored(id: key.exactID))
            #expect(cache.indexBackend == backend)
            // One vector, held where the backend says: in the process, or in Redis with nothing in the process.
            #expect(cache.indexedEntryCount == (backend == .local ? 1 : 0))
            let vectors = try await Self.vectors(cache, key.namespace)
            #expect(vectors == 1)
            guard case .hit(let hit) = await cache.lookup(Self.key("  what is the capital of france? ")) else {
                Issue.record("expected an exact hit")
                return
            }
            #expect(hit.layer == .exact && hit.similarity == 1)
            #expect(hit.entry.completion == Self.answer)
            #expect(hit.entry.hits == 1)
            guard case .hit(let semantic) = await cache.lookup(Self.key("What's the capital of France?")) else {
                Issue.record("expected a semantic hit")
                return
            }
            #expect(semantic.layer == .semantic)
            #expect(semantic.similarity >= 0.9)
            // The gate turns the near neighbour about another country away.
            #expect(Self.layer(await cache.lookup(Self.key("What is the capital of Germany?"))) == "miss")
            #expect(cache.statistics.exactHitCount == 1 && cache.statistics.semanticHitCount == 1)
        }
    }

    @Test(arguments: backends) func aScriptTheModelCannotJudgeGetsExactHitsOnly(_ backend: SemanticCacheConfiguration.IndexBackend) async throws {
        try await Self.withCache(backend) { cache, _ in
            let question = "花呗怎么还款"
            #expect(await cache.store(Self.key(question), completion: Self.answer) == .stored(id: Self.key(question).exactID))
            #expect(Self.layer(await cache.lookup(Self.key(question))) == "exact")
            // A near neighbour (and even a product that differs: 借呗) is never served by similarity.
            #expect(Self.layer(await cache.lookup(Self.key("花呗如何还款"))) == "miss")
            #expect(Self.layer(await cache.lookup(Self.key("借呗怎么还款"))) == "miss")
            #expect(cache.statistics.exactOnlyLookupCount == 2)
            #expect(cache.statistics.semanticHitCount == 0)
        }
    }

    /// multilingual-e5-small, loaded once; a missing model fails the test that needs it (run `make models`).
    static let multilingual = Result {
        try LocalEmbedder(
            encoder: BertEncoder.loadE5(path: Repository.path("models/multilingual-e5-small/e5-small-q4.bin")),
            configuration: .init(workers: 1), logger: quiet)
    }

    @Test(arguments: backends) func chineseGoesToTheMultilingualModelAndItsGate(_ backend: SemanticCacheConfiguration.IndexBackend) async throws {
        let e5 = try Self.multilingual.get()
        let main = try Self.embedder.get()
        try await RedisServerProcess.with(server: Self.server(for: backend)) { server in
            let redis = try Self.makeRedis(server)
            defer { redis.shutdown() }
            var configuration = SemanticCacheConfiguration()
            configuration.index = backend
            configuration.semanticScripts = [.latin, .han]
            configuration.thresholds = [.han: 0.97]
            let cache = try SemanticCache(
                configuration: configuration, redis: redis, embedder: main, embeddingModel: "all-MiniLM-L6-v2",
                routes: [.han: .init(embedder: e5, model: "multilingual-e5-small")], logger: Self.quiet)
            #expect(cache.embeddingModel(for: .han) == "multilingual-e5-small")
            #expect(cache.embeddingModel(for: .latin) == "all-MiniLM-L6-v2")
            let stored = Self.key("我的花呗有多少额度")
            #expect(await cache.store(stored, completion: Self.answer) == .stored(id: stored.exactID))
            // The same question without 的: served by meaning, from the multilingual model's vectors.
            guard case .hit(let hit) = await cache.lookup(Self.key("我花呗有多少额度")) else {
                Issue.record("the reworded Chinese question was not served")
                return
            }
            #expect(hit.layer == .semantic)
            // Another product (借呗), a negation, another number, another question word: never served.
            for other in ["我的借呗有多少额度", "我的花呗没有额度", "我的花呗有一百元额度", "我的花呗为什么有额度"] {
                #expect(Self.layer(await cache.lookup(Self.key(other))) == "miss", "served for \(other)")
            }
            // Bulk embedding routes the same way as a lookup.
            let vectors = try await cache.embed([Self.key("我花呗有多少额度"), Self.key("How are you?")])
            #expect(vectors[0] == (try await e5.embed("我花呗有多少额度")))
            #expect(vectors[1] == (try await main.embed("How are you?")))
        }
    }

    @Test(arguments: backends) func noAnswerCrossesScripts(_ backend: SemanticCacheConfiguration.IndexBackend) async throws {
        try await Self.withCache(backend, { $0.semanticScripts = Set(TextScript.allCases) }) { cache, _ in
            #expect(Self.key("What is the capital of France?").namespace != Self.key("法国的首都是哪里？").namespace)
            let english = Self.key("How many legs does a spider have?")
            #expect(await cache.store(english, completion: Self.answer) == .stored(id: english.exactID))
            // The same question in Russian: another script, another namespace, no hit however close the vectors.
            #expect(Self.layer(await cache.lookup(Self.key("Сколько ног у паука?"))) == "miss")
        }
    }

    @Test(arguments: backends) func aScriptsOwnThresholdApplies(_ backend: SemanticCacheConfiguration.IndexBackend) async throws {
        try await Self.withCache(backend, { $0.thresholds = [.latin: 0.999] }) { cache, _ in
            let key = Self.key("What is the capital of France?")
            #expect(await cache.store(key, completion: Self.answer) == .stored(id: key.exactID))
            #expect(Self.layer(await cache.lookup(Self.key("What's the capital of France?"))) == "miss")
            #expect(Self.layer(await cache.lookup(key)) == "exact")
        }
    }

    @Test(arguments: backends) func noHitAcrossTenantModelSystemPromptOrTemperature(_ backend: SemanticCacheConfiguration.IndexBackend) async throws {
        try await Self.withCache(backend) { cache, _ in
            let text = "How many legs does a spider have?"
            #expect(await cache.store(Self.key(text), completion: Self.answer) == .stored(id: Self.key(text).exactID))
            #expect(Self.layer(await cache.lookup(Self.key(text))) == "exact")
            #expect(Self.layer(await cache.lookup(Self.key(text, tenant: "globex"))) == "miss")
            #expect(Self.layer(await cache.lookup(Self.key(text, model: "qwen-max"))) == "miss")
            #expect(Self.layer(await cache.lookup(Self.key(text, system: "Answer in French."))) == "miss")
            #expect(Self.layer(await cache.lookup(Self.key(text, temperature: "0.9"))) == "miss")
            // A higher per-request threshold only makes hits rarer.
            #expect(Self.layer(await cache.lookup(Self.key("How many legs has a spider?"), threshold: 0.999)) == "miss")
        }
    }

    @Test(arguments: backends) func entriesExpire(_ backend: SemanticCacheConfiguration.IndexBackend) async throws {
        try await Self.withCache(backend) { cache, _ in
            let key = Self.key("Tell me a fact about owls.")
            _ = await cache.store(key, completion: Self.answer, ttl: .milliseconds(300))
            #expect(Self.layer(await cache.lookup(key)) == "exact")
            // Redis expires the entry on its own clock; the lookup then drops it from the index as well.
            try await eventually { Self.layer(await cache.lookup(key)) == "miss" }
            #expect(Self.layer(await cache.lookup(Self.key("Tell me one fact about owls."))) == "miss")
            let left = try await Self.vectors(cache, key.namespace)
            #expect(left == 0)
        }
    }

    @Test func twoInstancesShareEntriesThroughRedis() async throws {
        let embedder = try Self.embedder.get()
        try await RedisServerProcess.with { server in
            let redisA = try Self.makeRedis(server)
            let redisB = try Self.makeRedis(server)
            defer {
                redisA.shutdown()
                redisB.shutdown()
            }
            let a = try SemanticCache(redis: redisA, embedder: embedder, logger: Self.quiet)
            let b = try SemanticCache(redis: redisB, embedder: embedder, logger: Self.quiet)
            // Stored before B starts: B loads it from Redis.
            _ = await a.store(Self.key("How do I boil an egg?"), completion: Self.answer)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await b.run() }
                try await eventually { b.indexedEntryCount == 1 }
                // Stored while B runs: it arrives through the stream (how fast is bench-cache's to say).
                _ = await a.store(Self.key("What is the boiling point of water?"), completion: Self.answer)
                try await eventually { b.indexedEntryCount == 2 }
                #expect(Self.layer(await b.lookup(Self.key("What's the boiling point of water?"))) == "semantic")
                #expect(Self.layer(await b.lookup(Self.key("How do I boil an egg?"))) == "exact")
                // A delete on A reaches B's index too.
                let deleted = try await a.delete(.tenant("acme"))
                #expect(deleted == 2)
                try await eventually { b.indexedEntryCount == 0 }
                #expect(Self.layer(await b.lookup(Self.key("How do I boil an egg?"))) == "miss")
                group.cancelAll()
            }
        }
    }

    @Test(arguments: backends) func deleteByNamespaceTenantAndAll(_ backend: SemanticCacheConfiguration.IndexBackend) async throws {
        try await Self.withCache(backend) { cache, _ in
            let first = Self.key("Name a prime number.")
            let second = Self.key("Name a prime number.", tenant: "globex")
            let third = Self.key("Name an even number.", tenant: "globex", model: "qwen-max")
            for key in [first, second, third] { _ = await cache.store(key, completion: Self.answer) }
            let deleted1 = try await cache.delete(.namespace(first.namespace))
            #expect(deleted1 == 1)
            #expect(Self.layer(await cache.lookup(first)) == "miss")
            #expect(Self.layer(await cache.lookup(second)) == "exact")
            let deleted2 = try await cache.delete(.tenant("globex"))
            #expect(deleted2 == 2)
            #expect(Self.layer(await cache.lookup(third)) == "miss")
            _ = await cache.store(first, completion: Self.answer)
            let deleted3 = try await cache.delete(.all)
            #expect(deleted3 == 1)
            let left = try await Self.vectors(cache, first.namespace)
            #expect(left == 0)
        }
    }

    @Test(arguments: backends) func leastRecentlyHitEntriesAreEvictedPastTheCap(_ backend: SemanticCacheConfiguration.IndexBackend) async throws {
        let time = ManualTime()
        try await Self.withCache(backend, { $0.maxEntriesPerNamespace = 3 }, time: time) { cache, _ in
            let keys = ["Define entropy.", "Define enthalpy.", "Define momentum.", "Define inertia."].map { Self.key($0) }
            for key in keys.prefix(3) {
                _ = await cache.store(key, completion: Self.answer)
                time.advance(by: .milliseconds(5))
            }
            _ = await cache.lookup(keys[0])  // entropy is now the most recently hit
            _ = await cache.store(keys[3], completion: Self.answer)
            #expect(Self.layer(await cache.lookup(keys[0])) == "exact")
            #expect(Self.layer(await cache.lookup(keys[1])) == "miss")
            #expect(Self.layer(await cache.lookup(keys[3])) == "exact")
            #expect(cache.statistics.evictionCount == 1)
            // The evicted entry's vector left with it: a rewording of it finds nothing to be served.
            let left = try await Self.vectors(cache, keys[0].namespace)
            #expect(left == 3)
            #expect(Self.layer(await cache.lookup(Self.key("Define the term enthalpy."))) == "miss")
        }
    }

    @Test func longPromptsAreNotStoredAndTheIndexKeepsItsMemoryBound() async throws {
        try await Self.withCache(.local, { $0.maxStoredTextBytes = 64; $0.maxIndexBytes = 4096 }) { cache, _ in
            let long = Self.key(String(repeating: "Explain this at length please. ", count: 3))
            let result = await cache.store(long, completion: Self.answer)
            #expect("\(result)".contains("longer than 64 bytes"))
            #expect(Self.layer(await cache.lookup(long)) == "miss")
            // Each entry holds a 384-float vector (1.5 KiB): a 4 KiB bound keeps two of five, the newest.
            let keys = (0..<5).map { Self.key("Define term number \($0).", tenant: "t\($0)") }
            for key in keys { _ = await cache.store(key, completion: Self.answer) }
            #expect(cache.indexedBytes <= 4096)
            #expect(cache.indexedEntryCount == 2)
            #expect(cache.evictedForMemory == 3)
            // What left the index is still an exact hit from Redis.
            #expect(Self.layer(await cache.lookup(keys[0])) == "exact")
        }
    }

    @Test(arguments: backends) func redisKilledMeansFastBypassThenHitsResume(_ backend: SemanticCacheConfiguration.IndexBackend) async throws {
        try await Self.withCache(backend) { cache, server in
            let key = Self.key("What is the speed of light?")
            _ = await cache.store(key, completion: Self.answer)
            #expect(Self.layer(await cache.lookup(key)) == "exact")
            server.kill()
            for _ in 0..<20 {
                #expect(Self.layer(await cache.lookup(key)) == "bypass")
                if case .failed = await cache.store(key, completion: Self.answer) {} else { Issue.record("stored without Redis") }
            }
            #expect(cache.statistics.bypassCount >= 20)
            // A hung Redis is bounded by the command timeout as well.
            try await server.start()
            try await eventually {
                if case .bypass = await cache.lookup(key) { return false }
                return true
            }
            _ = await cache.store(key, completion: Self.answer)
            #expect(Self.layer(await cache.lookup(key)) == "exact")
            // Redis came back empty (no persistence): the stored-again entry is served by meaning too.
            #expect(Self.layer(await cache.lookup(Self.key("What's the speed of light?"))) == "semantic")
            // Answered while Redis is still stopped: bounded by the command timeout, not by Redis coming back.
            server.pause()
            #expect(Self.layer(await cache.lookup(key)) == "bypass")
            server.resume()
        }
    }

    @Test(arguments: backends) func placeholderTextKeepsPersonalDataOutOfTheCache(_ backend: SemanticCacheConfiguration.IndexBackend) async throws {
        // A stand-in for inspection's `tokenize` action: values become numbered placeholders, restored afterwards.
        func tokenize(_ text: String) -> (String, [String: String]) {
            var mapping: [String: String] = [:]
            let words = text.split(separator: " ").map { word -> String in
                guard word.contains("@") else { return String(word) }
                let placeholder = "<EMAIL_\(mapping.count + 1)>"
                mapping[placeholder] = String(word)
                return placeholder
            }
            return (words.joined(separator: " "), mapping)
        }
        try await Self.withCache(backend) { cache, server in
            let (aliceText, aliceValues) = tokenize("Write a welcome note to alice@example.com")
            let (bobText, bobValues) = tokenize("Write a welcome note to bob@example.org")
            let stored = CachedCompletion(model: "m", content: "Hello <EMAIL_1>, welcome!", finishReason: "stop")
            _ = await cache.store(Self.key(aliceText), completion: stored)
            guard case .hit(let hit) = await cache.lookup(Self.key(bobText)) else {
                Issue.record("placeholder text should hit")
                return
            }
            var restored = hit.entry.completion.content
            for (placeholder, value) in bobValues { restored = restored.replacingOccurrences(of: placeholder, with: value) }
            #expect(restored == "Hello bob@example.org, welcome!")
            #expect(aliceValues.count == 1)
            // Nothing in Redis holds the address.
            let redis = try Self.makeRedis(server)
            defer { redis.shutdown() }
            let keys = try await redis.execute(RedisCommand("KEYS", "*")).array?.compactMap(\.string) ?? []
            for key in keys where key.contains(":e:") {
                let fields = try await redis.execute(RedisCommand("HGETALL", key)).fieldMap ?? [:]
                for value in fields.values { #expect(!String(decoding: value, as: UTF8.self).contains("example.com")) }
            }
            // Nor do the vector sets' members or their attributes (the gate's text).
            for key in keys where key.hasSuffix(":vs") {
                let members = try await redis.execute(RedisCommand("VRANDMEMBER", key, 100)).array?.compactMap(\.string) ?? []
                #expect(!members.isEmpty)
                for member in members {
                    let attributes = try await redis.execute(RedisCommand("VGETATTR", key, member)).string ?? ""
                    #expect(attributes.contains("<EMAIL_1>") && !attributes.contains("example.com"), "\(attributes)")
                }
            }
            #expect(keys.contains { $0.hasSuffix(":vs") } == (backend == .redis))
        }
    }
}
