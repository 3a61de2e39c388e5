import ArgumentParser
import Embeddings
import Foundation

/// `airlock eval embedding`: Spearman correlation between cosine similarity and human scores on STS-B.
struct EvalEmbeddingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embedding",
        abstract: "Spearman correlation on STS-B.",
        discussion: "FILE is tab-separated with a header: score, sentence a, sentence b.")

    @Option(name: .long, help: "STS-B file (TSV: score, a, b; header line).")
    var stsb: String

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    @Option(name: .long, help: "Model directory (default: $AIRLOCK_MODEL_DIR or models/all-MiniLM-L6-v2).")
    var model: String?

    func run() async throws {
        let pairs = try readPairs(stsb)
        let embedder = try loadLocalEmbedder(model)
        defer { embedder.shutdown() }
        let start = Date()
        let vectors = try await embedder.embed(pairs.flatMap { [$0.a, $0.b] })
        let seconds = Date().timeIntervalSince(start)
        let similarities = pairs.indices.map { Double(cosineSimilarity(vectors[2 * $0], vectors[2 * $0 + 1])) }
        let spearman = spearmanCorrelation(similarities, pairs.map(\.score))
        if json {
            print(
                #"{"file":"\#(stsb)","pairs":\#(pairs.count),"spearman":\#(String(format: "%.4f", spearman)),"seconds":\#(String(format: "%.2f", seconds))}"#
            )
        } else {
            print("pairs:    \(pairs.count)")
            print("spearman: \(String(format: "%.4f", spearman))")
            print("time:     \(String(format: "%.2f", seconds)) s")
        }
    }

    private func readPairs(_ path: String) throws -> [(score: Double, a: String, b: String)] {
        let contents: String
        do {
            contents = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(path): \(error.localizedDescription)")
        }
        var pairs: [(score: Double, a: String, b: String)] = []
        for (number, line) in contents.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 3, let score = Double(fields[0].trimmingCharacters(in: .whitespaces)) else {
                if number == 0 { continue }  // header
                throw ValidationError("\(path):\(number + 1): expected score<TAB>sentence<TAB>sentence")
            }
            pairs.append(
                (score, String(fields[1]), String(fields[2].trimmingCharacters(in: CharacterSet(charactersIn: "\r")))))
        }
        guard pairs.count >= 2 else { throw ValidationError("\(path): fewer than two pairs") }
        return pairs
    }
}

/// Spearman's rank correlation: Pearson correlation of the ranks, ties given their average rank.
func spearmanCorrelation(_ x: [Double], _ y: [Double]) -> Double {
    pearsonCorrelation(averageRanks(x), averageRanks(y))
}

func averageRanks(_ values: [Double]) -> [Double] {
    let order = values.indices.sorted { values[$0] < values[$1] }
    var ranks = [Double](repeating: 0, count: values.count)
    var start = 0
    while start < order.count {
        var end = start
        while end + 1 < order.count, values[order[end + 1]] == values[order[start]] { end += 1 }
        let rank = Double(start + end) / 2 + 1
        for k in start...end { ranks[order[k]] = rank }
        start = end + 1
    }
    return ranks
}

func pearsonCorrelation(_ x: [Double], _ y: [Double]) -> Double {
    let n = Double(x.count)
    let meanX = x.reduce(0, +) / n
    let meanY = y.reduce(0, +) / n
    var covariance = 0.0
    var varianceX = 0.0
    var varianceY = 0.0
    for i in x.indices {
        covariance += (x[i] - meanX) * (y[i] - meanY)
        varianceX += (x[i] - meanX) * (x[i] - meanX)
        varianceY += (y[i] - meanY) * (y[i] - meanY)
    }
    return covariance / (varianceX * varianceY).squareRoot()
}
