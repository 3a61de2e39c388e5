import Foundation

/// The fields of a BERT `config.json` that the encoder uses.
public struct BertConfiguration: Codable, Sendable, Equatable {
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var vocabSize: Int
    public var layerNormEps: Float
    public var hiddenAct: String

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size"
        case vocabSize = "vocab_size"
        case layerNormEps = "layer_norm_eps"
        case hiddenAct = "hidden_act"
    }

    public var headSize: Int { hiddenSize / numAttentionHeads }

    /// Reads and validates a `config.json`.
    public init(contentsOf path: String) throws(EmbeddingError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw EmbeddingError(.modelMissing, "cannot read \(path): \(error.localizedDescription)")
        }
        do {
            self = try JSONDecoder().decode(BertConfiguration.self, from: data)
        } catch {
            throw EmbeddingError(.invalidConfiguration, "\(path): \(error)")
        }
        try validate(path: path)
    }

    public init(
        hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int, intermediateSize: Int,
        maxPositionEmbeddings: Int, typeVocabSize: Int, vocabSize: Int, layerNormEps: Float = 1e-12,
        hiddenAct: String = "gelu"
    ) {
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.vocabSize = vocabSize
        self.layerNormEps = layerNormEps
        self.hiddenAct = hiddenAct
    }

    func validate(path: String) throws(EmbeddingError) {
        func check(_ condition: Bool, _ key: String, _ expected: String) throws(EmbeddingError) {
            if !condition { throw EmbeddingError(.invalidConfiguration, "\(path): \(key) must be \(expected)") }
        }
        try check(hiddenSize > 0 && hiddenSize % 16 == 0, "hidden_size", "a positive multiple of 16")
        try check(
            numAttentionHeads > 0 && hiddenSize % numAttentionHeads == 0, "num_attention_heads",
            "a divisor of hidden_size")
        try check(intermediateSize > 0 && intermediateSize % 16 == 0, "intermediate_size", "a positive multiple of 16")
        try check(numHiddenLayers > 0, "num_hidden_layers", "positive")
        try check(maxPositionEmbeddings >= 2, "max_position_embeddings", "at least 2")
        try check(typeVocabSize >= 1, "type_vocab_size", "at least 1")
        try check(hiddenAct == "gelu", "hidden_act", "\"gelu\" (the erf form)")
    }
}
