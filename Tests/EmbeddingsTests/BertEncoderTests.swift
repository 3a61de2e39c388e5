import AirlockTestSupport
import Embeddings
import Logging
import Testing

@Suite("BERT encoder")
struct BertEncoderTests {
    @Test("vectors match sentence-transformers on every fixture text (cosine ≥ 0.9999)")
    func matchesReferenceVectors() async throws {
        let fixture = try decodeFixture(VectorFixture.self, "reference-embeddings.json")
        #expect(fixture.cases.count >= 50)
        let texts = fixture.cases.map(\.text)
        let vectors = try await onOwnThread {
            let encoder = try SharedModel.load()
            return encoder.embed(texts, scratch: encoder.makeScratch())
        }
        var worst: Float = 1
        for (item, vector) in zip(fixture.cases, vectors) {
            #expect(vector.count == 384)
            let cosine = cosineSimilarity(vector, item.vector)
            worst = min(worst, cosine)
            #expect(cosine >= 0.9999, "text \(item.text.debugDescription): cosine \(cosine)")
        }
        #expect(worst >= 0.9999)
    }

    @Test("a batch gives each text the vector it gets alone, whatever the other texts' lengths")
    func batchEqualsSingle() async throws {
        let texts = [
            "short", "A somewhat longer sentence about the semantic cache and its threshold.",
            String(repeating: "many tokens in a long text ", count: 30), "", "日本語のテキスト 😀",
        ]
        let (batched, single) = try await onOwnThread {
            let encoder = try SharedModel.load()
            let scratch = encoder.makeScratch()
            return (encoder.embed(texts, scratch: scratch), texts.map { encoder.embed([$0], scratch: scratch)[0] })
        }
        for ((text, vector), alone) in zip(zip(texts, batched), single) {
            let difference = zip(alone, vector).map { abs($0 - $1) }.max() ?? 0
            #expect(difference < 1e-5, "text \(text.debugDescription) differs by \(difference) in a batch")
        }
    }

    @Test("padding: a short text beside a long one is unaffected by the long one's extra positions")
    func paddingIsMasked() async throws {
        let short = "What is the capital of France?"
        let long = String(repeating: "padding must not leak into the short text ", count: 20)
        let batches = [[short, long], [long, short], [long, short, long]]
        let (alone, batched) = try await onOwnThread {
            let encoder = try SharedModel.load()
            let scratch = encoder.makeScratch()
            return (encoder.embed([short], scratch: scratch)[0], batches.map { encoder.embed($0, scratch: scratch) })
        }
        for (batch, vectors) in zip(batches, batched) {
            let index = batch.firstIndex(of: short)!
            #expect(cosineSimilarity(vectors[index], alone) > 0.999_999)
        }
        // Pooling covers only real tokens: unit length, and distinct texts stay distinct.
        let norm = alone.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(norm - 1) < 1e-5)
    }

    @Test("similar sentences score higher than unrelated ones")
    func similarityIsMeaningful() async throws {
        let v = try await onOwnThread {
            let encoder = try SharedModel.load()
            return encoder.embed(
                ["How do I reset my password?", "How can I change my password?", "The weather is sunny today."],
                scratch: encoder.makeScratch())
        }
        #expect(cosineSimilarity(v[0], v[1]) > 0.8)
        #expect(cosineSimilarity(v[0], v[2]) < 0.3)
    }

    @Test("the local embedder: concurrent requests, merged or not, return their own vectors in order")
    func localEmbedderConcurrency() async throws {
        let encoder = try await onOwnThread { try SharedModel.load() }
        let embedder = LocalEmbedder(
            encoder: encoder, configuration: .init(workers: 2, maxBatchTokens: 512, maxBatchTexts: 4),
            logger: Logger(label: "test"))
        defer { embedder.shutdown() }
        let texts = (0..<40).map { "request number \($0) about topic \($0 % 7)" }
        let expected = try await onOwnThread { encoder.embed(texts, scratch: encoder.makeScratch()) }
        let results = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (index, text) in texts.enumerated() {
                group.addTask { (index, try await embedder.embed(text)) }
            }
            var results = [[Float]](repeating: [], count: texts.count)
            for try await (index, vector) in group { results[index] = vector }
            return results
        }
        for index in texts.indices {
            #expect(cosineSimilarity(results[index], expected[index]) > 0.999_999)
        }
        // One request larger than a batch is split across workers and reassembled in order.
        let whole = try await embedder.embed(texts)
        #expect(whole.count == texts.count)
        for index in texts.indices {
            #expect(cosineSimilarity(whole[index], expected[index]) > 0.999_999)
        }
        #expect(embedder.dimensions == 384)
    }

    @Test("after shutdown, requests fail with shutDown")
    func shutdownFailsRequests() async throws {
        let embedder = LocalEmbedder(encoder: try SharedModel.load(), logger: Logger(label: "test"))
        embedder.shutdown()
        await #expect(throws: EmbeddingError.self) { try await embedder.embed(["x"]) }
    }

    @Test("a missing model directory names `make models`")
    func missingModelIsClear() {
        #expect {
            _ = try BertEncoder.load(directory: "/nonexistent/model")
        } throws: { error in
            guard let error = error as? EmbeddingError else { return false }
            return error.code == .modelMissing && error.message.contains("make models")
        }
    }
}
