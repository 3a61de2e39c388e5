public import AirlockConfiguration
public import Embeddings

extension EmbeddingBackend {
    /// The embedder the configuration chooses: the local engine, or a remote `/embeddings` endpoint (by default the
    /// upstream itself, with Airlock's key).
    public init(configuration: AirlockConfiguration) {
        switch configuration.embedding.backend {
        case .local:
            self = .local(modelDirectory: configuration.embedding.modelDirectory)
        case .remote:
            let remote = RemoteEmbedder.Configuration(
                baseURL: configuration.embedding.remoteURL ?? configuration.upstream.url,
                model: configuration.embedding.remoteModel, dimensions: configuration.embedding.remoteDimensions,
                apiKey: configuration.upstream.apiKey)
            self = .remote(remote)
        }
    }
}
