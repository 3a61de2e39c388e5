import ArgumentParser

struct Airlock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "airlock",
        abstract: "Semantic-cache and safety sidecar for OpenAI-compatible LLM traffic.",
        subcommands: [
            ServeCommand.self, ConfigCommand.self, StatsCommand.self, OutcomesCommand.self, RulesCommand.self, CacheCommand.self,
            PricesCommand.self,
            EmbedCommand.self, EvalCommand.self,
        ]
    )
}

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Measure Airlock against labeled data.", subcommands: [EvalEmbeddingCommand.self, EvalCacheCommand.self, EvalRulesCommand.self])
}

/// `--config` for every command that reads the configuration.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Path to airlock.yaml (default: $AIRLOCK_CONFIG, else ./airlock.yaml if present).")
    var config: String?
}
