import Embeddings
import Foundation
import Inspection
import Logging

/// The package root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

let shippedRulesDirectory = packageRoot + "/rules"

/// The real all-MiniLM-L6-v2 engine, shared by the tests that need it (loading takes a moment).
let sharedEmbedder: LocalEmbedder = {
    var logger = Logger(label: "test.embeddings")
    logger.logLevel = .warning
    do {
        return try LocalEmbedder(
            modelDirectory: packageRoot + "/models/all-MiniLM-L6-v2", configuration: .init(workers: 2),
            logger: logger)
    } catch {
        fatalError("the embedding model is missing: run `bash scripts/fetch-model.sh` (\(error))")
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
