import COpenBLAS
import CRecurrentKernels
import Foundation

/// Baidu's LAC lexical analyser (LAC 2.1.2, Apache-2.0), run natively: LAC's segmenter, mixed word/character ids, a
/// 128-wide embedding, two bidirectional GRU layers (hidden 128, Paddle's `dynamic_gru`: gates update, reset, then
/// candidate; h = (1 − u)·h₋₁ + u·c), a projection to 57 word-class tags (B/I of 24 part-of-speech classes and PER,
/// LOC, ORG, TIME) and a linear-chain CRF decoded with Viterbi. Weights from `models/lac-2.1.2`
/// (`scripts/fetch-lac.sh`).
public struct LACModel: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case dictionary(String, String)
        case shape(String, [Int])
        public var description: String {
            switch self {
            case .dictionary(let path, let line): "\(path): unreadable line \"\(line)\""
            case .shape(let name, let dims): "LAC tensor \(name) has dims \(dims), not what the network needs"
            }
        }
    }

    /// One unit the network reads: a dictionary word or a single character, with its id and its span in the text's
    /// Unicode scalars.
    public struct Unit: Sendable, Equatable {
        public var text: String
        public var id: Int
        public var start: Int
        public var length: Int
    }

    let segmenter: LACSegmenter
    let wordIDs: [String: Int]
    let replacements: [String: String]
    let outOfVocabulary: Int
    /// Tag names by id ("PER-B", "n-I", …).
    public let tags: [String]

    let dimensions: Int
    let hidden: Int
    let embedding: [Float]
    /// One GRU of the network (forward 0, backward 1, forward 2, backward 3).
    struct GRU {
        /// Input projection [inputs, 3H].
        var projection: [Float]
        var inputs: Int
        /// The projection's bias plus the GRU's own [3H] (update, reset, candidate): added to the projected inputs once.
        var bias: [Float]
        /// Recurrent weights as Paddle stores them: the update/reset block [H, 2H], then the candidate block [H, H].
        var gates: [Float]
        var candidate: [Float]
    }
    let grus: [GRU]
    let emissionWeight: [Float]
    let emissionBias: [Float]
    /// CRF: start scores, end scores, transitions stored [to][from] (so Viterbi reads each tag's incoming scores in a
    /// row).
    let start: [Float]
    let end: [Float]
    let incoming: [Float]
    /// Transitions stored [from][to], each row padded with −∞ to `outgoingWidth` (a multiple of 8), for Viterbi.
    let outgoing: [Float]
    let outgoingWidth: Int
    /// `exp` of `incoming`, for the forward-backward pass that gives each tag its probability.
    let expIncoming: [Float]
    /// Each tag's class as an index (the tags of one class, B and I, share it).
    let tagClasses: [Int]

    public init(directory: String) throws {
        let conf = directory + "/conf/"
        segmenter = try LACSegmenter(dictionaryPath: conf + "small_seg.dic")
        func pairs(_ name: String) throws -> [(String, String)] {
            let text = try String(contentsOfFile: conf + name, encoding: .utf8)
            return text.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line in
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                return fields.count == 2 ? (String(fields[0]), String(fields[1])) : nil
            }
        }
        var wordIDs: [String: Int] = [:]
        for (id, word) in try pairs("word.dic") {
            guard let value = Int(id) else { throw Failure.dictionary(conf + "word.dic", id) }
            wordIDs[word] = value
        }
        guard let oov = wordIDs["OOV"] else { throw Failure.dictionary(conf + "word.dic", "no OOV") }
        self.wordIDs = wordIDs
        outOfVocabulary = oov
        replacements = Dictionary(try pairs("q2b.dic"), uniquingKeysWith: { _, last in last })
        var tagNames: [Int: String] = [:]
        for (id, tag) in try pairs("tag.dic") {
            guard let value = Int(id) else { throw Failure.dictionary(conf + "tag.dic", id) }
            tagNames[value] = tag
        }
        tags = (0..<tagNames.count).map { tagNames[$0] ?? "O" }

        let model = directory + "/model/"
        func tensor(_ name: String, _ expected: [Int]? = nil) throws -> PaddleTensor {
            let loaded = try PaddleTensor.load(path: model + name)
            if let expected, loaded.dims != expected { throw Failure.shape(name, loaded.dims) }
            return loaded
        }
        let words = try tensor("word_emb")
        guard words.dims.count == 2 else { throw Failure.shape("word_emb", words.dims) }
        dimensions = words.dims[1]
        embedding = words.values
        let firstGRU = try tensor("gru_0.w_0")
        guard firstGRU.dims.count == 2, firstGRU.dims[1] == 3 * firstGRU.dims[0] else {
            throw Failure.shape("gru_0.w_0", firstGRU.dims)
        }
        let hidden = firstGRU.dims[0]
        guard hidden % 8 == 0 else { throw Failure.shape("gru_0.w_0", firstGRU.dims) }  // eight lanes at a time
        self.hidden = hidden
        let embeddingWidth = words.dims[1]
        grus = try (0..<4).map { index in
            let inputs = index < 2 ? embeddingWidth : 2 * hidden
            let weights = try tensor("gru_\(index).w_0", [hidden, 3 * hidden]).values
            let bias = zip(
                try tensor("fc_\(index).b_0", [3 * hidden]).values, try tensor("gru_\(index).b_0", [1, 3 * hidden]).values
            ).map { $0 + $1 }
            return GRU(
                projection: try tensor("fc_\(index).w_0", [inputs, 3 * hidden]).values, inputs: inputs, bias: bias,
                gates: Array(weights[0..<(2 * hidden * hidden)]), candidate: Array(weights[(2 * hidden * hidden)...]))
        }
        emissionWeight = try tensor("fc_4.w_0", [2 * hidden, tags.count]).values
        emissionBias = try tensor("fc_4.b_0", [tags.count]).values
        let crf = try tensor("crfw", [tags.count + 2, tags.count]).values
        start = Array(crf[0..<tags.count])
        end = Array(crf[tags.count..<(2 * tags.count)])
        let labels = tags.count
        let transitions = Array(crf[(2 * labels)...])
        incoming = (0..<(labels * labels)).map { transitions[($0 % labels) * labels + $0 / labels] }
        expIncoming = incoming.map { Foundation.exp($0) }
        outgoingWidth = (labels + 7) / 8 * 8
        var outgoing = [Float](repeating: -.infinity, count: labels * outgoingWidth)
        for from in 0..<labels {
            for to in 0..<labels { outgoing[from * outgoingWidth + to] = transitions[from * labels + to] }
        }
        self.outgoing = outgoing
        var classIndex: [String: Int] = [:]
        tagClasses = tags.map { tag in
            let name = String(tag.dropLast(2))
            if let index = classIndex[name] { return index }
            classIndex[name] = classIndex.count
            return classIndex.count - 1
        }
    }

    /// The units of `text` as LAC's reader makes them: a segment the vocabulary knows is one unit (after the q2b
    /// replacement of the whole segment); any other segment is split into characters, each replaced then looked up.
    public func units(_ text: String) -> [Unit] {
        var units: [Unit] = []
        var position = 0
        for segment in segmenter.cut(text) {
            let length = segment.unicodeScalars.count
            if wordIDs[segment] != nil {
                let id = wordIDs[replacements[segment] ?? segment] ?? outOfVocabulary
                units.append(Unit(text: segment, id: id, start: position, length: length))
            } else {
                for (offset, scalar) in segment.unicodeScalars.enumerated() {
                    let character = String(scalar)
                    let id = wordIDs[replacements[character] ?? character] ?? outOfVocabulary
                    units.append(Unit(text: character, id: id, start: position + offset, length: 1))
                }
            }
            position += length
        }
        return units
    }

    /// The best tag id for each unit. Runs on the calling thread (OpenBLAS's own threads as the process set them: one,
    /// in Airlock's work pool).
    public func tagIDs(_ units: [Unit]) -> [Int] {
        decode(units).tags
    }

    /// The best tag id for each unit, with how sure the model is of its class: the CRF's marginal probability that the
    /// unit's tag is of that class ("PER", "LOC", …), its B and I tags together, so that doubt about where a word
    /// starts does not read as doubt about what it is (forward-backward over the same scores Viterbi reads).
    public func decode(_ units: [Unit]) -> (tags: [Int], confidence: [Float]) {
        decode(pieces: [units])[0]
    }

    /// `decode` for several texts at once: one projection and one emission product for all their units (small
    /// products are slow per unit), each text's recurrences and CRF on its own.
    public func decode(pieces: [[Unit]]) -> [(tags: [Int], confidence: [Float])] {
        let units = pieces.flatMap { $0 }
        guard !units.isEmpty else { return pieces.map { _ in ([], []) } }
        var segments: [Range<Int>] = []
        var start = 0
        for piece in pieces {
            segments.append(start..<(start + piece.count))
            start += piece.count
        }
        let emissions = emissionScores(units, segments: segments)
        let labels = tags.count
        return segments.map { segment in
            guard !segment.isEmpty else { return ([], []) }
            let own = Array(emissions[(segment.lowerBound * labels)..<(segment.upperBound * labels)])
            let path = viterbi(own, count: segment.count)
            return (path, marginals(own, count: segment.count, path: path))
        }
    }

    /// The network's score for every (unit, tag), row by row: what the CRF decodes. `segments` are independent
    /// texts (each recurrence starts afresh at its first unit); by default the units are one text.
    func emissionScores(_ units: [Unit], segments: [Range<Int>]? = nil) -> [Float] {
        let count = units.count
        let segments = segments ?? [0..<count]
        let width = 3 * hidden
        var input = [Float](repeating: 0, count: count * dimensions)
        input.withUnsafeMutableBufferPointer { input in
            embedding.withUnsafeBufferPointer { table in
                for (row, unit) in units.enumerated() {
                    let id = unit.id >= 0 && (unit.id + 1) * dimensions <= table.count ? unit.id : outOfVocabulary
                    (input.baseAddress! + row * dimensions).update(
                        from: table.baseAddress! + id * dimensions, count: dimensions)
                }
            }
        }
        var inputs = dimensions
        for layer in 0..<2 {
            // Both directions' states side by side: row t is [forward h_t, backward h_t].
            var merged = [Float](repeating: 0, count: count * 2 * hidden)
            // x·W + b for every unit at once, per direction (b: the projection's bias and the GRU's own).
            let projected = (0..<2).map { direction in
                let layerGRU = grus[2 * layer + direction]
                precondition(layerGRU.inputs == inputs)
                var projected = [Float](repeating: 0, count: count * width)
                Self.fillRows(&projected, with: layerGRU.bias, count: count)
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(width), Int32(inputs), 1, input,
                    Int32(inputs), layerGRU.projection, Int32(width), 1, &projected, Int32(width))
                return projected
            }
            let forward = grus[2 * layer]
            let backward = grus[2 * layer + 1]
            for segment in segments where !segment.isEmpty {
                // Both recurrences interleaved where the CPU allows, else one after the other.
                let both = airlock_bigru(
                    projected[0], projected[1], Int32(segment.lowerBound), Int32(segment.upperBound), Int32(hidden),
                    forward.gates, forward.candidate, backward.gates, backward.candidate, &merged)
                if both == 0 {
                    for direction in 0..<2 {
                        gru(
                            projected[direction], rows: segment, index: 2 * layer + direction,
                            reverse: direction == 1, into: &merged, offset: direction * hidden)
                    }
                }
            }
            input = merged
            inputs = 2 * hidden
        }
        let labels = tags.count
        var emissions = [Float](repeating: 0, count: count * labels)
        Self.fillRows(&emissions, with: emissionBias, count: count)
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(labels), Int32(inputs), 1, input,
            Int32(inputs), emissionWeight, Int32(labels), 1, &emissions, Int32(labels))
        return emissions
    }

    /// Every row of `matrix` (`count` rows as wide as `row`) set to `row`.
    static func fillRows(_ matrix: inout [Float], with row: [Float], count: Int) {
        matrix.withUnsafeMutableBufferPointer { matrix in
            row.withUnsafeBufferPointer { row in
                for index in 0..<count { (matrix.baseAddress! + index * row.count).update(from: row.baseAddress!, count: row.count) }
            }
        }
    }

    /// Paddle's `dynamic_gru` (origin_mode false) over the projected inputs (the GRU's bias already added), forward or
    /// backward. Activations eight lanes at a time with `exp8`.
    private func gru(
        _ projected: [Float], rows: Range<Int>, index: Int, reverse: Bool, into states: inout [Float], offset: Int
    ) {
        let layer = grus[index]
        let stride = 2 * hidden
        airlock_gru(
            projected, Int32(rows.lowerBound), Int32(rows.upperBound), reverse ? 1 : 0, Int32(hidden), layer.gates,
            layer.candidate, &states, Int32(stride), Int32(offset))
    }

    @inline(__always) static func load(_ buffer: UnsafeBufferPointer<Float>, _ offset: Int) -> SIMD8<Float> {
        UnsafeRawPointer(buffer.baseAddress! + offset).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always) static func load(_ buffer: UnsafeMutableBufferPointer<Float>, _ offset: Int) -> SIMD8<Float> {
        UnsafeRawPointer(buffer.baseAddress! + offset).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always) static func store(_ value: SIMD8<Float>, _ buffer: UnsafeMutableBufferPointer<Float>, _ offset: Int) {
        UnsafeMutableRawPointer(buffer.baseAddress! + offset).storeBytes(of: value, as: SIMD8<Float>.self)
    }

    /// e^x for eight lanes: Cephes' `expf` (range reduction by ln 2 in two parts, a degree-6 polynomial, the exponent
    /// put in by bits); relative error about 1e-7 over [−87, 88], inputs clamped to it. Rounding to the nearest integer
    /// by adding and subtracting 1.5·2²³, which also leaves the integer in the sum's low bits (no per-lane conversion).
    @inline(__always) static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // Clamped with compares and blends (the standard library's pointwiseMin/Max run lane by lane).
        var x = x
        x.replace(with: 88.3, where: x .> 88.3)
        x.replace(with: -87.3, where: x .< -87.3)
        let shifted = x * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        var r = x - n * 0.693_359_375
        r = r - n * -2.121_944_4e-4
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        p = p * r * r + r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
        return p * scale
    }

    /// P(class of the tag at unit t = class of path[t] | text) for every t, by the scaled forward-backward algorithm: about a tenth of the
    /// network's cost (two 57×57 matrix-vector products a unit).
    func marginals(_ emissions: [Float], count: Int, path: [Int]) -> [Float] {
        let labels = tags.count
        // exp of each unit's emissions, shifted by the unit's maximum (the scaling cancels in the ratio).
        var weights = [Float](repeating: 0, count: count * labels)
        for step in 0..<count {
            let row = step * labels
            var top = -Float.infinity
            for label in 0..<labels { top = max(top, emissions[row + label]) }
            for label in 0..<labels { weights[row + label] = Foundation.exp(emissions[row + label] - top) }
        }
        func normalize(_ vector: inout [Float], _ offset: Int) {
            var sum: Float = 0
            for label in 0..<labels { sum += vector[offset + label] }
            let scale = sum > 0 ? 1 / sum : 0
            for label in 0..<labels { vector[offset + label] *= scale }
        }
        var alpha = [Float](repeating: 0, count: count * labels)
        for label in 0..<labels { alpha[label] = Foundation.exp(start[label]) * weights[label] }
        normalize(&alpha, 0)
        var scratch = [Float](repeating: 0, count: labels)
        for step in 1..<max(count, 1) {
            // alpha_t[to] = w_t[to] · Σ_from exp(trans[from→to]) · alpha_{t−1}[from]
            alpha.withUnsafeBufferPointer { alpha in
                cblas_sgemv(
                    CblasRowMajor, CblasNoTrans, Int32(labels), Int32(labels), 1, expIncoming, Int32(labels),
                    alpha.baseAddress! + (step - 1) * labels, 1, 0, &scratch, 1)
            }
            for label in 0..<labels { alpha[step * labels + label] = scratch[label] * weights[step * labels + label] }
            normalize(&alpha, step * labels)
        }
        var beta = [Float](repeating: 0, count: count * labels)
        for label in 0..<labels { beta[(count - 1) * labels + label] = Foundation.exp(end[label]) }
        normalize(&beta, (count - 1) * labels)
        var weighted = [Float](repeating: 0, count: labels)
        for step in stride(from: count - 2, through: 0, by: -1) {
            // beta_t[from] = Σ_to exp(trans[from→to]) · w_{t+1}[to] · beta_{t+1}[to]
            for label in 0..<labels {
                weighted[label] = weights[(step + 1) * labels + label] * beta[(step + 1) * labels + label]
            }
            cblas_sgemv(
                CblasRowMajor, CblasTrans, Int32(labels), Int32(labels), 1, expIncoming, Int32(labels), weighted, 1, 0,
                &scratch, 1)
            for label in 0..<labels { beta[step * labels + label] = scratch[label] }
            normalize(&beta, step * labels)
        }
        var result = [Float](repeating: 0, count: count)
        for step in 0..<count {
            var total: Float = 0
            for label in 0..<labels { total += alpha[step * labels + label] * beta[step * labels + label] }
            var chosen: Float = 0
            let wanted = tagClasses[path[step]]
            for label in 0..<labels where tagClasses[label] == wanted {
                chosen += alpha[step * labels + label] * beta[step * labels + label]
            }
            result[step] = total > 0 ? min(1, chosen / total) : 0
        }
        return result
    }

    /// Viterbi, eight tags at a time: for each previous tag, the scores of moving to every tag (a row of
    /// `outgoing`) are compared with the best so far, lane by lane.
    private func viterbi(_ emissions: [Float], count: Int) -> [Int] {
        let labels = tags.count
        let width = outgoingWidth
        var score = [Float](repeating: -.infinity, count: width)
        for label in 0..<labels { score[label] = start[label] + emissions[label] }
        var back = [Int32](repeating: 0, count: count * width)
        var best = [Float](repeating: 0, count: width)
        var from = [Int32](repeating: 0, count: width)
        outgoing.withUnsafeBufferPointer { outgoing in
            for step in 1..<max(count, 1) {
                score.withUnsafeBufferPointer { score in
                    best.withUnsafeMutableBufferPointer { best in
                        from.withUnsafeMutableBufferPointer { from in
                            for lane in stride(from: 0, to: width, by: 8) {
                                Self.store(SIMD8(repeating: -.infinity), best, lane)
                                UnsafeMutableRawPointer(from.baseAddress! + lane).storeBytes(
                                    of: SIMD8<Int32>(repeating: 0), as: SIMD8<Int32>.self)
                            }
                            for previous in 0..<labels {
                                let base = SIMD8(repeating: score[previous])
                                let index = SIMD8(repeating: Int32(previous))
                                let row = outgoing.baseAddress! + previous * width
                                for lane in stride(from: 0, to: width, by: 8) {
                                    let candidate = base + UnsafeRawPointer(row + lane).loadUnaligned(as: SIMD8<Float>.self)
                                    var current = Self.load(UnsafeBufferPointer(best), lane)
                                    var chosen = UnsafeRawPointer(from.baseAddress! + lane).loadUnaligned(as: SIMD8<Int32>.self)
                                    let better = candidate .> current
                                    current.replace(with: candidate, where: better)
                                    chosen.replace(with: index, where: better)
                                    Self.store(current, best, lane)
                                    UnsafeMutableRawPointer(from.baseAddress! + lane).storeBytes(of: chosen, as: SIMD8<Int32>.self)
                                }
                            }
                        }
                    }
                }
                for label in 0..<labels {
                    score[label] = best[label] + emissions[step * labels + label]
                    back[step * width + label] = from[label]
                }
            }
        }
        var last = 0
        var top = -Float.infinity
        for label in 0..<labels where score[label] + end[label] > top {
            top = score[label] + end[label]
            last = label
        }
        var path = [Int](repeating: 0, count: count)
        path[count - 1] = last
        for step in stride(from: count - 1, to: 0, by: -1) { path[step - 1] = Int(back[step * width + path[step]]) }
        return path
    }
}

extension LACModel {
    /// A run of units LAC tagged with one class, starting at a `-B` tag: its class ("PER", "LOC", "ORG", "TIME", or a
    /// part-of-speech class), its text and its span in the text's Unicode scalars.
    public struct Word: Sendable, Equatable {
        public var tag: String
        public var text: String
        public var start: Int
        public var length: Int
        /// The lowest confidence of the word's units (see `decode`).
        public var confidence: Float = 1
    }

    /// LAC's output for `text`: the words with their classes, as LAC's `run` returns them.
    public func words(_ text: String) -> [Word] {
        let units = units(text)
        return words(units, decode(units))
    }

    /// The words of `units` given their decoded tags and confidences.
    public func words(_ units: [Unit], _ decoded: (tags: [Int], confidence: [Float])) -> [Word] {
        let (ids, confidence) = decoded
        var words: [Word] = []
        for (index, unit) in units.enumerated() {
            let name = tags[ids[index]]
            let tag = String(name.dropLast(2))
            if words.isEmpty || name.hasSuffix("B") || name.hasSuffix("S") {
                words.append(
                    Word(tag: tag, text: unit.text, start: unit.start, length: unit.length, confidence: confidence[index]))
            } else {
                words[words.count - 1].text += unit.text
                words[words.count - 1].length += unit.length
                words[words.count - 1].tag = tag
                words[words.count - 1].confidence = min(words[words.count - 1].confidence, confidence[index])
            }
        }
        return words
    }
}
