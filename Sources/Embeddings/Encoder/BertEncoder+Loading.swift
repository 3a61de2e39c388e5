import Foundation

extension BertEncoder {
    /// The files a model directory must hold.
    public static let requiredFiles = ["config.json", "vocab.txt", "model.safetensors"]

    /// Loads a sentence-transformers BERT model directory: `config.json`, `vocab.txt`, `model.safetensors`,
    /// and `sentence_bert_config.json` for the maximum sequence length when present (256 otherwise).
    public static func load(directory: String) throws(EmbeddingError) -> BertEncoder {
        let base = URL(fileURLWithPath: directory)
        for name in requiredFiles {
            let path = base.appendingPathComponent(name).path
            if !FileManager.default.fileExists(atPath: path) {
                throw EmbeddingError(
                    .modelMissing,
                    "model file \(path) not found; run `make models` (or set AIRLOCK_MODEL_DIR to a model directory)")
            }
        }
        let configuration = try BertConfiguration(contentsOf: base.appendingPathComponent("config.json").path)
        let maxSequenceLength = min(
            readMaxSequenceLength(base.appendingPathComponent("sentence_bert_config.json").path) ?? 256,
            configuration.maxPositionEmbeddings)
        let tokenizer = try BertTokenizer(
            vocabularyFile: base.appendingPathComponent("vocab.txt").path, maxSequenceLength: maxSequenceLength)
        guard tokenizer.vocabularySize <= configuration.vocabSize else {
            throw EmbeddingError(
                .invalidVocabulary,
                "vocab.txt has \(tokenizer.vocabularySize) tokens but config.json says vocab_size \(configuration.vocabSize)"
            )
        }
        let file = try SafetensorsFile(path: base.appendingPathComponent("model.safetensors").path)
        let weights = try BertWeights(file: file, configuration: configuration)
        return BertEncoder(configuration: configuration, tokenizer: tokenizer, weights: weights)
    }

    private static func readMaxSequenceLength(_ path: String) -> Int? {
        guard let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return (object["max_seq_length"] as? NSNumber)?.intValue
    }
}
