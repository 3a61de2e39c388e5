public import Embeddings
public import Foundation
public import NamedEntities
import Logging
import Synchronization

/// The repository's paths, found from this file's, so tests need no bundled resources.
public enum Repository {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// The shipped rule packs.
    public static var rules: String { path("rules") }
}

/// The real model, loaded once for the whole test process (each engine owns its worker threads). A missing model
/// fails the test that needs it: these tests are about the real weights and must not pass without them.
public enum TestModel {
    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    public static var directory: String {
        ProcessInfo.processInfo.environment["AIRLOCK_MODEL_DIR"] ?? Repository.path("models/all-MiniLM-L6-v2")
    }

    private static let loaded: Result<LocalEmbedder, any Error> = {
        guard FileManager.default.fileExists(atPath: directory + "/model.safetensors") else {
            return .failure(
                Missing(description: "the model is missing at \(directory): run `make models` (scripts/fetch-model.sh)"))
        }
        var logger = Logger(label: "test.embedder")
        logger.logLevel = .warning
        return Result { try LocalEmbedder(modelDirectory: directory, logger: logger) }
    }()

    /// The shared engine.
    public static func embedder() throws -> LocalEmbedder { try loaded.get() }

    private static let memo: Result<MemoizingEmbedder, any Error> = {
        Result { MemoizingEmbedder(try loaded.get(), capacity: 4096) }
    }()

    /// The shared engine behind one memory for the whole run: rule sets compiled by many tests embed their exemplars
    /// once (the debug-build encoder is slow, and tests run in parallel).
    public static func memoizingEmbedder() throws -> MemoizingEmbedder { try memo.get() }
}

/// The real NER models (LAC 2.1.2 and the English model `make models` trains), loaded once for the whole test
/// process. A missing model fails the tests that need it.
public enum TestNERModel {
    public static var directory: String {
        ProcessInfo.processInfo.environment["AIRLOCK_RULES_NER_MODEL_DIR"] ?? Repository.path("models/lac-2.1.2")
    }

    public static var englishDirectory: String {
        ProcessInfo.processInfo.environment["AIRLOCK_RULES_NER_ENGLISH_MODEL_DIR"]
            ?? Repository.path("models/english-ner")
    }

    /// One loader for every rule set and server of the run.
    public static let loader = EntityRecognizerLoader(directory: directory, englishDirectory: englishDirectory)

    /// The model, or an error naming `make models`.
    public static func recognizer() throws -> any EntityRecognizer { try loader.recognizer() }
}
