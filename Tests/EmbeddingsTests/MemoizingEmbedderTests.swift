import AirlockTestSupport
import Embeddings
import Synchronization
import Testing

/// A stand-in model: each text's vector is its length, and every text it is asked for is counted.
final class CountingEmbedder: Embedder {
    let calls = Mutex<[String]>([])
    var dimensions: Int { 2 }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        calls.withLock { $0 += texts }
        return texts.map { [Float($0.count), 1] }
    }
}

@Suite struct MemoizingEmbedderTests {
    @Test func aTextIsEmbeddedOnceAndBatchesMixMemoryAndModel() async throws {
        let base = CountingEmbedder()
        let memo = MemoizingEmbedder(base, capacity: 8)
        #expect(try await memo.embed(["hello"]) == [[5, 1]])
        #expect(try await memo.embed(["hello", "hi", "hello"]) == [[5, 1], [2, 1], [5, 1]])
        #expect(base.calls.withLock { $0 } == ["hello", "hi"])
        #expect(memo.statistics.hits == 2)
        #expect(memo.statistics.misses == 2)
    }

    @Test func memoryIsBoundedAndForgetsTheLeastRecentlyUsed() async throws {
        let base = CountingEmbedder()
        let memo = MemoizingEmbedder(base, capacity: 4)
        for text in ["a", "bb", "ccc", "dddd"] { _ = try await memo.embed([text]) }
        _ = try await memo.embed(["a"])  // recently used: kept
        _ = try await memo.embed(["eeeee"])  // over capacity: the oldest go
        base.calls.withLock { $0.removeAll() }
        _ = try await memo.embed(["a", "eeeee"])
        #expect(base.calls.withLock { $0 }.isEmpty)
        _ = try await memo.embed(["bb"])
        #expect(base.calls.withLock { $0 } == ["bb"])
    }
}
