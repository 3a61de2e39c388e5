import Synchronization

/// Counters since the cache started; the server exports them as metrics.
public final class SemanticCacheStatistics: Sendable {
    let lookups = Atomic<Int>(0)
    let exactHits = Atomic<Int>(0)
    let semanticHits = Atomic<Int>(0)
    let misses = Atomic<Int>(0)
    let bypasses = Atomic<Int>(0)
    let gateRejections = Atomic<Int>(0)
    let exactOnlyLookups = Atomic<Int>(0)
    let stores = Atomic<Int>(0)
    let storeFailures = Atomic<Int>(0)
    let evictions = Atomic<Int>(0)
    let expiredDropped = Atomic<Int>(0)
    let syncedEvents = Atomic<Int>(0)

    public var lookupCount: Int { lookups.load(ordering: .relaxed) }
    public var exactHitCount: Int { exactHits.load(ordering: .relaxed) }
    public var semanticHitCount: Int { semanticHits.load(ordering: .relaxed) }
    public var missCount: Int { misses.load(ordering: .relaxed) }
    /// Lookups answered `bypass` (Redis or the embedder failed).
    public var bypassCount: Int { bypasses.load(ordering: .relaxed) }
    /// Near neighbours above the threshold that the lexical gate turned away.
    public var gateRejectionCount: Int { gateRejections.load(ordering: .relaxed) }
    /// Lookups whose text is in a script the model cannot judge: the exact layer only.
    public var exactOnlyLookupCount: Int { exactOnlyLookups.load(ordering: .relaxed) }
    public var storeCount: Int { stores.load(ordering: .relaxed) }
    public var storeFailureCount: Int { storeFailures.load(ordering: .relaxed) }
    public var evictionCount: Int { evictions.load(ordering: .relaxed) }
    /// Entries dropped from the in-process index because Redis had expired them.
    public var expiredDroppedCount: Int { expiredDropped.load(ordering: .relaxed) }
    /// Other replicas' events applied from the Redis stream.
    public var syncedEventCount: Int { syncedEvents.load(ordering: .relaxed) }
}
