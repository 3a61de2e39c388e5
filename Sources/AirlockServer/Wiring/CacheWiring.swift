public import AirlockConfiguration
public import Embeddings
import Foundation
public import SemanticCache

/// The semantic cache as the configuration describes it: what `airlock serve` builds, and what `airlock eval cache`
/// measures.
extension AirlockConfiguration {
    /// Thresholds, TTLs and the scripts judged by meaning.
    public var semanticCacheConfiguration: SemanticCacheConfiguration {
        let backend = embedding.backend
        return SemanticCacheConfiguration(
            threshold: Float(cache.threshold), defaultTTL: .seconds(cache.ttlSeconds),
            maximumTTL: .seconds(max(cache.ttlSeconds, cache.maxTTLSeconds)), maxIndexBytes: cache.maxIndexBytes,
            maxStoredTextBytes: cache.maxStoredTextBytes,
            semanticScripts: Set(cache.resolvedSemanticScripts(backend: backend).compactMap(TextScript.init(rawValue:))),
            thresholds: Dictionary(
                uniqueKeysWithValues: cache.resolvedThresholds(backend: backend).compactMap { name, value in
                    TextScript(rawValue: name).map { ($0, Float(value)) }
                }))
    }

    /// The main embedding model's name in cache namespaces.
    public var cacheEmbeddingModel: String {
        embedding.backend == .local
            ? (embedding.modelDirectory as NSString).lastPathComponent : "remote:" + embedding.remoteModel
    }

    /// Whether texts in scripts other than Latin go to a multilingual model of their own
    /// (`cache.multilingual_model_dir`, with the local backend).
    public var usesMultilingualCacheModel: Bool {
        embedding.backend == .local && !cache.multilingualModelDirectory.isEmpty
    }

    /// The multilingual model's routes: `embedder` for every script it judges.
    public func multilingualCacheRoutes(_ embedder: any Embedder) -> [TextScript: SemanticCache.Route] {
        let route = SemanticCache.Route(
            embedder: embedder, model: (cache.multilingualModelDirectory as NSString).lastPathComponent)
        var routes: [TextScript: SemanticCache.Route] = [:]
        for name in AirlockConfiguration.Cache.multilingualScripts {
            if let script = TextScript(rawValue: name) { routes[script] = route }
        }
        return routes
    }
}
