/// Settings of the semantic cache; every one has a default.
public struct SemanticCacheConfiguration: Sendable, Equatable {
    /// Cosine similarity a near neighbour needs when its content words are the query's own (the lexical gate adds
    /// to it for each word that differs). A request may raise it, never lower it. Default 0.90 — calibrated with
    /// `airlock cache calibrate` so that, with the default gate, false hits stay under 1 % on QQP and PAWS.
    public var threshold: Float
    public var gate: LexicalGate
    /// Entry lifetime when a request does not set its own. Default 24 h.
    public var defaultTTL: Duration
    /// The longest lifetime a request may ask for. Default 30 days.
    public var maximumTTL: Duration
    /// Entries per namespace; past it the least recently hit are evicted. Default 10,000.
    public var maxEntriesPerNamespace: Int
    /// Memory of the in-process index across every namespace; past it the least recently hit entries anywhere leave
    /// the index (they stay in Redis, for exact hits, until they expire). Default 128 MiB.
    public var maxIndexBytes: Int
    /// Longest keyed prompt text stored, in bytes; a longer prompt is answered but not stored. Default 32 KiB.
    public var maxStoredTextBytes: Int
    /// Nearest neighbours checked against the gate per lookup. Default 4.
    public var candidatesPerLookup: Int
    /// Longest answer stored, in bytes of its JSON. Default 1 MiB.
    public var maxResponseBytes: Int
    /// How often other replicas' inserts are read from the Redis stream. Default 100 ms.
    public var syncInterval: Duration
    /// How often expired entries are swept from the in-process index. Default 30 s.
    public var sweepInterval: Duration
    /// Events kept in the Redis stream (approximate trim). Default 100,000.
    public var streamMaxLength: Int
    /// Redis key prefix. Default `airlock`.
    public var keyPrefix: String
    /// The scripts the embedding model can judge: texts in any other script (`TextScript`) are served by the exact
    /// layer only, never by similarity. Default: Latin only (all-MiniLM-L6-v2 was trained on English; its similarity
    /// barely separates same from different Chinese questions).
    public var semanticScripts: Set<TextScript>
    /// Base thresholds by script, where one is calibrated apart from `threshold`.
    public var thresholds: [TextScript: Float]
    /// Where the semantic index lives. Default `local`.
    public var index: IndexBackend = .local

    /// Where the semantic index lives.
    public enum IndexBackend: String, Sendable, Equatable, CaseIterable {
        /// In this process's memory, loaded from Redis at start and kept in step through a Redis stream.
        case local
        /// In Redis 8's vector sets, one per namespace: the process keeps no index and loads nothing at start.
        case redis
    }

    /// The base threshold for a text in `script`.
    public func threshold(for script: TextScript) -> Float { thresholds[script] ?? threshold }

    public init(
        threshold: Float = 0.90, gate: LexicalGate = LexicalGate(), defaultTTL: Duration = .seconds(86_400),
        maximumTTL: Duration = .seconds(30 * 86_400), maxEntriesPerNamespace: Int = 10_000,
        maxIndexBytes: Int = 128 << 20, maxStoredTextBytes: Int = 32 * 1024, candidatesPerLookup: Int = 4, maxResponseBytes: Int = 1 << 20, syncInterval: Duration = .milliseconds(100),
        sweepInterval: Duration = .seconds(30), streamMaxLength: Int = 100_000, keyPrefix: String = "airlock",
        semanticScripts: Set<TextScript> = [.latin], thresholds: [TextScript: Float] = [:]
    ) {
        self.semanticScripts = semanticScripts
        self.thresholds = thresholds
        self.threshold = threshold
        self.gate = gate
        self.defaultTTL = defaultTTL
        self.maximumTTL = maximumTTL
        self.maxEntriesPerNamespace = maxEntriesPerNamespace
        self.maxIndexBytes = maxIndexBytes
        self.maxStoredTextBytes = maxStoredTextBytes
        self.candidatesPerLookup = candidatesPerLookup
        self.maxResponseBytes = maxResponseBytes
        self.syncInterval = syncInterval
        self.sweepInterval = sweepInterval
        self.streamMaxLength = streamMaxLength
        self.keyPrefix = keyPrefix
    }

    public func validated() throws(SemanticCacheError) -> SemanticCacheConfiguration {
        for value in [threshold] + Array(thresholds.values) where !(value > 0 && value <= 1) {
            throw SemanticCacheError(.invalidConfiguration, "cache threshold must be in (0, 1], got \(value)")
        }
        guard defaultTTL > .zero, maximumTTL >= defaultTTL else {
            throw SemanticCacheError(.invalidConfiguration, "cache TTLs must be positive, maximum ≥ default")
        }
        guard maxEntriesPerNamespace >= 1, candidatesPerLookup >= 1, maxResponseBytes >= 1, maxIndexBytes >= 1,
            maxStoredTextBytes >= 1
        else {
            throw SemanticCacheError(.invalidConfiguration, "cache limits must be at least 1")
        }
        guard syncInterval > .zero, sweepInterval > .zero, streamMaxLength >= 1 else {
            throw SemanticCacheError(.invalidConfiguration, "cache intervals must be positive")
        }
        guard !keyPrefix.isEmpty, !keyPrefix.contains("{"), !keyPrefix.contains("}"), !keyPrefix.contains("*") else {
            throw SemanticCacheError(.invalidConfiguration, "cache key prefix must be non-empty without { } *")
        }
        return self
    }
}
