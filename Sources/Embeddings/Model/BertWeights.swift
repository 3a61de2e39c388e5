/// The weights of a BERT encoder, immutable once loaded and shared by every worker.
final class BertWeights: Sendable {
    struct Layer: Sendable {
        /// Query, key and value projections stacked into one [3·hidden, hidden] matrix, so one GEMM makes all three.
        let qkvWeight: FloatTensor
        let qkvBias: FloatTensor
        let attentionOutputWeight: FloatTensor
        let attentionOutputBias: FloatTensor
        let attentionNormWeight: FloatTensor
        let attentionNormBias: FloatTensor
        let intermediateWeight: FloatTensor
        let intermediateBias: FloatTensor
        let outputWeight: FloatTensor
        let outputBias: FloatTensor
        let outputNormWeight: FloatTensor
        let outputNormBias: FloatTensor
    }

    let configuration: BertConfiguration
    let wordEmbeddings: FloatTensor
    let positionEmbeddings: FloatTensor
    let tokenTypeEmbeddings: FloatTensor
    let embeddingNormWeight: FloatTensor
    let embeddingNormBias: FloatTensor
    let layers: [Layer]

    init(file: SafetensorsFile, configuration c: BertConfiguration) throws(EmbeddingError) {
        let h = c.hiddenSize
        let prefix = file.tensors["embeddings.word_embeddings.weight"] == nil ? "bert." : ""
        func tensor(_ name: String, _ shape: [Int]) throws(EmbeddingError) -> FloatTensor {
            try file.floatTensor(prefix + name, shape: shape)
        }
        self.configuration = c
        wordEmbeddings = try tensor("embeddings.word_embeddings.weight", [c.vocabSize, h])
        positionEmbeddings = try tensor("embeddings.position_embeddings.weight", [c.maxPositionEmbeddings, h])
        tokenTypeEmbeddings = try tensor("embeddings.token_type_embeddings.weight", [c.typeVocabSize, h])
        embeddingNormWeight = try tensor("embeddings.LayerNorm.weight", [h])
        embeddingNormBias = try tensor("embeddings.LayerNorm.bias", [h])
        var layers: [Layer] = []
        for index in 0..<c.numHiddenLayers {
            let p = "encoder.layer.\(index)."
            let query = try tensor(p + "attention.self.query.weight", [h, h])
            let key = try tensor(p + "attention.self.key.weight", [h, h])
            let value = try tensor(p + "attention.self.value.weight", [h, h])
            let queryBias = try tensor(p + "attention.self.query.bias", [h])
            let keyBias = try tensor(p + "attention.self.key.bias", [h])
            let valueBias = try tensor(p + "attention.self.value.bias", [h])
            let qkvWeight = FloatTensor(shape: [3 * h, h]) { out in
                out.update(from: query.pointer, count: h * h)
                (out + h * h).update(from: key.pointer, count: h * h)
                (out + 2 * h * h).update(from: value.pointer, count: h * h)
            }
            let qkvBias = FloatTensor(shape: [3 * h]) { out in
                out.update(from: queryBias.pointer, count: h)
                (out + h).update(from: keyBias.pointer, count: h)
                (out + 2 * h).update(from: valueBias.pointer, count: h)
            }
            layers.append(
                Layer(
                    qkvWeight: qkvWeight,
                    qkvBias: qkvBias,
                    attentionOutputWeight: try tensor(p + "attention.output.dense.weight", [h, h]),
                    attentionOutputBias: try tensor(p + "attention.output.dense.bias", [h]),
                    attentionNormWeight: try tensor(p + "attention.output.LayerNorm.weight", [h]),
                    attentionNormBias: try tensor(p + "attention.output.LayerNorm.bias", [h]),
                    intermediateWeight: try tensor(p + "intermediate.dense.weight", [c.intermediateSize, h]),
                    intermediateBias: try tensor(p + "intermediate.dense.bias", [c.intermediateSize]),
                    outputWeight: try tensor(p + "output.dense.weight", [h, c.intermediateSize]),
                    outputBias: try tensor(p + "output.dense.bias", [h]),
                    outputNormWeight: try tensor(p + "output.LayerNorm.weight", [h]),
                    outputNormBias: try tensor(p + "output.LayerNorm.bias", [h])
                ))
        }
        self.layers = layers
    }
}
