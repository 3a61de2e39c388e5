import AirlockTestSupport
import Embeddings
import Logging
import QwenEmulator
import Testing
import Upstream

/// The remote backend against the real HTTP client and the local Qwen emulator on loopback.
@Suite("remote embedder")
struct RemoteEmbedderTests {
    private static let logger = Logger(label: "test")

    @Test("splits requests into calls of ten, keeps order, returns unit vectors of the asked dimensions")
    func roundTrip() async throws {
        try await QwenEmulator.withRunning { emulator, base in
            // The client closes its kept-alive connections before the emulator stops, or the emulator's
            // graceful shutdown would wait for them.
            let client = UpstreamClient()
            defer { client.shutdown() }
            let embedder = RemoteEmbedder(
                client: client, configuration: .init(baseURL: base, dimensions: 256, apiKey: "k"), logger: Self.logger)
            let texts = (0..<23).map { "text number \($0)" }
            let vectors = try await embedder.embed(texts)
            #expect(vectors.count == 23)
            #expect(embedder.dimensions == 256)
            for vector in vectors {
                #expect(vector.count == 256)
                #expect(abs(vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
            }
            // Deterministic per text: the same text alone gives the same vector as inside the batch.
            let again = try await embedder.embed([texts[17]])
            #expect(cosineSimilarity(again[0], vectors[17]) > 0.999_999)
            #expect(emulator.stats.lastAuthorization == "Bearer k")
        }
    }

    @Test("an error status becomes remoteFailure carrying the status")
    func errorStatus() async throws {
        try await QwenEmulator.withRunning { _, base in
            let client = UpstreamClient()
            defer { client.shutdown() }
            let embedder = RemoteEmbedder(
                client: client, configuration: .init(baseURL: base, model: "no-such-model", apiKey: "k"),
                logger: Self.logger)
            do {
                _ = try await embedder.embed(["hello"])
                Issue.record("expected an error")
            } catch let error as EmbeddingError {
                #expect(error.code == .remoteFailure)
                #expect(error.nativeCode == 404)
            }
        }
    }

    @Test("an unreachable endpoint becomes remoteFailure")
    func unreachable() async throws {
        let client = UpstreamClient()
        defer { client.shutdown() }
        let embedder = RemoteEmbedder(
            client: client, configuration: .init(baseURL: "http://127.0.0.1:1/compatible-mode/v1"), logger: Self.logger)
        await #expect(throws: EmbeddingError.self) { try await embedder.embed(["hello"]) }
    }
}
