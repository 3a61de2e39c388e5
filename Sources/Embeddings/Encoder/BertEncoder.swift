import COpenBLAS

/// The sentence encoder: BERT forward pass, mean pooling under the attention mask, L2 normalisation.
///
/// A batch is packed: the tokens of all its texts are stacked into one matrix with no padding rows, so the
/// dense layers (all GEMMs) run once for the whole batch and waste nothing on padding, while attention and
/// pooling run per text over that text's own tokens only. This is the padding mask in its cheapest form:
/// the result equals a padded batch with an attention mask, and each text's vector equals its vector alone.
public final class BertEncoder: Sendable {
    public let configuration: BertConfiguration
    public let tokenizer: any SentenceTokenizer
    let weights: BertWeights

    public var dimensions: Int { configuration.hiddenSize }

    init(configuration: BertConfiguration, tokenizer: any SentenceTokenizer, weights: BertWeights) {
        self.configuration = configuration
        self.tokenizer = tokenizer
        self.weights = weights
    }

    /// A scratch sized for this model; each thread that calls `encode` needs its own.
    public func makeScratch(tokens: Int = 256) -> EncoderScratch {
        EncoderScratch(configuration: configuration, tokens: tokens, sequenceLength: tokenizer.maxSequenceLength)
    }

    /// Embeds texts synchronously on the calling thread. Blocking work: call it from a dedicated thread.
    public func embed(_ texts: [String], scratch: EncoderScratch) -> [[Float]] {
        encode(texts.map(tokenizer.encode), scratch: scratch)
    }

    /// Embeds already tokenized texts (each `[CLS] … [SEP]`, at most the model's positions long).
    public func encode(_ batch: [[Int32]], scratch: EncoderScratch) -> [[Float]] {
        guard !batch.isEmpty else { return [] }
        let h = configuration.hiddenSize
        let total = batch.reduce(0) { $0 + $1.count }
        let longest = batch.reduce(0) { max($0, $1.count) }
        precondition(longest <= configuration.maxPositionEmbeddings, "sequence longer than the position table")
        scratch.reserve(tokens: total, sequenceLength: longest)

        embedTokens(batch, into: scratch.hidden)
        for layer in weights.layers {
            runLayer(layer, batch: batch, tokens: total, scratch: scratch)
        }

        var result: [[Float]] = []
        result.reserveCapacity(batch.count)
        var offset = 0
        for ids in batch {
            result.append(pool(scratch.hidden + offset * h, rows: ids.count))
            offset += ids.count
        }
        return result
    }

    /// hidden = LayerNorm(word + position + token type 0), position restarting at 0 for every text.
    private func embedTokens(_ batch: [[Int32]], into hidden: UnsafeMutablePointer<Float>) {
        let h = configuration.hiddenSize
        let positions = weights.positionEmbeddings.pointer
        let tokenType = weights.tokenTypeEmbeddings.pointer
        var row = 0
        for ids in batch {
            for (position, id) in ids.enumerated() {
                let clamped = Int(id) >= 0 && Int(id) < configuration.vocabSize ? Int(id) : Int(tokenizer.unkID)
                let out = hidden + row * h
                weights.wordEmbeddings.row(clamped, into: out, columns: h)
                let positionRow = positions + position * h
                var column = 0
                while column < h {
                    let sum =
                        VectorKernels.load(out + column) + VectorKernels.load(positionRow + column)
                        + VectorKernels.load(tokenType + column)
                    VectorKernels.store(sum, out + column)
                    column += VectorKernels.width
                }
                row += 1
            }
        }
        VectorKernels.layerNorm(
            hidden, rows: row, columns: h, weight: weights.embeddingNormWeight.pointer,
            bias: weights.embeddingNormBias.pointer, epsilon: configuration.layerNormEps)
    }

    private func runLayer(_ layer: BertWeights.Layer, batch: [[Int32]], tokens: Int, scratch: EncoderScratch) {
        let h = configuration.hiddenSize
        let inner = configuration.intermediateSize
        let eps = configuration.layerNormEps

        // Q, K and V for every token in one product, the bias preloaded into the output.
        VectorKernels.broadcastRows(scratch.qkv, bias: layer.qkvBias.pointer, rows: tokens, columns: 3 * h)
        layer.qkvWeight.apply(
            scratch.hidden, into: scratch.qkv, rows: tokens, inputs: h, accumulate: true, panel: scratch.panel)

        selfAttention(batch: batch, scratch: scratch)

        // attention = LayerNorm(hidden + bias + context·Woᵀ): residual and bias fused into C.
        VectorKernels.addBias(
            scratch.attention, source: scratch.hidden, bias: layer.attentionOutputBias.pointer, rows: tokens, columns: h
        )
        layer.attentionOutputWeight.apply(
            scratch.context, into: scratch.attention, rows: tokens, inputs: h, accumulate: true,
            panel: scratch.panel)
        VectorKernels.layerNorm(
            scratch.attention, rows: tokens, columns: h, weight: layer.attentionNormWeight.pointer,
            bias: layer.attentionNormBias.pointer, epsilon: eps)

        // intermediate = GELU(attention·Wiᵀ + bias)
        layer.intermediateWeight.apply(
            scratch.attention, into: scratch.intermediate, rows: tokens, inputs: h, accumulate: false,
            panel: scratch.panel)
        VectorKernels.geluAddingBias(
            scratch.intermediate, bias: layer.intermediateBias.pointer, rows: tokens, columns: inner)

        // hidden = LayerNorm(attention + bias + intermediate·Wᵀ)
        VectorKernels.addBias(
            scratch.hidden, source: scratch.attention, bias: layer.outputBias.pointer, rows: tokens, columns: h)
        layer.outputWeight.apply(
            scratch.intermediate, into: scratch.hidden, rows: tokens, inputs: inner, accumulate: true,
            panel: scratch.panel)
        VectorKernels.layerNorm(
            scratch.hidden, rows: tokens, columns: h, weight: layer.outputNormWeight.pointer,
            bias: layer.outputNormBias.pointer, epsilon: eps)
    }

    /// Multi-head attention of each text over its own tokens; writes the heads side by side into `context`.
    private func selfAttention(batch: [[Int32]], scratch: EncoderScratch) {
        let h = configuration.hiddenSize
        let heads = configuration.numAttentionHeads
        let d = configuration.headSize
        let stride = 3 * h
        let scale = 1 / Float(d).squareRoot()
        let scores = scratch.scores!
        var offset = 0
        for ids in batch {
            let n = ids.count
            let rows = scratch.qkv + offset * stride
            for head in 0..<heads {
                let query = rows + head * d
                let key = rows + h + head * d
                let value = rows + 2 * h + head * d
                // scores = scale · Q·Kᵀ
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(n), Int32(d), scale,
                    query, Int32(stride), key, Int32(stride), 0, scores, Int32(n))
                for row in 0..<n {
                    VectorKernels.softmax(scores + row * n, count: n)
                }
                // context[:, head] = softmax(scores)·V
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(d), Int32(n), 1,
                    scores, Int32(n), value, Int32(stride), 0, scratch.context + offset * h + head * d, Int32(h))
            }
            offset += n
        }
    }

    /// Mean of the text's token vectors, then L2 normalised.
    private func pool(_ rows: UnsafePointer<Float>, rows count: Int) -> [Float] {
        let h = configuration.hiddenSize
        return [Float](unsafeUninitializedCapacity: h) { buffer, initialized in
            let out = buffer.baseAddress!
            var column = 0
            while column < h {
                var sum = VectorKernels.Vector.zero
                for row in 0..<count { sum += VectorKernels.load(rows + row * h + column) }
                VectorKernels.store(sum / Float(count), out + column)
                column += VectorKernels.width
            }
            var squares: Float = 0
            for i in 0..<h { squares += out[i] * out[i] }
            // sentence-transformers' Normalize: x / max(‖x‖, 1e-12)
            let inverse = 1 / max(squares.squareRoot(), 1e-12)
            for i in 0..<h { out[i] *= inverse }
            initialized = h
        }
    }
}
