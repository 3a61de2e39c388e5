import Foundation

/// LAC's own word segmenter (`LAC/segment.py`, ported exactly): a prefix dictionary from `small_seg.dic`, a DAG of the
/// dictionary words starting at each character, the best path by dynamic programming from the end, and runs of
/// single ASCII letters and digits joined into one segment. As in LAC, a word's weight is its length (the prefix
/// tree stores lengths, not the file's counts) and the total is the log of the counts' sum; ties go to the longer
/// word. Text is handled as Unicode scalars, as Python indexes strings.
struct LACSegmenter: Sendable {
    typealias Scalars = [Unicode.Scalar]

    /// Words map to their length; prefixes of words that are not words themselves map to nil.
    private let prefixes: [Scalars: Int?]
    private let logTotal: Double

    init(dictionaryPath: String) throws {
        let text = try String(contentsOfFile: dictionaryPath, encoding: .utf8)
        var prefixes: [Scalars: Int?] = [:]
        var total = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
            guard fields.count == 2, let count = Int(fields[1]) else {
                throw LACModel.Failure.dictionary(dictionaryPath, String(line.prefix(40)))
            }
            let word = Array(fields[0].unicodeScalars)
            prefixes[word] = .some(word.count)
            if word.count > 1 {
                for end in 1..<word.count where prefixes[Array(word[..<end])] == nil {
                    prefixes[Array(word[..<end])] = .some(nil)
                }
            }
            total += count
        }
        self.prefixes = prefixes
        self.logTotal = log(Double(total))
    }

    /// The segments of `text`, in order; their concatenation is `text`.
    func cut(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        let length = scalars.count
        guard length > 0 else { return [] }
        // DAG: for each start, the ends (inclusive) of the dictionary words beginning there, the single character first.
        var dag = [[Int]](repeating: [], count: length)
        for head in 0..<length {
            dag[head].append(head)
            var end = head + 1
            while end <= length, let entry = prefixes[Array(scalars[head..<end])] {
                if let wordLength = entry, wordLength > 0 { dag[head].append(end - 1) }
                end += 1
            }
        }
        // route[i] = max over ends e of (log(weight(text[i...e]) or 1) - logTotal + route[e + 1].score, e).
        var scores = [Double](repeating: 0, count: length + 1)
        var ends = [Int](repeating: 0, count: length + 1)
        for index in stride(from: length - 1, through: 0, by: -1) {
            var best: (score: Double, end: Int)?
            for end in dag[index] {
                let weight = prefixes[Array(scalars[index...end])].flatMap { $0 } ?? 0
                let score = log(Double(weight == 0 ? 1 : weight)) - logTotal + scores[end + 1]
                if let current = best, (current.score, current.end) >= (score, end) { continue }
                best = (score, end)
            }
            scores[index] = best!.score
            ends[index] = best!.end
        }
        var segments: [String] = []
        var buffer = ""
        var index = 0
        while index < length {
            let end = ends[index] + 1
            var word = String.UnicodeScalarView()
            word.append(contentsOf: scalars[index..<end])
            if end - index == 1, Self.isASCIIAlphanumeric(scalars[index]) {
                buffer.unicodeScalars.append(scalars[index])
            } else {
                if !buffer.isEmpty {
                    segments.append(buffer)
                    buffer = ""
                }
                segments.append(String(word))
            }
            index = end
        }
        if !buffer.isEmpty { segments.append(buffer) }
        return segments
    }

    static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        default: false
        }
    }
}
