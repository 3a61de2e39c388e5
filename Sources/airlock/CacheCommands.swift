import ArgumentParser

/// `airlock cache …`: owned by the semantic-cache work (issue 5).
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cache", abstract: "Semantic cache tools.")
}

/// `airlock eval cache`: owned by the semantic-cache work (issue 5).
struct EvalCacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cache", abstract: "Cache precision and recall on labeled pairs.")
    func run() async throws { throw ValidationError("eval cache: not built yet") }
}
