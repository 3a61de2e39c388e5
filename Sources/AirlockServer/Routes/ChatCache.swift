import AirlockConfiguration
import FleetStats
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SemanticCache

/// The semantic cache as the chat route uses it: which requests may use it, their key, the request's controls, and
/// replay of a stored answer in the form the client asked for.
struct ChatCache: Sendable {
    let cache: SemanticCache
    let stores: CacheStoreQueue
    let configuration: AirlockConfiguration.Cache

    /// The parameters that change the answer, and so partition the cache.
    static let samplingParameters = [
        "temperature", "top_p", "top_k", "seed", "max_tokens", "max_completion_tokens", "presence_penalty",
        "frequency_penalty", "repetition_penalty", "stop", "enable_thinking", "thinking_budget", "enable_search",
        "search_options", "logprobs", "top_logprobs", "n", "parallel_tool_calls", "translation_options",
    ]

    struct Controls: Sendable {
        var lookup = true
        var store = true
        var ttl: Duration?
        var threshold: Float?
    }

    func controls(_ request: Request) -> Controls {
        var controls = Controls()
        let cacheControl = (request.headers[.cacheControl] ?? "").lowercased()
        if cacheControl.contains("no-cache") { controls.lookup = false }
        if cacheControl.contains("no-store") { controls.store = false }
        if let ttl = request.headers[.airlockCacheTTL].flatMap({ Int($0) }), ttl > 0 { controls.ttl = .seconds(ttl) }
        // A request may only raise the threshold: a caller cannot make the cache looser than the operator set it.
        if let raised = request.headers[.airlockCacheThreshold].flatMap({ Double($0) }), raised <= 1 {
            controls.threshold = Float(max(raised, configuration.threshold))
        } else {
            controls.threshold = Float(configuration.threshold)
        }
        return controls
    }

    /// The key, or nil when the request is not one the cache answers (no final user turn, several choices).
    func key(for chat: ChatRequest, request: Request, rulesVersion: String) -> CacheKey? {
        guard let last = chat.messages.last, last.role == "user", !last.text.isEmpty else { return nil }
        if case .number(let n)? = chat.body["n"], n > 1 { return nil }
        let tenant: String
        if configuration.trustTenantHeader, let header = request.headers[.airlockTenant], !header.isEmpty {
            tenant = "tenant:" + header
        } else {
            tenant = "key:" + (request.headers[.authorization] ?? "anonymous")
        }
        let context = chat.messages.dropLast().map { message in
            message.role + "\u{1F}" + Self.canonical(message.content)
        }
        var sampling: [String: String] = [:]
        for name in Self.samplingParameters {
            if let value = chat.body[name], value != .null { sampling[name] = Self.canonical(value) }
        }
        return CacheKey(
            CacheKeyInput(
                tenant: tenant, model: chat.model, context: Array(context), lastUserTurn: last.text,
                tools: chat.body["tools"].map(Self.canonical), toolChoice: chat.body["tool_choice"].map(Self.canonical),
                responseFormat: chat.body["response_format"].map(Self.canonical), sampling: sampling,
                rulesVersion: rulesVersion))
    }

    /// A stored answer, replayed as the client asked: JSON, or SSE chunks ending in `[DONE]`.
    static func replay(_ hit: CacheHit, stream: Bool, includeUsage: Bool, requestID: String) -> (HTTPFields, ResponseBody) {
        let id = "chatcmpl-" + UUID().uuidString.lowercased()
        let created = Int(Date().timeIntervalSince1970)
        var headers: HTTPFields = [:]
        headers[.airlockCache] = "hit"
        headers[.airlockCacheSimilarity] = String(format: "%.4f", hit.similarity)
        headers[.airlockCacheLayer] = hit.layer.rawValue
        if stream {
            let events = CompletionReplay.sseEvents(
                hit.entry.completion, id: id, created: created, includeUsage: includeUsage)
            var bytes = events.dropLast().flatMap { $0 }
            bytes += Array(": x-airlock-outcome: cache_hit\n\n".utf8)
            bytes += events.last ?? Array("data: [DONE]\n\n".utf8)
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            headers[.contentLength] = String(bytes.count)
            return (headers, ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        let body = CompletionReplay.chatCompletionJSON(hit.entry.completion, id: id, created: created)
        headers[.contentType] = "application/json"
        headers[.contentLength] = String(body.count)
        return (headers, ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Stores off the response path, in the server's bounded store queue: the client never waits for the embedding
    /// or Redis.
    func storeInBackground(_ key: CacheKey, completion: CachedCompletion, vector: [Float]?, ttl: Duration?) {
        stores.enqueue(key, completion: completion, vector: vector, ttl: ttl)
    }

    static func canonical(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? ""
    }
}

extension HTTPField.Name {
    static let airlockCache = HTTPField.Name("x-airlock-cache")!
    static let airlockCacheSimilarity = HTTPField.Name("x-airlock-cache-similarity")!
    static let airlockCacheLayer = HTTPField.Name("x-airlock-cache-layer")!
    static let airlockCacheTTL = HTTPField.Name("x-airlock-cache-ttl")!
    static let airlockCacheThreshold = HTTPField.Name("x-airlock-cache-threshold")!
    static let airlockTenant = HTTPField.Name("x-airlock-tenant")!
}
