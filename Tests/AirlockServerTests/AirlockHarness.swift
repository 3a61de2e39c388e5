import AirlockConfiguration
import AirlockServer
import Foundation
import Hummingbird
import Logging
import NIOCore
import Embeddings
import Inspection
import QwenEmulator
import Redis
import SemanticCache
import Testing
import Upstream

/// A real Airlock (Hummingbird on port 0) in front of a real emulator, and a libcurl client to talk to it.
struct AirlockHarness {
    let baseURL: String
    let emulator: QwenEmulator
    let emulatorURL: String
    let client: UpstreamClient
    let serverUpstream: UpstreamClient
    let cache: SemanticCache?
    let rules: RuleSetStore?

    static func withRunning<T: Sendable>(
        emulator emulatorConfiguration: EmulatorConfiguration = .init(),
        environment: [String: String] = [:],
        upstreamURL: String? = nil,
        redisURL: String? = nil,
        cache cacheEnabled: Bool = false,
        rules rulesDirectory: String? = nil,
        _ body: (AirlockHarness) async throws -> T
    ) async throws -> T {
        try await QwenEmulator.withRunning(emulatorConfiguration) { emulator, emulatorURL in
            var env = [
                "AIRLOCK_LISTEN": "127.0.0.1:0", "AIRLOCK_UPSTREAM_URL": upstreamURL ?? emulatorURL,
                "DASHSCOPE_API_KEY": "airlock-test-key", "AIRLOCK_UPSTREAM_FORWARD_HEADERS": "x-dashscope-,x-emulator-",
            ]
            env.merge(environment) { $1 }
            let configuration = try AirlockConfiguration.load(path: nil, environment: env)
            var logger = Logger(label: "airlock-test")
            logger.logLevel = .warning
            let serverUpstream = UpstreamClient(logger: logger)
            let redis = try redisURL.map { url in try RedisClient(configuration: try RedisConfiguration(url: url), logger: logger) }
            var cache: SemanticCache?
            if cacheEnabled, let redis {
                cache = try SemanticCache(
                    configuration: SemanticCacheConfiguration(threshold: Float(configuration.cache.threshold)),
                    redis: redis, embedder: try Self.sharedEmbedder(), logger: logger)
            }
            var rules: RuleSetStore?
            if let rulesDirectory {
                let packs = try RuleSet.parsePacks(directory: rulesDirectory)
                let semantic = packs.contains { $0.enabled && $0.rules.contains { $0.enabled && $0.kind == .semantic } }
                let set = try await RuleSet.compile(
                    packs: packs, directory: rulesDirectory, embedder: semantic ? try Self.rulesEmbedder() : nil,
                    upstream: serverUpstream,
                    configuration: RuleSet.Configuration(maxHoldbackBytes: configuration.rules.maxHoldbackBytes),
                    logger: logger)
                rules = RuleSetStore(set, logger: logger)
            }
            let server = AirlockServer(
                configuration: configuration, upstream: serverUpstream, redis: redis, cache: cache, rules: rules,
                logger: logger)
            let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
            let app = server.makeApplication { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            }
            let client = UpstreamClient(logger: logger)
            defer { client.shutdown() }
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await app.run() }
                var ports = portStream.makeAsyncIterator()
                guard let port = await ports.next(), port > 0 else { throw CancellationError() }
                let harness = AirlockHarness(
                    baseURL: "http://127.0.0.1:\(port)", emulator: emulator, emulatorURL: emulatorURL, client: client,
                    serverUpstream: serverUpstream, cache: cache, rules: rules)
                do {
                    let result = try await body(harness)
                    group.cancelAll()
                    return result
                } catch {
                    group.cancelAll()
                    throw error
                }
            }
        }
    }

    /// One model for every test: loading is cheap, but each engine owns two worker threads.
    nonisolated(unsafe) private static var embedder: LocalEmbedder?
    private static let embedderLock = NSLock()
    static func sharedEmbedder() throws -> LocalEmbedder {
        embedderLock.lock()
        defer { embedderLock.unlock() }
        if let embedder { return embedder }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let directory = root.appendingPathComponent("models/all-MiniLM-L6-v2").path
        guard FileManager.default.fileExists(atPath: directory + "/model.safetensors") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the model is missing at \(directory): run `make models`"])
        }
        var logger = Logger(label: "embedder-test")
        logger.logLevel = .warning
        let made = try LocalEmbedder(modelDirectory: directory, logger: logger)
        embedder = made
        return made
    }

    /// The shared model behind a memory, for rule sets: every harness compiles the same exemplars, which are then
    /// embedded once for the whole test run instead of once per harness (the debug-build encoder is slow, and tests
    /// run in parallel).
    nonisolated(unsafe) private static var memo: MemoizingEmbedder?
    static func rulesEmbedder() throws -> MemoizingEmbedder {
        let base = try sharedEmbedder()
        embedderLock.lock()
        defer { embedderLock.unlock() }
        if let memo { return memo }
        let made = MemoizingEmbedder(base, capacity: 2048)
        memo = made
        return made
    }

    func request(
        _ method: String, _ path: String, body: [UInt8] = [], headers: [(String, String)] = []
    ) async throws -> UpstreamResponse {
        try await client.execute(
            UpstreamRequest(
                method: method, url: baseURL + path,
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer caller-key")] + headers,
                body: body))
    }

    func json(_ method: String, _ path: String, body: [UInt8] = [], headers: [(String, String)] = []) async throws
        -> (UpstreamResponse, [String: Any])
    {
        let response = try await request(method, path, body: body, headers: headers)
        let bytes = try await response.collect(upTo: 16 << 20)
        let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] ?? [:]
        return (response, object)
    }

    /// The repository's shipped rule packs.
    static var shippedRules: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("rules").path
    }

    /// A fresh directory holding one pack file per (name, YAML text).
    static func rulesDirectory(_ packs: [String: String]) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("airlock-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in packs {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return directory.path
    }

    static func chat(_ text: String, stream: Bool = false, extra: String = "") -> [UInt8] {
        let escaped = text.replacingOccurrences(of: "\"", with: "\\\"")
        return Array(
            #"{"model":"qwen-plus","messages":[{"role":"user","content":"\#(escaped)"}],"stream":\#(stream)\#(extra)}"#.utf8)
    }
}

func eventually(
    timeout: Duration = .seconds(10), sourceLocation: Testing.SourceLocation = #_sourceLocation, _ condition: () -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    #expect(condition(), "condition did not hold within \(timeout)", sourceLocation: sourceLocation)
}

/// Splits an SSE body into the JSON objects of its data events; `[DONE]` becomes nil.
func sseEvents(_ bytes: [UInt8]) -> [[String: Any]?] {
    var framer = SSEFramer()
    var events = framer.append(bytes)
    if let rest = framer.finish() { events.append(rest) }
    return events.compactMap { event -> [String: Any]?? in
        guard let data = SSEFramer.data(of: event) else { return .none }
        if data == Array("[DONE]".utf8) { return .some(nil) }
        return .some(try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any])
    }
}

/// The repository's rule files (packs, classifiers, schema), to combine with test packs.
enum RuleSetFiles {
    static func shipped() throws -> [(name: String, text: String)] {
        let directory = AirlockHarness.shippedRules
        // The packs and the classifier files they name.
        return try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".json") }.sorted()
            .map { ($0, try String(contentsOfFile: directory + "/" + $0, encoding: .utf8)) }
    }
}
