import AirlockConfiguration
import AirlockServer
import AirlockTestSupport
import ChatWire
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
import TimeSource
import Upstream

/// A real Airlock (Hummingbird on port 0) in front of a real emulator, and a libcurl client to talk to it. The
/// server is built by the same composition root as `airlock serve` (`AirlockApplication.make`), from a configuration
/// made of environment settings; only the model (loaded once per test process) and the clock are supplied.
struct AirlockHarness {
    let baseURL: String
    let emulator: QwenEmulator
    let emulatorURL: String
    let client: UpstreamClient
    let server: AirlockServer
    /// The clock of the breakers, retry waits and cache expiry: tests advance it instead of sleeping.
    let time: ManualTime

    var serverUpstream: UpstreamClient { server.upstream }
    var cache: SemanticCache? { server.cache }
    var rules: RuleSetStore? { server.rules }

    static func withRunning<T: Sendable>(
        emulator emulatorConfiguration: EmulatorConfiguration = .init(),
        environment: [String: String] = [:],
        upstreamURL: String? = nil,
        redisURL: String? = nil,
        cache cacheEnabled: Bool = false,
        rules rulesDirectory: String? = nil,
        localModel: Bool = true,
        _ body: (AirlockHarness) async throws -> T
    ) async throws -> T {
        try await QwenEmulator.withRunning(emulatorConfiguration) { emulator, emulatorURL in
            var env = [
                "AIRLOCK_LISTEN": "127.0.0.1:0", "AIRLOCK_UPSTREAM_URL": upstreamURL ?? emulatorURL,
                "DASHSCOPE_API_KEY": "airlock-test-key", "AIRLOCK_UPSTREAM_FORWARD_HEADERS": "x-dashscope-,x-emulator-",
                "AIRLOCK_REDIS_URL": redisURL ?? "none", "AIRLOCK_CACHE_ENABLED": String(cacheEnabled),
                "AIRLOCK_RULES_ENABLED": String(rulesDirectory != nil),
            ]
            if let rulesDirectory { env["AIRLOCK_RULES_DIR"] = rulesDirectory }
            env.merge(environment) { $1 }
            let configuration = try AirlockConfiguration.load(path: nil, environment: env)
            let time = ManualTime()
            let server = try await AirlockApplication.make(
                configuration: configuration, logger: quietLogger,
                overrides: .init(
                    embedder: localModel ? try TestModel.memoizingEmbedder() : nil, time: time,
                    recognizerLoader: TestNERModel.loader))
            let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
            let app = server.makeApplication { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            }
            let client = UpstreamClient(logger: quietLogger)
            defer { client.shutdown() }
            return try await withRunningServices([app]) {
                var ports = portStream.makeAsyncIterator()
                guard let port = await ports.next(), port > 0 else {
                    throw AirlockStartupError("the Airlock under test did not start listening")
                }
                let harness = AirlockHarness(
                    baseURL: "http://127.0.0.1:\(port)", emulator: emulator, emulatorURL: emulatorURL, client: client,
                    server: server, time: time)
                return try await body(harness)
            }
        }
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
    static var shippedRules: String { Repository.rules }

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
