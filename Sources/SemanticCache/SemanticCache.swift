public import Embeddings
import Foundation
public import Logging
public import Redis
public import ServiceLifecycle
import Synchronization
public import TimeSource

/// The semantic cache (design §3): an exact layer, then nearest neighbours by cosine similarity behind a lexical
/// gate, partitioned by `CacheKey.namespace`, with Redis as the truth and the vector index in process.
///
/// Fail-open: `lookup` and `store` never throw. Redis trouble turns a lookup into `.bypass` (counted) and no lookup
/// waits on Redis longer than the Redis client's command timeout, because the first failed Redis call ends it.
///
/// As a `Service`, `run()` loads the index from Redis, then follows the other replicas' inserts through a Redis
/// stream (every `syncInterval`) and sweeps expired entries (every `sweepInterval`). After a Redis outage it
/// reloads, since a restarted Redis may have lost entries.
public final class SemanticCache: Service, Sendable {
    public let configuration: SemanticCacheConfiguration
    public let statistics = SemanticCacheStatistics()
    private let redis: RedisClient
    private let embedder: any Embedder
    private let embeddingModel: String
    /// Embedders for particular scripts (a multilingual model for Chinese, say); other scripts use `embedder`.
    private let routes: [TextScript: Route]
    private let index: VectorIndex
    /// The vector-set backend (`index: redis`); nil: the in-process index.
    private let vectorSets: VectorSetIndex?
    private let logger: Logger
    /// Names this process's own stream events, which it has applied already.
    private let instanceID = UUID().uuidString
    /// Expiry times and recency of hits.
    private let time: any TimeSource

    /// An embedder that judges the texts of some scripts, and the name of its model.
    public struct Route: Sendable {
        public var embedder: any Embedder
        public var model: String

        public init(embedder: any Embedder, model: String) {
            self.embedder = embedder
            self.model = model
        }
    }

    /// - Parameters:
    ///   - embedder: embeds the texts of every script without a route; `embeddingModel` names its model.
    ///   - routes: other embedders by script, each the only one ever used for that script's namespaces (the
    ///     script is part of the namespace, so vectors of two models are never compared). Every embedder must
    ///     give vectors of the same length.
    public init(
        configuration: SemanticCacheConfiguration = .init(), redis: RedisClient, embedder: any Embedder,
        embeddingModel: String = "", routes: [TextScript: Route] = [:],
        time: any TimeSource = SystemTime(), logger: Logger = Logger(label: "airlock.cache")
    ) throws(SemanticCacheError) {
        self.configuration = try configuration.validated()
        for (script, route) in routes where route.embedder.dimensions != embedder.dimensions {
            throw SemanticCacheError(
                .invalidConfiguration,
                "the \(script.rawValue) embedder (\(route.model)) gives \(route.embedder.dimensions) dimensions, "
                    + "the main one (\(embeddingModel)) \(embedder.dimensions)")
        }
        self.time = time
        self.redis = redis
        self.embedder = embedder
        self.embeddingModel = embeddingModel
        self.routes = routes
        self.index = VectorIndex(dimensions: embedder.dimensions, maxBytes: configuration.maxIndexBytes)
        self.vectorSets =
            configuration.index == .redis ? VectorSetIndex(redis: redis, prefix: configuration.keyPrefix) : nil
        self.logger = logger
    }

    /// The model that judges texts of `script`.
    public func embeddingModel(for script: TextScript) -> String {
        routes[script]?.model ?? embeddingModel
    }

    /// The key of `input` in this cache: the model that judges its text is part of the namespace, so a change of
    /// model starts new namespaces instead of comparing vectors of two models.
    public func key(_ input: CacheKeyInput) -> CacheKey {
        CacheKey(input, embeddingModel: embeddingModel(for:))
    }

    /// The embedder for a key's text.
    private func embedder(for script: TextScript) -> any Embedder {
        routes[script]?.embedder ?? embedder
    }

    /// The vectors of many keys' texts, each from the embedder of its script, in batches: what `lookup` and `store`
    /// would compute one by one (for evaluations and bulk loads).
    public func embed(_ keys: [CacheKey]) async throws -> [[Float]] {
        var vectors = [[Float]](repeating: [], count: keys.count)
        var byModel: [String: (embedder: any Embedder, indices: [Int])] = [:]
        for (index, key) in keys.enumerated() {
            let model = embeddingModel(for: key.script)
            byModel[model, default: (embedder(for: key.script), [])].indices.append(index)
        }
        for (_, group) in byModel {
            let made = try await group.embedder.embed(group.indices.map { keys[$0].text })
            for (index, vector) in zip(group.indices, made) { vectors[index] = vector }
        }
        return vectors
    }

    /// Which backend holds the semantic index.
    public var indexBackend: SemanticCacheConfiguration.IndexBackend { configuration.index }

    /// Entries in the in-process index, all namespaces (0 with the vector-set backend, which keeps none here).
    public var indexedEntryCount: Int { index.totalCount }

    /// Members of `namespace`'s vector set (the vector-set backend; expired ones count until swept).
    public func vectorSetCount(namespace: String) async throws(RedisError) -> Int {
        try await vectorSets?.count(namespace: namespace) ?? index.count(namespace: namespace)
    }

    /// Memory the in-process index holds across namespaces (bounded by `maxIndexBytes`).
    public var indexedBytes: Int { index.bytes }

    /// Entries that left the in-process index to keep it under `maxIndexBytes`.
    public var evictedForMemory: Int { index.evictedForMemory }

    // MARK: Lookup

    /// Finds a stored answer for `key`.
    ///
    /// - Parameters:
    ///   - vector: the last user turn's embedding if the caller has it already (unit length); otherwise the
    ///     cache embeds `key.text` when the exact layer misses and the namespace is not empty.
    ///   - threshold: the effective base threshold for this request (the namespace's configured one, raised by
    ///     `x-airlock-cache-threshold`); nil means `configuration.threshold`.
    public func lookup(_ key: CacheKey, vector: [Float]? = nil, threshold: Float? = nil) async -> CacheLookup {
        statistics.lookups.add(1, ordering: .relaxed)
        // The script's own base, unless the request raised it above that.
        let base = configuration.threshold(for: key.script)
        let threshold = min(max(max(threshold ?? base, base), 0), 1)
        let result = await lookupLayers(key, vector: vector, threshold: threshold)
        switch result {
        case .hit(let hit):
            if hit.layer == .exact {
                statistics.exactHits.add(1, ordering: .relaxed)
            } else {
                statistics.semanticHits.add(1, ordering: .relaxed)
            }
        case .miss: statistics.misses.add(1, ordering: .relaxed)
        case .bypass: statistics.bypasses.add(1, ordering: .relaxed)
        }
        return result
    }

    private func lookupLayers(_ key: CacheKey, vector: [Float]?, threshold: Float) async -> CacheLookup {
        let now = time.unixMilliseconds
        let semantic = configuration.semanticScripts.contains(key.script)
        // With vector sets, the exact lookup and the set's size go in one round trip.
        let exact: Fetched
        var members: Int?
        if vectorSets != nil, semantic {
            let replies: [RedisReply]
            do {
                replies = try await redis.pipeline([
                    fetchCommand(namespace: key.namespace, id: key.exactID, now: now),
                    RedisCommand("VCARD", vectorSetKey(key.namespace)),
                ])
            } catch {
                logger.debug("cache lookup bypassed", metadata: ["error": "\(error)"])
                return .bypass(.redisUnavailable)
            }
            exact = await fetched(replies[0], namespace: key.namespace, id: key.exactID)
            // An exact hit is served even if the set cannot be read; otherwise that is a bypass.
            members = replies[1].integer.map { Int($0) }
            if members == nil, case .absent = exact {
                logger.debug("cache lookup bypassed", metadata: ["error": "VCARD: \(replies[1])"])
                return .bypass(.redisUnavailable)
            }
        } else {
            exact = await fetch(namespace: key.namespace, id: key.exactID, now: now)
        }
        switch exact {
        case .failed(let reason): return .bypass(reason)
        case .found(let entry): return .hit(CacheHit(entry: entry, similarity: 1, layer: .exact))
        case .absent: break
        }
        // A script the model cannot judge is served exactly or not at all.
        guard semantic else {
            statistics.exactOnlyLookups.add(1, ordering: .relaxed)
            return .miss(vector: nil)
        }
        // Nothing to compare with: skip the embedding (the store that follows embeds once).
        if (members ?? index.count(namespace: key.namespace)) == 0 { return .miss(vector: vector) }
        // Nothing this long is stored, so nothing could match it by meaning: no embedding (whose tokenizer would
        // read the whole text) for a prompt past the bound.
        if key.text.utf8.count > configuration.maxStoredTextBytes { return .miss(vector: nil) }
        let query: [Float]
        if let vector, vector.count == index.dimensions {
            query = vector
        } else {
            do {
                query = try await embedder(for: key.script).embed(key.text)
            } catch {
                logger.warning("cache embedding failed", metadata: ["error": "\(error)"])
                return .bypass(.embeddingFailed)
            }
        }
        let candidates: [(id: String, text: String, similarity: Float)]
        if let vectorSets {
            do {
                candidates = try await vectorSets.search(
                    namespace: key.namespace, vector: query, minimum: Double(threshold),
                    limit: configuration.candidatesPerLookup, nowMilliseconds: now
                ).map { ($0.id, $0.text, Float($0.similarity)) }
            } catch {
                logger.debug("cache lookup bypassed", metadata: ["error": "\(error)"])
                return .bypass(.redisUnavailable)
            }
        } else {
            candidates = index.search(
                namespace: key.namespace, query: query, minimum: threshold, limit: configuration.candidatesPerLookup,
                now: now
            ).map { ($0.entry.id, $0.entry.text, $0.similarity) }
        }
        if candidates.isEmpty { return .miss(vector: query) }
        let profile = LexicalProfile(key.text)
        let folded = key.text.lowercased()
        for candidate in candidates where candidate.id != key.exactID {
            // Same words, another exact id: the two differ only in a code layout's indentation, line breaks or case,
            // which carry meaning there; the embedding cannot tell them apart, so this is no match.
            if candidate.text.lowercased() == folded {
                statistics.gateRejections.add(1, ordering: .relaxed)
                continue
            }
            let verdict = configuration.gate.evaluate(
                profile, LexicalProfile(candidate.text), threshold: threshold)
            guard case .pass(_, let required) = verdict, candidate.similarity >= required else {
                statistics.gateRejections.add(1, ordering: .relaxed)
                continue
            }
            switch await fetch(namespace: key.namespace, id: candidate.id, now: now) {
            case .failed(let reason): return .bypass(reason)
            case .found(let entry):
                if vectorSets == nil { index.touch(namespace: key.namespace, id: entry.id, at: now) }
                return .hit(CacheHit(entry: entry, similarity: min(candidate.similarity, 1), layer: .semantic))
            case .absent: continue
            }
        }
        return .miss(vector: query)
    }

    /// Reads an entry and counts the hit; `nil` when it does not exist (or has expired: then it leaves the index).
    private enum Fetched {
        case found(CacheEntry)
        case absent
        case failed(CacheBypassReason)
    }

    private func fetch(namespace: String, id: String, now: Int64) async -> Fetched {
        let reply: RedisReply
        do {
            reply = try await redis.execute(fetchCommand(namespace: namespace, id: id, now: now))
        } catch {
            logger.debug("cache lookup bypassed", metadata: ["error": "\(error)"])
            return .failed(.redisUnavailable)
        }
        return await fetched(reply, namespace: namespace, id: id)
    }

    /// The `hit` script for one entry (with the vector-set backend's sets, so an entry found gone leaves them).
    private func fetchCommand(namespace: String, id: String, now: Int64) -> RedisCommand {
        let keys: [any RedisArgumentConvertible] =
            vectorSets == nil
            ? [2, entryKey(namespace, id), lruKey(namespace)]
            : [4, entryKey(namespace, id), lruKey(namespace), vectorSetKey(namespace), expiryKey(namespace)]
        return RedisCommand("EVAL", [CacheScripts.hit] + keys + [Int(now), id])
    }

    /// Reads the `hit` script's reply.
    private func fetched(_ reply: RedisReply, namespace: String, id: String) async -> Fetched {
        guard let fields = reply.fieldMap else { return .failed(.redisUnavailable) }
        if fields.isEmpty {
            if index.contains(namespace: namespace, id: id) {
                index.remove(namespace: namespace, id: id)
                statistics.expiredDropped.add(1, ordering: .relaxed)
            }
            return .absent
        }
        guard let responseBytes = fields["r"], let completion = EntryCodec.decode(responseBytes),
            let text = EntryCodec.text(fields["t"])
        else {
            logger.warning("corrupt cache entry deleted", metadata: ["namespace": "\(namespace)", "id": "\(id)"])
            index.remove(namespace: namespace, id: id)
            _ = try? await redis.execute(RedisCommand("DEL", entryKey(namespace, id)))
            return .absent
        }
        return .found(
            CacheEntry(
                id: id, namespace: namespace, text: text, completion: completion,
                rulesVersion: EntryCodec.text(fields["rv"]) ?? "", createdAt: EntryCodec.int(fields["c"]) ?? 0,
                hits: (EntryCodec.int(fields["h"]) ?? 0) + 1))
    }

    // MARK: Store

    /// Stores `completion` as the answer for `key`. Call it only for `ok` outcomes, after a stream ended cleanly.
    ///
    /// - Parameters:
    ///   - vector: the embedding from `.miss(vector:)`, if the lookup produced one.
    ///   - ttl: the request's `x-airlock-cache-ttl`; nil means `configuration.defaultTTL`; capped at `maximumTTL`.
    @discardableResult
    public func store(
        _ key: CacheKey, completion: CachedCompletion, vector precomputed: [Float]? = nil, ttl: Duration? = nil
    ) async -> CacheStoreResult {
        guard !key.text.isEmpty else { return .skipped("empty prompt") }
        guard key.text.utf8.count <= configuration.maxStoredTextBytes else {
            return .skipped("prompt longer than \(configuration.maxStoredTextBytes) bytes")
        }
        guard let response = EntryCodec.encode(completion), response.count <= configuration.maxResponseBytes else {
            return .skipped("response larger than \(configuration.maxResponseBytes) bytes")
        }
        let ttl = min(max(ttl ?? configuration.defaultTTL, .milliseconds(1)), configuration.maximumTTL)
        let ttlMilliseconds = Int64(ttl.components.seconds) * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000
        let vector: [Float]
        if !configuration.semanticScripts.contains(key.script) {
            // Never compared by similarity (the script is in the namespace): no embedding is spent on it.
            vector = [Float](repeating: 0, count: index.dimensions)
        } else if let given = precomputed, given.count == index.dimensions {
            vector = given
        } else {
            do {
                vector = try await embedder(for: key.script).embed(key.text)
            } catch {
                statistics.storeFailures.add(1, ordering: .relaxed)
                return .failed("embedding: \(error)")
            }
        }
        let now = time.unixMilliseconds
        let expiresAt = now + max(1, ttlMilliseconds)
        let vectorBytes = EntryCodec.vectorBytes(vector)
        let id = key.exactID
        let fields: [any RedisArgumentConvertible] = [
            "v", vectorBytes, "t", key.text, "r", response, "rv", key.rulesVersion, "c", Int(now), "x",
            Int(expiresAt), "h", 0, "fv", EntryCodec.formatVersion,
        ]
        if vectorSets != nil {
            return await storeInVectorSet(
                key, id: id, vectorBytes: vectorBytes, fields: fields, ttlMilliseconds: ttlMilliseconds, now: now,
                expiresAt: expiresAt)
        }
        let storeCommand = RedisCommand(
            "EVAL",
            [
                CacheScripts.store, 2, entryKey(key.namespace, id), lruKey(key.namespace), Int(max(1, ttlMilliseconds)),
                Int(now), id, configuration.maxEntriesPerNamespace, entryKeyPrefix(key.namespace),
            ] + fields)
        let event = streamAdd([
            "op", "put", "ns", key.namespace, "id", id, "v", vectorBytes, "t", key.text, "x", Int(expiresAt),
        ])
        let replies: [RedisReply]
        do {
            replies = try await redis.pipeline([storeCommand, event])
        } catch {
            statistics.storeFailures.add(1, ordering: .relaxed)
            logger.debug("cache store failed", metadata: ["error": "\(error)"])
            return .failed("redis: \(error)")
        }
        if let message = replies[0].errorMessage {
            statistics.storeFailures.add(1, ordering: .relaxed)
            logger.warning("cache store refused", metadata: ["error": "\(message)"])
            return .failed("redis: \(message)")
        }
        index.upsert(
            namespace: key.namespace,
            entry: .init(id: id, text: key.text, expiresAt: expiresAt, lastHit: now), vector: vector)
        statistics.stores.add(1, ordering: .relaxed)
        let evicted = (replies[0].array ?? []).compactMap(\.string)
        if !evicted.isEmpty {
            statistics.evictions.add(evicted.count, ordering: .relaxed)
            for evictedID in evicted { index.remove(namespace: key.namespace, id: evictedID) }
            _ = try? await redis.pipeline(
                evicted.map { streamAdd(["op", "del", "ns", key.namespace, "id", $0]) })
        }
        return .stored(id: id)
    }

    /// The vector-set backend's store: the entry, its LRU rank and its expiry in one script, then its vector with
    /// `VADD … CAS` in the same pipeline (Redis searches the new member's neighbours on a thread of its own and only
    /// links it on the main thread); nothing in this process, nothing on the stream (no replica keeps an index).
    /// Should the `VADD` fail, the entry still answers exact lookups until it expires; it is counted as a failed store.
    private func storeInVectorSet(
        _ key: CacheKey, id: String, vectorBytes: [UInt8], fields: [any RedisArgumentConvertible], ttlMilliseconds: Int64,
        now: Int64, expiresAt: Int64
    ) async -> CacheStoreResult {
        let script = RedisCommand(
            "EVAL",
            [
                CacheScripts.storeWithVectorSet, 4, entryKey(key.namespace, id), lruKey(key.namespace),
                vectorSetKey(key.namespace), expiryKey(key.namespace), Int(max(1, ttlMilliseconds)), Int(now), id,
                configuration.maxEntriesPerNamespace, entryKeyPrefix(key.namespace), Int(expiresAt),
            ] + fields)
        let add = VectorSetIndex.addCommand(
            key: vectorSetKey(key.namespace), id: id, vectorBytes: vectorBytes, text: key.text,
            expiresAtMilliseconds: expiresAt)
        let replies: [RedisReply]
        do {
            replies = try await redis.pipeline([script, add])
        } catch {
            statistics.storeFailures.add(1, ordering: .relaxed)
            logger.debug("cache store failed", metadata: ["error": "\(error)"])
            return .failed("redis: \(error)")
        }
        if let message = replies[0].errorMessage ?? replies[1].errorMessage {
            statistics.storeFailures.add(1, ordering: .relaxed)
            logger.warning("cache store refused", metadata: ["error": "\(message)"])
            return .failed("redis: \(message)")
        }
        statistics.stores.add(1, ordering: .relaxed)
        let evicted = (replies[0].array ?? []).count
        if evicted > 0 { statistics.evictions.add(evicted, ordering: .relaxed) }
        return .stored(id: id)
    }

    /// The vector-set backend's sweep: members whose entries expired leave the vector sets (Redis expired the entries
    /// themselves; lookups never returned them, their attributes carry the expiry). Returns how many left.
    @discardableResult
    public func sweepVectorSets() async throws(RedisError) -> Int {
        guard vectorSets != nil else { return 0 }
        let now = time.unixMilliseconds
        var removed = 0
        var cursor = "0"
        repeat {
            let reply = try await redis.execute(
                RedisCommand("SCAN", cursor, "MATCH", "\(configuration.keyPrefix):{*}:x", "COUNT", 1000),
                timeout: .seconds(5))
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string,
                let keys = parts[1].array?.compactMap(\.string)
            else { throw RedisError(.unexpectedReply, "SCAN answered \(reply)") }
            cursor = next
            for expiry in keys {
                guard let namespace = namespace(ofSetKey: expiry, suffix: ":x") else { continue }
                while true {
                    let count = try await redis.execute(
                        RedisCommand(
                            "EVAL", CacheScripts.sweepVectorSet, 3, expiry, vectorSetKey(namespace), lruKey(namespace),
                            Int(now), 1000)
                    ).integer ?? 0
                    removed += Int(count)
                    if count < 1000 { break }
                }
            }
        } while cursor != "0"
        statistics.expiredDropped.add(removed, ordering: .relaxed)
        return removed
    }

    // MARK: Delete

    /// Deletes entries from Redis and from every replica's index; returns how many entries were removed.
    /// Unlike lookups, this throws: the admin route reports the failure.
    @discardableResult
    public func delete(_ scope: CacheDeletionScope) async throws(SemanticCacheError) -> Int {
        let pattern: String
        let event: [any RedisArgumentConvertible]
        switch scope {
        case .all:
            pattern = "\(configuration.keyPrefix):{*}:*"
            event = ["op", "all"]
        case .namespace(let namespace):
            guard Self.isValidName(namespace) else { return 0 }
            pattern = "\(configuration.keyPrefix):{\(namespace)}:*"
            event = ["op", "ns", "ns", namespace]
        case .tenant(let tenant):
            let hash = CacheKey.tenantHash(tenant)
            pattern = "\(configuration.keyPrefix):{\(hash)-*}:*"
            event = ["op", "tenant", "ns", hash]
        }
        var deleted = 0
        do {
            var cursor = "0"
            repeat {
                let reply = try await redis.execute(
                    RedisCommand("SCAN", cursor, "MATCH", pattern, "COUNT", 1000), timeout: .seconds(5))
                guard let parts = reply.array, parts.count == 2, let next = parts[0].string,
                    let keys = parts[1].array?.compactMap(\.string)
                else { throw RedisError(.unexpectedReply, "SCAN answered \(reply)") }
                cursor = next
                if !keys.isEmpty {
                    try await redis.execute(RedisCommand("UNLINK", keys), timeout: .seconds(5))
                    deleted += keys.filter { $0.contains("}:e:") }.count
                }
            } while cursor != "0"
            try await redis.execute(streamAdd(event))
        } catch {
            throw Self.redisFailure(error, "cache delete failed")
        }
        apply(scope)
        return deleted
    }

    private func apply(_ scope: CacheDeletionScope) {
        switch scope {
        case .all: index.removeAll()
        case .namespace(let namespace): index.dropNamespace(namespace)
        case .tenant(let tenant): index.dropNamespaces(withPrefix: CacheKey.tenantHash(tenant) + "-")
        }
    }

    // MARK: Service

    /// Loads the index, then follows the stream and sweeps until graceful shutdown or cancellation.
    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            await self.synchronize()
        }
    }

    private func synchronize() async {
        if vectorSets != nil {
            // Nothing to load or follow: only expired members to sweep from the vector sets.
            while !Task.isCancelled {
                do {
                    try await sweepVectorSets()
                } catch {
                    logger.debug("cache sweep paused", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: configuration.sweepInterval)
            }
            return
        }
        var lastEventID: String?
        var lastSweep = time.now
        while !Task.isCancelled {
            if let after = lastEventID {
                do {
                    lastEventID = try await readEvents(after: after)
                } catch {
                    // Redis may have restarted empty: rebuild from it once it answers again.
                    lastEventID = nil
                    logger.debug("cache sync paused", metadata: ["error": "\(error)"])
                }
            } else {
                lastEventID = try? await load()
            }
            if time.now - lastSweep >= configuration.sweepInterval {
                let removed = index.sweep(now: time.unixMilliseconds)
                statistics.expiredDropped.add(removed, ordering: .relaxed)
                lastSweep = time.now
            }
            try? await Task.sleep(for: configuration.syncInterval)
        }
    }

    /// Rebuilds the index from Redis; returns the stream position to follow from. Public so that tools can load
    /// without running the service.
    @discardableResult
    public func load() async throws(SemanticCacheError) -> String {
        do {
            // The position first: events during the scan are applied again afterwards, which is harmless.
            let last = try await redis.execute(RedisCommand("XREVRANGE", streamKey, "+", "-", "COUNT", 1))
            let position = last.array?.first?.array?.first?.string ?? "0-0"
            var loaded = 0
            var cursor = "0"
            let fresh = VectorIndex(dimensions: index.dimensions)  // unbounded while loading; `replace` evicts
            let now = time.unixMilliseconds
            repeat {
                let reply = try await redis.execute(
                    RedisCommand("SCAN", cursor, "MATCH", "\(configuration.keyPrefix):{*}:e:*", "COUNT", 1000),
                    timeout: .seconds(5))
                guard let parts = reply.array, parts.count == 2, let next = parts[0].string,
                    let keys = parts[1].array?.compactMap(\.string)
                else { throw RedisError(.unexpectedReply, "SCAN answered \(reply)") }
                cursor = next
                if keys.isEmpty { continue }
                let replies = try await redis.pipeline(
                    keys.map { RedisCommand("HMGET", $0, "v", "t", "x", "h") }, timeout: .seconds(5))
                for (key, reply) in zip(keys, replies) {
                    guard let (namespace, id) = parseEntryKey(key), let values = reply.array, values.count == 4,
                        let vectorBytes = values[0].bytes,
                        let vector = EntryCodec.vector(vectorBytes, dimensions: index.dimensions),
                        let text = values[1].string, let expiresAt = values[2].integer, expiresAt > now
                    else { continue }
                    fresh.upsert(
                        namespace: namespace, entry: .init(id: id, text: text, expiresAt: expiresAt, lastHit: now),
                        vector: vector)
                    loaded += 1
                }
            } while cursor != "0"
            index.replace(with: fresh)
            logger.info("cache index loaded", metadata: ["entries": "\(loaded)"])
            return position
        } catch {
            throw Self.redisFailure(error, "cache load failed")
        }
    }

    /// Applies other replicas' events after `position`; returns the new position.
    private func readEvents(after position: String) async throws(RedisError) -> String {
        let reply = try await redis.execute(RedisCommand("XREAD", "COUNT", 1000, "STREAMS", streamKey, position))
        guard let streams = reply.array, let stream = streams.first?.array, stream.count == 2,
            let events = stream[1].array
        else { return position }
        var last = position
        for event in events {
            guard let parts = event.array, parts.count == 2, let id = parts[0].string else { continue }
            last = id
            guard let fields = parts[1].fieldMap, EntryCodec.text(fields["src"]) != instanceID else { continue }
            applyEvent(fields)
            statistics.syncedEvents.add(1, ordering: .relaxed)
        }
        return last
    }

    private func applyEvent(_ fields: [String: [UInt8]]) {
        let namespace = EntryCodec.text(fields["ns"]) ?? ""
        switch EntryCodec.text(fields["op"]) {
        case "put":
            guard let id = EntryCodec.text(fields["id"]), let bytes = fields["v"],
                let vector = EntryCodec.vector(bytes, dimensions: index.dimensions),
                let text = EntryCodec.text(fields["t"]), let expiresAt = EntryCodec.int(fields["x"]),
                expiresAt > time.unixMilliseconds
            else { return }
            index.upsert(
                namespace: namespace,
                entry: .init(id: id, text: text, expiresAt: expiresAt, lastHit: time.unixMilliseconds), vector: vector)
        case "del":
            if let id = EntryCodec.text(fields["id"]) { index.remove(namespace: namespace, id: id) }
        case "ns": index.dropNamespace(namespace)
        case "tenant": index.dropNamespaces(withPrefix: namespace + "-")
        case "all": index.removeAll()
        default: break
        }
    }

    // MARK: Keys

    private var streamKey: String { "\(configuration.keyPrefix):events" }

    private func entryKeyPrefix(_ namespace: String) -> String { "\(configuration.keyPrefix):{\(namespace)}:e:" }

    private func entryKey(_ namespace: String, _ id: String) -> String { entryKeyPrefix(namespace) + id }

    private func lruKey(_ namespace: String) -> String { "\(configuration.keyPrefix):{\(namespace)}:lru" }

    private func vectorSetKey(_ namespace: String) -> String {
        VectorSetIndex.key(prefix: configuration.keyPrefix, namespace: namespace)
    }

    /// The vector-set backend's expiry set: ids scored by when their entries expire.
    private func expiryKey(_ namespace: String) -> String { "\(configuration.keyPrefix):{\(namespace)}:x" }

    /// `prefix:{namespace}SUFFIX` → namespace.
    private func namespace(ofSetKey key: String, suffix: String) -> String? {
        let prefix = "\(configuration.keyPrefix):{"
        guard key.hasPrefix(prefix), key.hasSuffix("}" + suffix) else { return nil }
        let namespace = key.dropFirst(prefix.count).dropLast(suffix.count + 1)
        return namespace.isEmpty ? nil : String(namespace)
    }

    private func parseEntryKey(_ key: String) -> (namespace: String, id: String)? {
        let prefix = "\(configuration.keyPrefix):{"
        guard key.hasPrefix(prefix), let close = key.range(of: "}:e:") else { return nil }
        let namespace = String(key[key.index(key.startIndex, offsetBy: prefix.count)..<close.lowerBound])
        let id = String(key[close.upperBound...])
        guard !namespace.isEmpty, !id.isEmpty else { return nil }
        return (namespace, id)
    }

    private func streamAdd(_ fields: [any RedisArgumentConvertible]) -> RedisCommand {
        RedisCommand(
            "XADD", [streamKey, "MAXLEN", "~", configuration.streamMaxLength, "*"] + fields + ["src", instanceID])
    }

    private static func isValidName(_ namespace: String) -> Bool {
        !namespace.isEmpty && namespace.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
                || byte == UInt8(ascii: "-")
        }
    }

    private static func redisFailure(_ error: any Error, _ what: String) -> SemanticCacheError {
        if let error = error as? RedisError {
            return SemanticCacheError(.redisFailure, "\(what): \(error.message)", nativeCode: "\(error.code)")
        }
        return SemanticCacheError(.redisFailure, "\(what): \(error)")
    }

}
