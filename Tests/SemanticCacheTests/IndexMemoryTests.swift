import Testing

@testable import SemanticCache

/// The in-process index's one memory bound across namespaces.
@Suite struct IndexMemoryTests {
    static func vector(_ seed: Int) -> [Float] {
        var v = [Float](repeating: 0, count: 8)
        v[seed % 8] = 1
        return v
    }

    @Test func staysUnderItsBoundAcrossNamespacesEvictingTheLeastRecentlyHit() {
        let probe = NamespaceVectors(dimensions: 8)
        let entryCost = probe.cost(of: .init(id: "id-000", text: "text-000", expiresAt: .max, lastHit: 0))
        let index = VectorIndex(dimensions: 8, maxBytes: entryCost * 100)
        // 1,000 entries, each in a namespace of its own (as a client choosing namespaces would make them).
        for n in 0..<1000 {
            let id = "id-" + String(n).leftPadded(3)
            index.upsert(
                namespace: "ns-\(n)", entry: .init(id: id, text: "text-" + String(n).leftPadded(3), expiresAt: .max, lastHit: Int64(n)),
                vector: Self.vector(n))
            #expect(index.bytes <= entryCost * 100)
            if n == 10 { index.touch(namespace: "ns-5", id: "id-005", at: 5000) }  // hit again: recently used
        }
        #expect(index.totalCount <= 100 && index.totalCount >= 90)
        #expect(index.evictedForMemory >= 900)
        #expect(index.contains(namespace: "ns-999", id: "id-999"), "the newest stay")
        #expect(index.contains(namespace: "ns-5", id: "id-005"), "a recent hit stays")
        #expect(!index.contains(namespace: "ns-6", id: "id-006"), "the least recently hit left")
        #expect(index.bytes == index.totalCount * entryCost)
        // Removal, expiry sweeps, dropped namespaces and a clear all give their bytes back.
        index.remove(namespace: "ns-999", id: "id-999")
        #expect(index.bytes == index.totalCount * entryCost)
        index.dropNamespaces(withPrefix: "ns-99")
        #expect(index.bytes == index.totalCount * entryCost)
        index.upsert(namespace: "old", entry: .init(id: "id-old", text: "text-old", expiresAt: 10, lastHit: 9_999), vector: Self.vector(1))
        index.sweep(now: 20)
        #expect(!index.contains(namespace: "old", id: "id-old"))
        #expect(index.bytes == index.totalCount * entryCost)
        index.removeAll()
        #expect(index.bytes == 0 && index.totalCount == 0)
    }

    @Test func replacingAnEntryCountsOnlyTheDifference() {
        let index = VectorIndex(dimensions: 8)
        index.upsert(namespace: "a", entry: .init(id: "x", text: "short", expiresAt: .max, lastHit: 0), vector: Self.vector(0))
        let one = index.bytes
        index.upsert(namespace: "a", entry: .init(id: "x", text: "a much longer text", expiresAt: .max, lastHit: 1), vector: Self.vector(1))
        #expect(index.bytes == one + "a much longer text".utf8.count - "short".utf8.count)
        #expect(index.totalCount == 1)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
