import Synchronization

/// Remembers the vectors of the last texts it embedded, so that one request's prompt is embedded once although the
/// semantic rules and the cache both read it. Embeddings are deterministic, so a remembered vector is exact. Bounded:
/// the least recently used text is forgotten first.
public final class MemoizingEmbedder: Embedder {
    private struct Memory {
        var vectors: [String: (vector: [Float], used: UInt64)] = [:]
        var clock: UInt64 = 0
        var hits = 0
        var misses = 0
    }

    public let base: any Embedder
    public let capacity: Int
    /// Texts longer than this are not remembered (they are rarely embedded twice, and they are large keys).
    public let maxTextLength: Int
    private let memory = Mutex(Memory())

    public init(_ base: any Embedder, capacity: Int = 512, maxTextLength: Int = 4096) {
        self.base = base
        self.capacity = max(1, capacity)
        self.maxTextLength = maxTextLength
    }

    public var dimensions: Int { base.dimensions }

    /// Texts answered from memory, and texts the model embedded, since start.
    public var statistics: (hits: Int, misses: Int) { memory.withLock { ($0.hits, $0.misses) } }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        var results = [[Float]?](repeating: nil, count: texts.count)
        var missing: [String] = []
        var missingIndex: [String: Int] = [:]
        memory.withLock { memory in
            for (index, text) in texts.enumerated() {
                memory.clock += 1
                if let known = memory.vectors[text] {
                    results[index] = known.vector
                    memory.vectors[text]?.used = memory.clock
                    memory.hits += 1
                } else if missingIndex[text] == nil {
                    missingIndex[text] = missing.count
                    missing.append(text)
                }
            }
            memory.misses += missing.count
        }
        if !missing.isEmpty {
            let vectors = try await base.embed(missing)
            memory.withLock { memory in
                for (text, vector) in zip(missing, vectors) where text.utf8.count <= maxTextLength {
                    memory.clock += 1
                    memory.vectors[text] = (vector, memory.clock)
                }
                if memory.vectors.count > capacity {
                    // Forget the oldest quarter at once, so eviction is rare and cheap on average.
                    let keep = capacity * 3 / 4
                    let sorted = memory.vectors.sorted { $0.value.used > $1.value.used }
                    memory.vectors = Dictionary(uniqueKeysWithValues: sorted.prefix(keep).map { ($0.key, $0.value) })
                }
            }
            for (index, text) in texts.enumerated() where results[index] == nil {
                if let position = missingIndex[text] { results[index] = vectors[position] }
            }
        }
        return results.map { $0 ?? [] }
    }
}
