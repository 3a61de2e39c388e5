public import Logging
public import Upstream

/// Which embedder a deployment uses, as its configuration chooses.
public enum EmbeddingBackend: Sendable {
    /// The native all-MiniLM-L6-v2 engine over a model directory.
    case local(modelDirectory: String, LocalEmbedder.Configuration = .init())
    /// An OpenAI-compatible `/embeddings` endpoint.
    case remote(RemoteEmbedder.Configuration)

    /// Builds the embedder; `client` carries the remote backend's calls and is not used by the local one.
    public func makeEmbedder(client: UpstreamClient, logger: Logger) throws(EmbeddingError) -> any Embedder {
        switch self {
        case .local(let directory, let configuration):
            try LocalEmbedder(modelDirectory: directory, configuration: configuration, logger: logger)
        case .remote(let configuration):
            RemoteEmbedder(client: client, configuration: configuration, logger: logger)
        }
    }
}
