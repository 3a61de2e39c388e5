import AirlockConfiguration
import AirlockServer
import AirlockTestSupport
import Testing
import Upstream

/// The composition root refuses configurations it cannot serve, naming the setting to change.
@Suite struct AirlockApplicationTests {
    static func make(_ environment: [String: String]) async throws -> AirlockServer {
        var env = ["DASHSCOPE_API_KEY": "k", "AIRLOCK_RULES_ENABLED": "false"]
        env.merge(environment) { $1 }
        let configuration = try AirlockConfiguration.load(path: nil, environment: env)
        return try await AirlockApplication.make(
            configuration: configuration, logger: quietLogger,
            overrides: .init(embedder: try TestModel.memoizingEmbedder()))
    }

    @Test func theCacheNeedsRedis() async throws {
        await #expect {
            _ = try await Self.make(["AIRLOCK_REDIS_URL": "none", "AIRLOCK_CACHE_ENABLED": "true"])
        } throws: { error in
            (error as? AirlockStartupError)?.description.contains("cache.enabled needs Redis") == true
        }
    }

    @Test func noUpstreamKeyIsAStartupError() async throws {
        let configuration = try AirlockConfiguration.load(path: nil, environment: ["AIRLOCK_REDIS_URL": "none"])
        await #expect {
            _ = try await AirlockApplication.make(configuration: configuration, logger: quietLogger)
        } throws: { error in
            (error as? AirlockStartupError)?.description.contains("upstream.api_key is not set") == true
        }
    }

    @Test func withoutRedisThereIsNoCacheAndNoFleet() async throws {
        let server = try await Self.make(["AIRLOCK_REDIS_URL": "none", "AIRLOCK_CACHE_ENABLED": "false"])
        #expect(server.redis == nil && server.fleet == nil && server.cache == nil && server.cacheStores == nil)
        await server.upstream.shutdownAndWait()
    }

    @Test func aBrokenRulePackStopsStartUpWithItsFileAndLine() async throws {
        let directory = try AirlockHarness.rulesDirectory(["bad.yaml": "pack: bad\nrules:\n  - id: x\n    kind: nope\n"])
        await #expect {
            _ = try await Self.make([
                "AIRLOCK_REDIS_URL": "none", "AIRLOCK_CACHE_ENABLED": "false", "AIRLOCK_RULES_ENABLED": "true",
                "AIRLOCK_RULES_DIR": directory,
            ])
        } throws: { error in
            let text = (error as? AirlockStartupError)?.description ?? ""
            return text.contains("rules.dir") && text.contains("bad.yaml:")
        }
    }
}
