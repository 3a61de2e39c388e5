import ArgumentParser
import Embeddings
import Foundation
import Logging
import NamedEntities

/// `airlock embed`: vectors of texts, or the cosine similarity of two, with the local model.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts with the local model.",
        discussion: "With no TEXT, reads one text per line from standard input.")

    @Flag(name: .long, help: "Print one JSON array of vectors, in input order.")
    var json = false

    @Flag(name: .long, help: "Print the cosine similarity of exactly two texts.")
    var similarity = false

    @Option(name: .long, help: "Model directory (default: $AIRLOCK_MODEL_DIR or models/all-MiniLM-L6-v2).")
    var model: String?

    @Argument(help: "Texts to embed.")
    var texts: [String] = []

    func validate() throws {
        if similarity && texts.count != 2 {
            throw ValidationError("--similarity takes exactly two texts")
        }
    }

    func run() async throws {
        let inputs = texts.isEmpty ? readLinesFromStandardInput() : texts
        let embedder = try loadLocalEmbedder(model)
        defer { embedder.shutdown() }
        let vectors = try await embedder.embed(inputs)

        if similarity {
            print(String(format: "%.6f", cosineSimilarity(vectors[0], vectors[1])))
        } else if json {
            print("[" + vectors.map(formatVector).joined(separator: ",") + "]")
        } else {
            for vector in vectors {
                print(vector.map { String(format: "%.7g", $0) }.joined(separator: " "))
            }
        }
    }

    private func formatVector(_ vector: [Float]) -> String {
        "[" + vector.map { String(format: "%.7g", $0) }.joined(separator: ",") + "]"
    }
}

func readLinesFromStandardInput() -> [String] {
    var lines: [String] = []
    while let line = readLine(strippingNewline: true) { lines.append(line) }
    return lines
}

/// The local engine over the model directory named by `--model`, `$AIRLOCK_MODEL_DIR`, or the default.
func loadLocalEmbedder(_ directory: String?) throws -> LocalEmbedder {
    let path = directory ?? ProcessInfo.processInfo.environment["AIRLOCK_MODEL_DIR"] ?? "models/all-MiniLM-L6-v2"
    var logger = Logger(label: "airlock.embeddings")
    logger.logLevel = .warning
    do {
        return try LocalEmbedder(modelDirectory: path, logger: logger)
    } catch {
        throw ValidationError("cannot load the embedding model from \(path): \(error.message)")
    }
}

/// The NER models from the directories named by `--ner-model` and `--ner-english-model`,
/// `$AIRLOCK_RULES_NER_MODEL_DIR` and `$AIRLOCK_RULES_NER_ENGLISH_MODEL_DIR`, or the defaults.
func loadRecognizer(_ directory: String?, english: String? = nil) throws -> any EntityRecognizer {
    let environment = ProcessInfo.processInfo.environment
    let path = directory ?? environment["AIRLOCK_RULES_NER_MODEL_DIR"] ?? "models/lac-2.1.2"
    let englishPath = english ?? environment["AIRLOCK_RULES_NER_ENGLISH_MODEL_DIR"] ?? "models/english-ner"
    do {
        return try EntityRecognizerLoader(directory: path, englishDirectory: englishPath).recognizer()
    } catch {
        throw ValidationError(error.description)
    }
}
