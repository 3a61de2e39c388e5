import ArgumentParser

/// `airlock embed`: owned by the embeddings work (issue 3).
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "embed", abstract: "Embed texts with the local model.")
    func run() async throws { throw ValidationError("embed: not built yet") }
}
