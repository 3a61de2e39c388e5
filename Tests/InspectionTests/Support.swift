import AirlockTestSupport
import Embeddings
import Foundation
import Inspection
import Logging

/// The package root.
let packageRoot = Repository.root.path

let shippedRulesDirectory = Repository.rules

/// The real all-MiniLM-L6-v2 engine, loaded once for the test process.
let sharedEmbedder: LocalEmbedder = {
    do {
        return try TestModel.embedder()
    } catch {
        fatalError("\(error)")
    }
}()

/// A fresh temporary directory holding the given files.
func temporaryRules(_ files: [String: String]) throws -> String {
    let directory = NSTemporaryDirectory() + "airlock-rules-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for (name, contents) in files {
        try contents.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
    }
    return directory
}

func quietLogger() -> Logger {
    var logger = Logger(label: "test.inspection")
    logger.logLevel = .critical
    return logger
}

/// Regex packs of the shipped directory only (no model).
func shippedRegexRuleSet() async throws -> RuleSet {
    var packs = try RuleSet.parsePacks(directory: shippedRulesDirectory)
    for p in packs.indices {
        for r in packs[p].rules.indices where packs[p].rules[r].kind != .regex { packs[p].rules[r].enabled = false }
    }
    return try await RuleSet.compile(packs: packs, logger: quietLogger())
}
