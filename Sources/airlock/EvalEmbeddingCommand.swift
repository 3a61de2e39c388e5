import ArgumentParser

/// `airlock eval embedding`: owned by the embeddings work (issue 3).
struct EvalEmbeddingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "embedding", abstract: "Spearman correlation on STS-B.")
    func run() async throws { throw ValidationError("eval embedding: not built yet") }
}
