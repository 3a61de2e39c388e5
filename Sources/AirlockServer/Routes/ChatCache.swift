import AirlockConfiguration
import ChatWire
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

    /// Upstream headers forwarded by prefix (`upstream.forward_headers`): they may change the answer, so they key.
    let forwardedHeaderPrefixes: [String]

    /// The only top-level fields left out of the key besides `messages` and `model` (keyed on their own): they change
    /// how the answer is delivered, not what it says. Everything else a request carries partitions the cache, known
    /// to Airlock or not (deny by default).
    static let fieldsOutsideTheKey: Set<String> = ["messages", "model", "stream", "stream_options"]

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

    /// The key, or nil when the request is not one the cache answers (no final user turn, several choices). The
    /// namespace covers the whole parsed request but the last turn's text (which is embedded): every earlier turn
    /// whole (content in any form, tool calls, tool results, names), the last turn's media parts and other fields,
    /// every top-level field but ``fieldsOutsideTheKey``, and the forwarded upstream headers.
    /// `model`: the model that answers, when a fallback serves another than the one asked for.
    func key(for chat: ChatRequest, request: Request, rulesVersion: String, model: String? = nil) -> CacheKey? {
        guard let last = chat.messages.last, last.role == "user", !last.text.isEmpty else { return nil }
        if let n = chat.body["n"]?.numberValue, n.double > 1 { return nil }
        let tenant: String
        if configuration.trustTenantHeader, let header = request.headers[.airlockTenant], !header.isEmpty {
            tenant = "tenant:" + header
        } else {
            tenant = "key:" + (request.headers[.authorization] ?? "anonymous")
        }
        var context = chat.messages.dropLast().map(\.json.canonicalText)
        context.append("last\u{1F}" + Self.withoutText(last).json.canonicalText)
        var fields: [String: String] = [:]
        for (name, value) in chat.body where !Self.fieldsOutsideTheKey.contains(name) {
            fields[name] = value.canonicalText
        }
        for field in request.headers {
            let name = field.name.canonicalName.lowercased()
            if forwardedHeaderPrefixes.contains(where: { name.hasPrefix($0) }) {
                fields["header:" + name, default: ""] += field.value + "\u{1F}"
            }
        }
        return cache.key(
            CacheKeyInput(
                tenant: tenant, model: model ?? chat.model, context: context, lastUserTurn: last.text, sampling: fields,
                rulesVersion: rulesVersion))
    }

    /// `message` with the text of its text parts emptied (kept in place): what of the last turn is keyed, not embedded.
    static func withoutText(_ message: ChatRequest.Message) -> ChatRequest.Message {
        var copy = message
        switch message.content {
        case .string: copy.content = .string("")
        case .array(let parts):
            copy.content = .array(
                parts.map { part in
                    guard ContentPart.text(of: part) != nil, case .object(var object) = part else { return part }
                    object["text"] = .string("")
                    return .object(object)
                })
        default: break
        }
        return copy
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
}

extension HTTPField.Name {
    static let airlockCache = HTTPField.Name("x-airlock-cache")!
    static let airlockCacheSimilarity = HTTPField.Name("x-airlock-cache-similarity")!
    static let airlockCacheLayer = HTTPField.Name("x-airlock-cache-layer")!
    static let airlockCacheTTL = HTTPField.Name("x-airlock-cache-ttl")!
    static let airlockCacheThreshold = HTTPField.Name("x-airlock-cache-threshold")!
    static let airlockTenant = HTTPField.Name("x-airlock-tenant")!
}
