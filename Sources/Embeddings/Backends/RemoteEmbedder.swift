import Foundation
public import Logging
public import Upstream

/// Embeddings from an OpenAI-compatible `POST /embeddings` endpoint, such as Qwen's `text-embedding-v4`, for
/// deployments that want a multilingual model. The prompt leaves the machine, and each call costs a round trip.
public final class RemoteEmbedder: Embedder {
    public struct Configuration: Sendable {
        /// The API base, ending before `/embeddings`, e.g. `https://dashscope-intl.aliyuncs.com/compatible-mode/v1`.
        public var baseURL: String
        public var model: String
        /// Requested vector length (`dimensions`; text-embedding-v4 takes 64–2048, default 1024).
        public var dimensions: Int
        /// Sent as `Authorization: Bearer`; nil sends none.
        public var apiKey: String?
        /// Inputs per call (Qwen allows at most 10); longer requests are split and sent concurrently.
        public var maxInputsPerCall: Int
        /// Whether to send `dimensions` (some OpenAI-compatible servers reject it).
        public var sendsDimensions: Bool
        public var maxResponseBytes: Int
        /// nil uses the client's default timeouts.
        public var timeouts: UpstreamTimeouts?

        public init(
            baseURL: String, model: String = "text-embedding-v4", dimensions: Int = 1024, apiKey: String? = nil,
            maxInputsPerCall: Int = 10, sendsDimensions: Bool = true, maxResponseBytes: Int = 32 << 20,
            timeouts: UpstreamTimeouts? = nil
        ) {
            self.baseURL = baseURL
            self.model = model
            self.dimensions = dimensions
            self.apiKey = apiKey
            self.maxInputsPerCall = maxInputsPerCall
            self.sendsDimensions = sendsDimensions
            self.maxResponseBytes = maxResponseBytes
            self.timeouts = timeouts
        }
    }

    public let configuration: Configuration
    public var dimensions: Int { configuration.dimensions }
    private let client: UpstreamClient
    private let logger: Logger
    private let url: String

    /// Uses `client` (whose lifecycle the caller owns) for every call.
    public init(client: UpstreamClient, configuration: Configuration, logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.url = base + "/embeddings"
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        if texts.isEmpty { return [] }
        let size = max(1, configuration.maxInputsPerCall)
        let chunks = stride(from: 0, to: texts.count, by: size).map { Array(texts[$0..<min($0 + size, texts.count)]) }
        if chunks.count == 1 { return try await call(chunks[0]) }
        return try await withThrowingTaskGroup(of: (Int, [[Float]]).self) { group in
            for (index, chunk) in chunks.enumerated() {
                group.addTask { (index, try await self.call(chunk)) }
            }
            var parts = [[[Float]]](repeating: [], count: chunks.count)
            for try await (index, vectors) in group { parts[index] = vectors }
            return parts.flatMap { $0 }
        }
    }

    private struct RequestBody: Encodable {
        let model: String
        let input: [String]
        let dimensions: Int?
        let encoding_format = "float"
    }

    private struct ResponseBody: Decodable {
        struct Item: Decodable {
            let embedding: [Float]
            let index: Int
        }
        let data: [Item]
    }

    private struct ErrorBody: Decodable {
        struct Detail: Decodable {
            let message: String?
            let code: String?
        }
        let error: Detail?
    }

    private func call(_ inputs: [String]) async throws -> [[Float]] {
        let body: [UInt8]
        do {
            body = Array(
                try JSONEncoder().encode(
                    RequestBody(
                        model: configuration.model, input: inputs,
                        dimensions: configuration.sendsDimensions ? configuration.dimensions : nil)))
        } catch {
            throw EmbeddingError(.remoteFailure, "cannot encode the embeddings request: \(error)")
        }
        var headers = [("Content-Type", "application/json"), ("Accept", "application/json")]
        if let key = configuration.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        let request = UpstreamRequest(
            method: "POST", url: url, headers: headers, body: body, timeouts: configuration.timeouts)

        let status: Int
        let bytes: [UInt8]
        do {
            let response = try await client.execute(request)
            status = response.status
            bytes = try await response.collect(upTo: configuration.maxResponseBytes)
        } catch let error as UpstreamError {
            logger.warning("embeddings call failed", metadata: ["code": "\(error.code)"])
            throw EmbeddingError(.remoteFailure, "embeddings call to \(Self.hostOnly(url)) failed: \(error)")
        }

        guard (200..<300).contains(status) else {
            let detail = try? JSONDecoder().decode(ErrorBody.self, from: Data(bytes))
            let reason = [detail?.error?.code, detail?.error?.message].compactMap { $0 }.joined(separator: ": ")
            logger.warning("embeddings call rejected", metadata: ["status": "\(status)"])
            throw EmbeddingError(
                .remoteFailure, "embeddings endpoint answered \(status)\(reason.isEmpty ? "" : " (\(reason))")",
                nativeCode: status)
        }
        let decoded: ResponseBody
        do {
            decoded = try JSONDecoder().decode(ResponseBody.self, from: Data(bytes))
        } catch {
            throw EmbeddingError(.invalidResponse, "embeddings response from \(Self.hostOnly(url)) is not understood: \(error)")
        }
        var vectors = [[Float]?](repeating: nil, count: inputs.count)
        for item in decoded.data {
            guard vectors.indices.contains(item.index), vectors[item.index] == nil else {
                throw EmbeddingError(
                    .invalidResponse, "embeddings response has a stray or repeated index \(item.index)")
            }
            guard item.embedding.count == configuration.dimensions else {
                throw EmbeddingError(
                    .invalidResponse,
                    "embeddings response has \(item.embedding.count) dimensions, expected \(configuration.dimensions)")
            }
            vectors[item.index] = Self.normalized(item.embedding)
        }
        guard vectors.allSatisfy({ $0 != nil }) else {
            throw EmbeddingError(
                .invalidResponse, "embeddings response has \(decoded.data.count) vectors for \(inputs.count) inputs")
        }
        return vectors.map { $0! }
    }

    /// Unit length, so that cosine similarity is a dot product as with the local engine.
    static func normalized(_ vector: [Float]) -> [Float] {
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? vector.map { $0 / norm } : vector
    }

    /// The URL's scheme, host and port, for error messages: never its credentials, path or query.
    static func hostOnly(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return "the embeddings endpoint" }
        var authority = url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        return String(url[..<schemeEnd.upperBound]) + authority
    }
}
