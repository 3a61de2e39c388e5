import AirlockTestSupport
import Foundation
import QwenEmulator
import SemanticCache
import Testing
import Upstream

@testable import AirlockServer

/// The semantic cache on the request path: a real redis-server, the real model, the emulator upstream.
@Suite struct CacheServerTests {
    static func ask(
        _ airlock: AirlockHarness, _ text: String, system: String? = nil, model: String = "qwen-plus",
        stream: Bool = false, extra: String = "", headers: [(String, String)] = []
    ) async throws -> (UpstreamResponse, [UInt8]) {
        var messages = ""
        if let system { messages += #"{"role":"system","content":"\#(system)"},"# }
        messages += #"{"role":"user","content":"\#(text)"}"#
        let body = #"{"model":"\#(model)","messages":[\#(messages)],"stream":\#(stream)\#(extra)}"#
        let response = try await airlock.request("POST", "/v1/chat/completions", body: Array(body.utf8), headers: headers)
        return (response, try await response.collect(upTo: 1 << 20))
    }

    static func content(_ bytes: [UInt8]) -> String? {
        let json = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        return ((json?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
    }

    /// Stores happen off the response path: wait until `count` entries are stored, their vectors indexed (the store
    /// embeds the question, and in a parallel debug-build run the one shared encoder may have a queue).
    static func stored(_ airlock: AirlockHarness, count: Int) async throws {
        try await eventually { (airlock.cache?.statistics.storeCount ?? 0) >= count }
    }

    /// The tests that take a server run on both: Debian's Redis 7, where `cache.index: auto` keeps the index in
    /// process, and Redis 8, where it uses vector sets.
    static let servers: [RedisServerProcess.Server] = [.system, .redis8]

    static func started(_ server: RedisServerProcess.Server) async throws -> RedisServerProcess {
        try await RedisServerProcess.started(server: server)
    }

    /// The backend `auto` must have chosen on `server`.
    static func expectBackend(_ airlock: AirlockHarness, on server: RedisServerProcess.Server) {
        #expect(airlock.cache?.indexBackend == (server == .redis8 ? .redis : .local))
    }

    @Test(arguments: servers) func hitAfterMissExactAndSemanticAndPartitions(_ server: RedisServerProcess.Server) async throws {
        let redis = try await Self.started(server)
        defer { redis.destroy() }
        try await AirlockHarness.withRunning(redisURL: redis.url, cache: true) { airlock in
            Self.expectBackend(airlock, on: server)
            let (first, firstBody) = try await Self.ask(airlock, "What is the boiling point of water at sea level?")
            #expect(first.header("x-airlock-cache") == "miss")
            #expect(first.header("x-airlock-outcome") == "ok")
            try await Self.stored(airlock, count: 1)
            let (exact, exactBody) = try await Self.ask(airlock, "What is the boiling point of water at sea level?")
            #expect(exact.header("x-airlock-cache") == "hit")
            #expect(exact.header("x-airlock-outcome") == "cache_hit")
            #expect(Self.content(exactBody) == Self.content(firstBody))
            #expect(airlock.emulator.stats.chatRequests == 1)
            let (semantic, _) = try await Self.ask(airlock, "What's the boiling point of water at sea level?")
            #expect(semantic.header("x-airlock-cache") == "hit")
            #expect(semantic.header("x-airlock-cache-layer") == "semantic")
            // Different system prompt, model, temperature, tenant (caller key): never the same entry.
            let (system, _) = try await Self.ask(
                airlock, "What is the boiling point of water at sea level?", system: "Answer in French.")
            let (model, _) = try await Self.ask(airlock, "What is the boiling point of water at sea level?", model: "qwen-max")
            let (temperature, _) = try await Self.ask(
                airlock, "What is the boiling point of water at sea level?", extra: #","temperature":1.3"#)
            let otherTenant = try await airlock.client.execute(
                UpstreamRequest(
                    method: "POST", url: airlock.baseURL + "/v1/chat/completions",
                    headers: [("Content-Type", "application/json"), ("Authorization", "Bearer another-caller")],
                    body: Array(
                        #"{"model":"qwen-plus","messages":[{"role":"user","content":"What is the boiling point of water at sea level?"}]}"#
                            .utf8)))
            _ = try await otherTenant.collect(upTo: 1 << 20)
            for response in [system, model, temperature, otherTenant] {
                #expect(response.header("x-airlock-cache") == "miss")
            }
            // A different question with the same words in another order, or another number, is not a hit.
            let (number, _) = try await Self.ask(airlock, "What is the boiling point of water at 3000 m altitude?")
            #expect(number.header("x-airlock-cache") == "miss")
            let metrics = try await airlock.metricsText()
            #expect(metrics.contains(#"airlock_cache_lookups_total{result="hit",layer="exact"} 1"#))
        }
    }

    @Test(arguments: servers) func chineseGetsExactHitsOnlyWithTheEnglishModelAndTheMetricsSaySo(_ server: RedisServerProcess.Server) async throws {
        let redis = try await Self.started(server)
        defer { redis.destroy() }
        try await AirlockHarness.withRunning(redisURL: redis.url, cache: true) { airlock in
            let (first, _) = try await Self.ask(airlock, "我要修改花呗使用额度")
            #expect(first.header("x-airlock-cache") == "miss")
            try await Self.stored(airlock, count: 1)
            let (again, _) = try await Self.ask(airlock, "我要修改花呗使用额度")
            #expect(again.header("x-airlock-cache") == "hit" && again.header("x-airlock-cache-layer") == "exact")
            // Another question about the same product: the English model cannot tell them apart, so no similarity.
            let (other, _) = try await Self.ask(airlock, "我去酒吧玩可以用花呗买单吗")
            #expect(other.header("x-airlock-cache") == "miss")
            let metrics = try await airlock.metricsText()
            #expect(metrics.contains(#"airlock_cache_lookups_total{result="miss",layer="exact_only"} 2"#))
        }
    }

    @Test(arguments: servers) func streamsAreStoredAndReplayedToBothKindsOfClient(_ server: RedisServerProcess.Server) async throws {
        let redis = try await Self.started(server)
        defer { redis.destroy() }
        try await AirlockHarness.withRunning(redisURL: redis.url, cache: true) { airlock in
            let question = "Name three rivers in Europe"
            let (first, firstBytes) = try await Self.ask(
                airlock, question, stream: true, extra: #","stream_options":{"include_usage":true}"#)
            #expect(first.header("x-airlock-cache") == "miss")
            let original = sseEvents(firstBytes).compactMap { $0 }.compactMap {
                (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
            }.joined()
            try await Self.stored(airlock, count: 1)
            let (replayed, replayedBytes) = try await Self.ask(
                airlock, question, stream: true, extra: #","stream_options":{"include_usage":true}"#)
            #expect(replayed.header("x-airlock-cache") == "hit")
            let events = sseEvents(replayedBytes)
            #expect(events.last! == nil, "ends with [DONE]")
            let text = events.compactMap { $0 }.compactMap {
                (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
            }.joined()
            #expect(text == original)
            #expect(events.dropLast().last??["usage"] != nil, "the usage chunk")
            let (whole, wholeBody) = try await Self.ask(airlock, question)
            #expect(whole.header("x-airlock-cache") == "hit")
            #expect(Self.content(wholeBody) == original)
            #expect(airlock.emulator.stats.chatRequests == 1)
        }
    }

    @Test(arguments: servers) func refusalsFailuresAndNoStoreAreNeverStoredAndNoCacheSkipsLookup(_ server: RedisServerProcess.Server) async throws {
        let redis = try await Self.started(server)
        defer { redis.destroy() }
        try await AirlockHarness.withRunning(
            environment: ["AIRLOCK_UPSTREAM_RETRIES": "0"], redisURL: redis.url, cache: true
        ) { airlock in
            for marker in ["[[fault:refusal]]", "[[fault:server_error]]", "[[fault:input_filter]]"] {
                _ = try await Self.ask(airlock, "question \(marker)")
                let (again, _) = try await Self.ask(airlock, "question \(marker)")
                #expect(again.header("x-airlock-cache") == "miss", "\(marker) was stored")
            }
            _ = try await Self.ask(airlock, "Do not keep this", headers: [("Cache-Control", "no-store")])
            // Every store this request could have queued has been queued by the time it was answered.
            await airlock.server.cacheStores?.settled()
            let (notKept, _) = try await Self.ask(airlock, "Do not keep this")
            #expect(notKept.header("x-airlock-cache") == "miss")
            try await Self.stored(airlock, count: 1)  // the second "Do not keep this" was stored normally
            let (skipped, _) = try await Self.ask(airlock, "Do not keep this", headers: [("Cache-Control", "no-cache")])
            #expect(skipped.header("x-airlock-cache") == "miss", "no-cache skips the lookup")
            #expect(airlock.emulator.stats.chatRequests == 9)
        }
    }

    @Test func theIndexFollowsCacheIndexAndWhatRedisHas() async throws {
        let redis8 = try await RedisServerProcess.started(server: .redis8)
        defer { redis8.destroy() }
        let redis7 = try await RedisServerProcess.started()
        defer { redis7.destroy() }
        // auto on Redis 8: the vector sets, and two instances share them with nothing loaded or followed.
        try await AirlockHarness.withRunning(redisURL: redis8.url, cache: true) { first in
            #expect(first.server.cache?.indexBackend == .redis)
            _ = try await Self.ask(first, "What is the boiling point of water at sea level?")
            await first.server.cacheStores?.settled()
            #expect(first.server.cache?.indexedEntryCount == 0, "no index in the process")
            try await AirlockHarness.withRunning(redisURL: redis8.url, cache: true) { second in
                let (hit, _) = try await Self.ask(second, "What's the boiling point of water at sea level?")
                #expect(hit.header("x-airlock-cache") == "hit")
                #expect(hit.header("x-airlock-cache-layer") == "semantic")
            }
        }
        // auto on Redis 7: in process. `redis` on Redis 7: start-up refuses, naming the setting.
        try await AirlockHarness.withRunning(redisURL: redis7.url, cache: true) { airlock in
            #expect(airlock.server.cache?.indexBackend == .local)
        }
        do {
            _ = try await AirlockHarness.withRunning(
                environment: ["AIRLOCK_CACHE_INDEX": "redis"], redisURL: redis7.url, cache: true
            ) { _ in Issue.record("started with cache.index redis on Redis 7") }
        } catch let error as AirlockStartupError {
            #expect("\(error)".contains("cache.index redis") && "\(error)".contains("Redis 8"), "\(error)")
        }
        // local on Redis 8: in process.
        try await AirlockHarness.withRunning(
            environment: ["AIRLOCK_CACHE_INDEX": "local"], redisURL: redis8.url, cache: true
        ) { airlock in
            #expect(airlock.server.cache?.indexBackend == .local)
        }
    }

    @Test(arguments: servers) func twoInstancesShareEntriesAndRedisOutageMeansBypass(_ server: RedisServerProcess.Server) async throws {
        let redis = try await Self.started(server)
        defer { redis.destroy() }
        try await AirlockHarness.withRunning(redisURL: redis.url, cache: true) { first in
            try await AirlockHarness.withRunning(redisURL: redis.url, cache: true) { second in
                Self.expectBackend(second, on: server)
                _ = try await Self.ask(first, "How many moons does Mars have?")
                try await Self.stored(first, count: 1)
                // In process, the entry reaches the second's index through the Redis stream; with vector sets, the
                // index is Redis's own.
                if server == .system { try await eventually { second.cache?.indexedEntryCount == 1 } }
                let (shared, _) = try await Self.ask(second, "How many moons does Mars have?")
                #expect(shared.header("x-airlock-cache") == "hit")
                let (reworded, _) = try await Self.ask(second, "How many moons does the planet Mars have?")
                #expect(reworded.header("x-airlock-cache-layer") == "semantic")
                redis.destroy()
                let (down, body) = try await Self.ask(second, "How far away is the Moon?")
                #expect(down.status == 200)
                #expect(down.header("x-airlock-cache") == "bypass")
                #expect(Self.content(body) != nil)
            }
        }
    }
}
