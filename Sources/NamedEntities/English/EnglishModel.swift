import Foundation

/// Airlock's English (Latin-script) NER model: an averaged structured perceptron over BIO tags for PERSON, ADDRESS,
/// ORGANIZATION and LOCATION, trained at set-up by `scripts/ner/english/train.py` (`scripts/fetch-english-ner.sh`)
/// into a directory holding `model.json` (tags, transition and start scores), `weights.f32` (one row of tag scores per
/// hashed feature, little-endian float32) and four word lists (first names, last names, dictionary words written in
/// lower case, dictionary words written capitalized).
///
/// This is the Swift twin of `scripts/ner/english/perceptron.py` for inference: the same tokens, the same feature
/// strings hashed the same way (FNV-1a 32 over their UTF-8, masked to the table's size), Viterbi over the summed
/// rows, and forward-backward for each entity's score. `check.json`, written by the trainer, holds feature strings and
/// decoded entities that the tests compare against.
///
/// Immutable after loading; a call is CPU work on the calling thread, linear in the text (about 25 features a token).
public struct EnglishModel: Sendable {
    public let tags: [String]
    let bits: Int
    /// `tags.count` floats per feature row.
    let weights: [Float]
    /// transitions[from * tagCount + to]
    let transitions: [Double]
    let start: [Double]
    let firstNames: Set<String>
    let lastNames: Set<String>
    let lowerWords: Set<String>
    let properWords: Set<String>
    /// For each tag: the entity type it belongs to and whether it begins one (nil for O).
    let tagKinds: [(type: EntityType, begins: Bool)?]
    /// The sha256 (hex) of every labelled file the model was trained on: figures on them are in-sample.
    public let trainedOn: Set<String>

    public var tagCount: Int { tags.count }

    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(directory: String) throws {
        let url = URL(fileURLWithPath: directory)
        func read(_ name: String) throws -> Data {
            do {
                return try Data(contentsOf: url.appendingPathComponent(name))
            } catch {
                throw LoadError(description: "cannot read \(name) in \(directory)")
            }
        }
        struct Meta: Decodable {
            var format: String
            var bits: Int
            var tags: [String]
            var transitions: [[Double]]
            var start: [Double]
            var trainedOn: [String]?

            enum CodingKeys: String, CodingKey {
                case format, bits, tags, transitions, start
                case trainedOn = "trained_on"
            }
        }
        let meta: Meta
        do {
            meta = try JSONDecoder().decode(Meta.self, from: try read("model.json"))
        } catch let error as LoadError {
            throw error
        } catch {
            throw LoadError(description: "model.json in \(directory) is not an English NER model: \(error)")
        }
        guard meta.format == "airlock-english-ner/1" else {
            throw LoadError(description: "model.json in \(directory) has format \(meta.format), not airlock-english-ner/1")
        }
        let count = meta.tags.count
        guard count > 0, meta.tags[0] == "O", (8...24).contains(meta.bits), meta.start.count == count,
            meta.transitions.count == count, meta.transitions.allSatisfy({ $0.count == count })
        else { throw LoadError(description: "model.json in \(directory) is inconsistent") }
        var kinds: [(type: EntityType, begins: Bool)?] = [nil]
        for tag in meta.tags.dropFirst() {
            let parts = tag.split(separator: "-", maxSplits: 1)
            guard parts.count == 2, parts[0] == "B" || parts[0] == "I", let type = EntityType(rawValue: String(parts[1]))
            else { throw LoadError(description: "model.json in \(directory) has an unknown tag \(tag)") }
            kinds.append((type, parts[0] == "B"))
        }
        let raw = try read("weights.f32")
        guard raw.count == (1 << meta.bits) * count * 4 else {
            throw LoadError(description: "weights.f32 in \(directory) has \(raw.count) bytes, not \((1 << meta.bits) * count * 4)")
        }
        var weights = [Float](repeating: 0, count: raw.count / 4)
        weights.withUnsafeMutableBytes { target in
            raw.withUnsafeBytes { source in target.copyMemory(from: source) }
        }
        for index in weights.indices { weights[index] = Float(bitPattern: UInt32(littleEndian: weights[index].bitPattern)) }
        func words(_ name: String) throws -> Set<String> {
            let text = String(decoding: try read(name), as: UTF8.self)
            return Set(text.split(separator: "\n").map(String.init))
        }
        self.tags = meta.tags
        self.trainedOn = Set(meta.trainedOn ?? [])
        self.bits = meta.bits
        self.weights = weights
        self.transitions = meta.transitions.flatMap { $0 }
        self.start = meta.start
        self.tagKinds = kinds
        self.firstNames = try words("first-names.txt")
        self.lastNames = try words("last-names.txt")
        self.lowerWords = try words("words-lower.txt")
        self.properWords = try words("words-proper.txt")
    }

    // MARK: Tokens

    /// A token: a run of letters, marks and digits, or one other non-space character. Offsets in Unicode scalars of
    /// the text and in its UTF-8 bytes.
    public struct Token: Sendable, Equatable {
        public var scalars: Range<Int>
        public var bytes: Range<Int>
        /// The first token after the text's start or a line feed.
        public var lineStart: Bool
    }

    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .nonspacingMark,
            .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// Python's `str.isspace`: the White_Space characters and the four information separators U+001C–U+001F.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }

    public static func tokens(_ scalars: [Unicode.Scalar]) -> [Token] {
        var offsets = [Int](repeating: 0, count: scalars.count + 1)
        for (index, scalar) in scalars.enumerated() { offsets[index + 1] = offsets[index] + UTF8.width(scalar) }
        var tokens: [Token] = []
        var index = 0
        var lineStart = true
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\n" {
                lineStart = true
                index += 1
                continue
            }
            if isSpace(scalar) {
                index += 1
                continue
            }
            var end = index + 1
            if isWordScalar(scalar) {
                while end < scalars.count, isWordScalar(scalars[end]) { end += 1 }
            }
            tokens.append(Token(scalars: index..<end, bytes: offsets[index]..<offsets[end], lineStart: lineStart))
            lineStart = false
            index = end
        }
        return tokens
    }

    // MARK: Features

    static func shape(_ word: some Collection<Unicode.Scalar>) -> String {
        var marks: [Unicode.Scalar] = []
        for scalar in word {
            let properties = scalar.properties
            let mark: Unicode.Scalar
            if properties.isUppercase {
                mark = "X"
            } else if properties.isLowercase {
                mark = "x"
            } else if properties.numericType == .decimal || properties.numericType == .digit {
                mark = "d"
            } else {
                mark = scalar
            }
            if marks.last != mark { marks.append(mark) }
        }
        var shape = String.UnicodeScalarView()
        shape.append(contentsOf: marks.prefix(6))
        return String(shape)
    }

    static let streetWords: Set<String> = Set(
        ("street st avenue ave road rd lane ln drive dr place pl boulevard blvd court ct way suite apt apartment unit "
            + "floor box p.o. rue via calle straße strasse weg gatan vägen vej veien laan straat plein katu tie gata rua "
            + "ulica").split(separator: " ").map(String.init))
    static let companyWords: Set<String> = Set(
        ("inc inc. llc ltd ltd. gmbh sa s.a. ag group corp corporation company co plc bv oy ab as srl spa sas "
            + "technologies solutions university college institute school academy hospital bank").split(separator: " ")
            .map(String.init))

    /// Where features go: strings (for the reference check) or their rows (for inference). A feature is the
    /// concatenation of its parts.
    protocol FeatureSink {
        mutating func add(_ a: String)
        mutating func add(_ a: String, _ b: String)
        mutating func add(_ a: String, _ b: String, _ c: String, _ d: String)
        mutating func endToken()
    }

    struct StringSink: FeatureSink {
        var tokens: [[String]] = []
        var current: [String] = []
        mutating func add(_ a: String) { current.append(a) }
        mutating func add(_ a: String, _ b: String) { current.append(a + b) }
        mutating func add(_ a: String, _ b: String, _ c: String, _ d: String) { current.append(a + b + c + d) }
        mutating func endToken() {
            tokens.append(current)
            current = []
        }
    }

    /// Sums each token's feature rows into its tag scores. A feature's row is FNV-1a (32 bits) over its UTF-8, masked
    /// to the table's size; FNV is a fold over the bytes, so the parts are hashed one after the other, never joined.
    struct ScoreSink: FeatureSink {
        let table: UnsafeBufferPointer<Float>
        let mask: Int
        let count: Int
        var scores: [Double]
        var token = 0

        static let basis: UInt32 = 0x811C_9DC5

        static func fold(_ hash: UInt32, _ part: String) -> UInt32 {
            var hash = hash
            for byte in part.utf8 {
                hash ^= UInt32(byte)
                hash = hash &* 0x0100_0193
            }
            return hash
        }

        mutating func row(_ hash: UInt32) {
            let row = (Int(hash) & mask) * count
            let base = token * count
            for k in 0..<count { scores[base + k] += Double(table[row + k]) }
        }

        mutating func add(_ a: String) { row(Self.fold(Self.basis, a)) }
        mutating func add(_ a: String, _ b: String) { row(Self.fold(Self.fold(Self.basis, a), b)) }
        mutating func add(_ a: String, _ b: String, _ c: String, _ d: String) {
            row(Self.fold(Self.fold(Self.fold(Self.fold(Self.basis, a), b), c), d))
        }
        mutating func endToken() { token += 1 }
    }

    /// The feature strings of every token, as `perceptron.py`'s `Featurizer.strings` writes them.
    public func featureStrings(_ scalars: [Unicode.Scalar], _ tokens: [Token]) -> [[String]] {
        var sink = StringSink()
        features(scalars, tokens, into: &sink)
        return sink.tokens
    }

    /// Every token's features, in `perceptron.py`'s order, into `sink`.
    func features(_ scalars: [Unicode.Scalar], _ tokens: [Token], into sink: inout some FeatureSink) {
        func string(_ range: Range<Int>) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            return String(view)
        }
        func slice(_ text: String, prefix count: Int) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: text.unicodeScalars.prefix(count))
            return String(view)
        }
        func slice(_ text: String, suffix count: Int) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: text.unicodeScalars.suffix(count))
            return String(view)
        }
        let lower = tokens.map { Self.lowercased(scalars[$0.scalars]) }
        let shapes = tokens.map { Self.shape(scalars[$0.scalars]) }
        let inLower = lower.map { lowerWords.contains($0) }
        let inFirst = lower.map { firstNames.contains($0) }
        let inLast = lower.map { lastNames.contains($0) }
        let isStreet = lower.map { Self.streetWords.contains($0) }
        let isCompany = lower.map { Self.companyWords.contains($0) }
        let n = tokens.count
        for i in 0..<n {
            let l = lower[i]
            let sh = shapes[i]
            let pl = i > 0 ? lower[i - 1] : "<s>"
            let nl = i + 1 < n ? lower[i + 1] : "</s>"
            let psh = i > 0 ? shapes[i - 1] : "<s>"
            let nsh = i + 1 < n ? shapes[i + 1] : "</s>"
            sink.add("b")
            sink.add("w=", l)
            sink.add("sh=", sh)
            sink.add("p3=", slice(l, prefix: 3))
            sink.add("s3=", slice(l, suffix: 3))
            sink.add("w-1=", pl)
            sink.add("w+1=", nl)
            sink.add("sh-1=", psh)
            sink.add("sh+1=", nsh)
            sink.add("w-2=", i > 1 ? lower[i - 2] : "<s>")
            sink.add("w+2=", i + 2 < n ? lower[i + 2] : "</s>")
            sink.add("sh:w-1=", sh, "|", pl)
            sink.add("sh:sh+1=", sh, "|", nsh)
            sink.add("sh-1:sh=", psh, "|", sh)
            if tokens[i].lineStart { sink.add("bol") }
            if inFirst[i] { sink.add("fn") }
            if inLast[i] { sink.add("ln") }
            if i > 0, inFirst[i - 1] { sink.add("fn-1") }
            if i + 1 < n, inLast[i + 1] { sink.add("ln+1") }
            if isStreet[i] { sink.add("st") }
            if i + 1 < n, isStreet[i + 1] { sink.add("st+1") }
            if i > 0, isStreet[i - 1] { sink.add("st-1") }
            if isCompany[i] { sink.add("co") }
            if i + 1 < n, isCompany[i + 1] { sink.add("co+1") }
            let common = inLower[i]
            if common { sink.add("dl") }
            if properWords.contains(l) { sink.add("dp") }
            if i > 0, inLower[i - 1] { sink.add("dl-1") }
            if i + 1 < n, inLower[i + 1] { sink.add("dl+1") }
            if scalars[tokens[i].scalars].contains(where: { $0.value > 127 }) { sink.add("nonascii") }
            sink.add("s2=", slice(l, suffix: 2))
            sink.add("s4=", slice(l, suffix: 4))
            sink.add("len=", Self.lengths[min(tokens[i].scalars.count, 12)])
            if scalars[tokens[i].scalars.lowerBound].properties.isUppercase, common, !inFirst[i], !inLast[i] {
                sink.add("capcommon")
            }
            sink.add("sh:dl=", sh, "|", common ? "1" : "0")
            sink.endToken()
        }
    }

    static let lengths = (0...12).map { String($0) }

    /// Python's `str.lower()`: Unicode's full lower-case mapping, with its one context rule, Final_Sigma (a capital
    /// sigma after a cased letter and not before one becomes ς), which Swift's `lowercased()` does not apply.
    static func lowercased(_ word: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: word)
        let whole = String(view)
        guard word.contains("\u{03A3}") else { return whole.lowercased() }
        func cased(_ indices: some Sequence<Int>) -> Bool {
            for index in indices {
                let properties = word[index].properties
                if properties.isCaseIgnorable { continue }
                return properties.isCased
            }
            return false
        }
        var lower = ""
        for index in word.indices {
            if word[index] == "\u{03A3}", cased(stride(from: index - 1, through: word.startIndex, by: -1)),
                !cased(index + 1..<word.endIndex)
            {
                lower += "\u{03C2}"
            } else {
                lower += String(word[index]).lowercased()
            }
        }
        return lower
    }

    // MARK: Decoding

    /// The tag scores of every token: the sum of its features' rows (row-major, `tagCount` per token).
    func emissions(_ scalars: [Unicode.Scalar], _ tokens: [Token]) -> [Double] {
        weights.withUnsafeBufferPointer { table in
            var sink = ScoreSink(
                table: table, mask: (1 << bits) - 1, count: tagCount,
                scores: [Double](repeating: 0, count: tokens.count * tagCount))
            features(scalars, tokens, into: &sink)
            return sink.scores
        }
    }

    func viterbi(_ emissions: [Double], count n: Int) -> [Int] {
        let k = tagCount
        var score = (0..<k).map { start[$0] + emissions[$0] }
        var back = [Int](repeating: 0, count: n * k)
        var next = score
        for t in 1..<max(1, n) {
            for to in 0..<k {
                var best = -Double.infinity
                var arg = 0
                for from in 0..<k {
                    let candidate = score[from] + transitions[from * k + to]
                    if candidate > best {
                        best = candidate
                        arg = from
                    }
                }
                back[t * k + to] = arg
                next[to] = best + emissions[t * k + to]
            }
            swap(&score, &next)
        }
        var last = 0
        for tag in 1..<k where score[tag] > score[last] { last = tag }
        var path = [Int](repeating: 0, count: n)
        path[n - 1] = last
        if n > 1 {
            for t in stride(from: n - 1, to: 0, by: -1) { path[t - 1] = back[t * k + path[t]] }
        }
        return path
    }

    /// P(tag at token t), the scores read as a linear-chain CRF's log-potentials (forward-backward in log space).
    func marginals(_ emissions: [Double], count n: Int) -> [Double] {
        let k = tagCount
        func logSumExp(_ values: [Double]) -> Double {
            let top = values.max() ?? -.infinity
            guard top.isFinite else { return top }
            return top + log(values.reduce(0) { $0 + exp($1 - top) })
        }
        var alpha = [Double](repeating: 0, count: n * k)
        var beta = [Double](repeating: 0, count: n * k)
        for tag in 0..<k { alpha[tag] = start[tag] + emissions[tag] }
        var terms = [Double](repeating: 0, count: k)
        for t in stride(from: 1, to: n, by: 1) {
            for to in 0..<k {
                for from in 0..<k { terms[from] = alpha[(t - 1) * k + from] + transitions[from * k + to] }
                alpha[t * k + to] = logSumExp(terms) + emissions[t * k + to]
            }
        }
        for t in stride(from: n - 2, through: 0, by: -1) {
            for from in 0..<k {
                for to in 0..<k {
                    terms[to] = transitions[from * k + to] + emissions[(t + 1) * k + to] + beta[(t + 1) * k + to]
                }
                beta[t * k + from] = logSumExp(terms)
            }
        }
        let z = logSumExp(Array(alpha[((n - 1) * k)..<(n * k)]))
        return (0..<(n * k)).map { exp(alpha[$0] + beta[$0] - z) }
    }

    /// The entities of `text`, in order, with UTF-8 byte ranges; each scored by the mean over its tokens of the
    /// marginal probability of its type (B and I together).
    public func entities(in text: String) -> [RecognizedEntity] {
        let scalars = Array(text.unicodeScalars)
        let tokens = Self.tokens(scalars)
        guard !tokens.isEmpty else { return [] }
        let scores = emissions(scalars, tokens)
        let path = viterbi(scores, count: tokens.count)
        let marginal = marginals(scores, count: tokens.count)
        let k = tagCount
        var entities: [RecognizedEntity] = []
        var current: (type: EntityType, first: Int, last: Int)?
        func close() {
            guard let (type, first, last) = current else { return }
            var sum = 0.0
            for t in first...last {
                for tag in 1..<k where tagKinds[tag]?.type == type { sum += marginal[t * k + tag] }
            }
            entities.append(
                RecognizedEntity(
                    type: type, range: tokens[first].bytes.lowerBound..<tokens[last].bytes.upperBound,
                    score: sum / Double(last - first + 1)))
            current = nil
        }
        for (t, tag) in path.enumerated() {
            guard let kind = tagKinds[tag] else {
                close()
                continue
            }
            if kind.begins || current?.type != kind.type {
                close()
                current = (kind.type, t, t)
            } else {
                current?.last = t
            }
        }
        close()
        return entities
    }
}
