import ArgumentParser

/// `airlock rules …`: owned by the inspection work (issue 6).
struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rules", abstract: "Check and test rule packs.")
}

/// `airlock eval rules`: owned by the inspection work (issue 6).
struct EvalRulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rules", abstract: "PII, injection and refusal detection rates.")
    func run() async throws { throw ValidationError("eval rules: not built yet") }
}
