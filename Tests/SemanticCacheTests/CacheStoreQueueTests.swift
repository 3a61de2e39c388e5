import AirlockTestSupport
import Logging
import Redis
import ServiceLifecycle
import Testing

@testable import SemanticCache

/// The store queue against a real Redis and the real model: bounded, drained on graceful shutdown, observable.
@Suite struct CacheStoreQueueTests {
    @Test func queuedStoresLandAndAGracefulShutdownDrainsTheRest() async throws {
        try await SemanticCacheIntegrationTests.withCache { cache, _ in
            let queue = CacheStoreQueue(cache: cache, capacity: 64)
            let keys = (0..<12).map { SemanticCacheIntegrationTests.key("Question number \($0) about owls?") }
            try await withRunningServices([queue]) {
                for key in keys.prefix(6) {
                    #expect(queue.enqueue(key, completion: SemanticCacheIntegrationTests.answer, vector: nil, ttl: nil))
                }
                await queue.settled()
                #expect(queue.counts.stored == 6)
                // Queued just before shutdown: still stored before run() returns.
                for key in keys.suffix(6) {
                    queue.enqueue(key, completion: SemanticCacheIntegrationTests.answer, vector: nil, ttl: nil)
                }
            }
            #expect(queue.counts == .init(accepted: 12, dropped: 0, stored: 12))
            for key in keys {
                #expect(SemanticCacheIntegrationTests.layer(await cache.lookup(key)) == "exact")
            }
            // Closed: later stores are refused and counted, never queued.
            #expect(!queue.enqueue(keys[0], completion: SemanticCacheIntegrationTests.answer, vector: nil, ttl: nil))
            #expect(queue.counts.dropped == 1)
        }
    }

    @Test func pastItsCapacityTheQueueDropsAndCounts() async throws {
        try await SemanticCacheIntegrationTests.withCache { cache, _ in
            // Not running: nothing is taken off the queue, so the fourth store finds it full.
            let queue = CacheStoreQueue(cache: cache, capacity: 3)
            let key = SemanticCacheIntegrationTests.key("What do owls eat?")
            let accepted = (0..<4).map { _ in
                queue.enqueue(key, completion: SemanticCacheIntegrationTests.answer, vector: nil, ttl: nil)
            }
            #expect(accepted == [true, true, true, false])
            #expect(queue.counts == .init(accepted: 3, dropped: 1, stored: 0))
        }
    }
}
