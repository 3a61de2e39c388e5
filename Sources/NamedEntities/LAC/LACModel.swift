import COpenBLAS
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
    /// Per GRU (forward 0, backward 1, forward 2, backward 3): input projection [in, 3H] and bias, recurrent weights
    /// [H, 3H] as Paddle stores them (update/reset block [H, 2H] then candidate block [H, H]) and bias [3H].
    let projections: [(weight: [Float], bias: [Float], inputs: Int)]
    let recurrent: [(gates: [Float], candidate: [Float], bias: [Float])]
    let emissionWeight: [Float]
    let emissionBias: [Float]
    /// CRF: start scores, end scores, transitions [from][to].
    let start: [Float]
    let end: [Float]
    let transitions: [Float]

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
        self.hidden = hidden
        var projections: [(weight: [Float], bias: [Float], inputs: Int)] = []
        var recurrent: [(gates: [Float], candidate: [Float], bias: [Float])] = []
        for index in 0..<4 {
            let inputs = index < 2 ? dimensions : 2 * hidden
            projections.append(
                (
                    try tensor("fc_\(index).w_0", [inputs, 3 * hidden]).values,
                    try tensor("fc_\(index).b_0", [3 * hidden]).values, inputs
                ))
            let weights = try tensor("gru_\(index).w_0", [hidden, 3 * hidden]).values
            recurrent.append(
                (
                    Array(weights[0..<(2 * hidden * hidden)]), Array(weights[(2 * hidden * hidden)...]),
                    try tensor("gru_\(index).b_0", [1, 3 * hidden]).values
                ))
        }
        self.projections = projections
        self.recurrent = recurrent
        emissionWeight = try tensor("fc_4.w_0", [2 * hidden, tags.count]).values
        emissionBias = try tensor("fc_4.b_0", [tags.count]).values
        let crf = try tensor("crfw", [tags.count + 2, tags.count]).values
        start = Array(crf[0..<tags.count])
        end = Array(crf[tags.count..<(2 * tags.count)])
        transitions = Array(crf[(2 * tags.count)...])
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
        let count = units.count
        guard count > 0 else { return [] }
        let width = 3 * hidden
        var input = [Float](repeating: 0, count: count * dimensions)
        for (row, unit) in units.enumerated() {
            let id = unit.id >= 0 && unit.id * dimensions < embedding.count ? unit.id : outOfVocabulary
            for column in 0..<dimensions { input[row * dimensions + column] = embedding[id * dimensions + column] }
        }
        var inputs = dimensions
        for layer in 0..<2 {
            var merged = [Float](repeating: 0, count: count * 2 * hidden)
            for direction in 0..<2 {
                let index = 2 * layer + direction
                let (weight, bias, fanIn) = projections[index]
                precondition(fanIn == inputs)
                // x·W + b for every unit at once.
                var projected = [Float](repeating: 0, count: count * width)
                for row in 0..<count { for column in 0..<width { projected[row * width + column] = bias[column] } }
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(width), Int32(inputs), 1, input,
                    Int32(inputs), weight, Int32(width), 1, &projected, Int32(width))
                let states = gru(projected, count: count, index: index, reverse: direction == 1)
                for row in 0..<count {
                    for column in 0..<hidden {
                        merged[row * 2 * hidden + direction * hidden + column] = states[row * hidden + column]
                    }
                }
            }
            input = merged
            inputs = 2 * hidden
        }
        let labels = tags.count
        var emissions = [Float](repeating: 0, count: count * labels)
        for row in 0..<count { for column in 0..<labels { emissions[row * labels + column] = emissionBias[column] } }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(labels), Int32(inputs), 1, input,
            Int32(inputs), emissionWeight, Int32(labels), 1, &emissions, Int32(labels))
        return viterbi(emissions, count: count)
    }

    /// Paddle's `dynamic_gru` (origin_mode false) over the projected inputs, forward or backward.
    private func gru(_ projected: [Float], count: Int, index: Int, reverse: Bool) -> [Float] {
        let (gates, candidate, bias) = recurrent[index]
        let width = 3 * hidden
        var states = [Float](repeating: 0, count: count * hidden)
        var state = [Float](repeating: 0, count: hidden)
        var gate = [Float](repeating: 0, count: 2 * hidden)
        var reset = [Float](repeating: 0, count: hidden)
        var proposal = [Float](repeating: 0, count: hidden)
        for step in 0..<count {
            let row = reverse ? count - 1 - step : step
            let base = row * width
            // gate = x[u, r] + b[u, r] + h·W[u, r]
            for column in 0..<(2 * hidden) { gate[column] = projected[base + column] + bias[column] }
            cblas_sgemv(
                CblasRowMajor, CblasTrans, Int32(hidden), Int32(2 * hidden), 1, gates, Int32(2 * hidden), state, 1, 1,
                &gate, 1)
            for column in 0..<(2 * hidden) { gate[column] = 1 / (1 + exp(-gate[column])) }
            for column in 0..<hidden {
                reset[column] = gate[hidden + column] * state[column]
                proposal[column] = projected[base + 2 * hidden + column] + bias[2 * hidden + column]
            }
            cblas_sgemv(
                CblasRowMajor, CblasTrans, Int32(hidden), Int32(hidden), 1, candidate, Int32(hidden), reset, 1, 1,
                &proposal, 1)
            for column in 0..<hidden {
                let update = gate[column]
                state[column] = (1 - update) * state[column] + update * tanh(proposal[column])
                states[row * hidden + column] = state[column]
            }
        }
        return states
    }

    private func viterbi(_ emissions: [Float], count: Int) -> [Int] {
        let labels = tags.count
        var score = (0..<labels).map { start[$0] + emissions[$0] }
        var back = [Int](repeating: 0, count: count * labels)
        var next = [Float](repeating: 0, count: labels)
        for step in 1..<max(count, 1) {
            for to in 0..<labels {
                var best = -Float.infinity
                var from = 0
                for candidate in 0..<labels {
                    let value = score[candidate] + transitions[candidate * labels + to]
                    if value > best {
                        best = value
                        from = candidate
                    }
                }
                next[to] = best + emissions[step * labels + to]
                back[step * labels + to] = from
            }
            swap(&score, &next)
        }
        var last = 0
        var best = -Float.infinity
        for label in 0..<labels where score[label] + end[label] > best {
            best = score[label] + end[label]
            last = label
        }
        var path = [Int](repeating: 0, count: count)
        path[count - 1] = last
        for step in stride(from: count - 1, to: 0, by: -1) { path[step - 1] = back[step * labels + path[step]] }
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
    }

    /// LAC's output for `text`: the words with their classes, as LAC's `run` returns them.
    public func words(_ text: String) -> [Word] {
        let units = units(text)
        var words: [Word] = []
        for (unit, id) in zip(units, tagIDs(units)) {
            let name = tags[id]
            let tag = String(name.dropLast(2))
            if words.isEmpty || name.hasSuffix("B") || name.hasSuffix("S") {
                words.append(Word(tag: tag, text: unit.text, start: unit.start, length: unit.length))
            } else {
                words[words.count - 1].text += unit.text
                words[words.count - 1].length += unit.length
                words[words.count - 1].tag = tag
            }
        }
        return words
    }
}
