/// The answer to `SemanticCache.lookup`.
public enum CacheLookup: Sendable {
    /// Serve `entry`; `similarity` is 1 for the exact layer.
    case hit(CacheHit)
    /// Nothing fit. `vector` is the query's embedding (nil if the lookup did not need one): hand it to `store`
    /// so the answer is not embedded twice.
    case miss(vector: [Float]?)
    /// The cache could not be consulted; the request goes upstream as if there were no cache.
    case bypass(CacheBypassReason)
}

public struct CacheHit: Sendable {
    public enum Layer: String, Sendable {
        case exact, semantic
    }

    public var entry: CacheEntry
    public var similarity: Float
    public var layer: Layer
}

/// One stored answer as read back from Redis.
public struct CacheEntry: Sendable {
    public var id: String
    public var namespace: String
    /// The normalized question it answers (placeholder text where PII was tokenized).
    public var text: String
    public var completion: CachedCompletion
    public var rulesVersion: String
    /// Unix milliseconds.
    public var createdAt: Int64
    /// Hits including this one.
    public var hits: Int64
}

public enum CacheBypassReason: String, Sendable {
    /// Redis failed, timed out, or is known to be down.
    case redisUnavailable = "redis_unavailable"
    /// The embedder failed.
    case embeddingFailed = "embedding_failed"
    /// A stored entry could not be decoded (treated as absent and deleted).
    case corruptEntry = "corrupt_entry"
}

/// The answer to `SemanticCache.store`.
public enum CacheStoreResult: Sendable, Equatable {
    case stored(id: String)
    case skipped(String)
    /// Redis or the embedder failed; counted, never thrown.
    case failed(String)
}

/// What `SemanticCache.delete` removes.
public enum CacheDeletionScope: Sendable, Equatable {
    case all
    /// A namespace as `CacheKey.namespace` names it.
    case namespace(String)
    /// Every namespace of a tenant, by the tenant string the server put in `CacheKeyInput.tenant`.
    case tenant(String)
}
