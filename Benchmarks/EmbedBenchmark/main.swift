// Embedding benchmark: latency on one thread, throughput on two, resident memory. A plain executable, run
// in release mode by Benchmarks/bench-embed.sh; never a timed test.
import Embeddings
import Foundation
import Logging

struct Options {
    var modelDirectory = ProcessInfo.processInfo.environment["AIRLOCK_MODEL_DIR"] ?? "models/all-MiniLM-L6-v2"
    var iterations = 300
    var throughputTexts = 512
    var textsOut: String?

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--model": modelDirectory = iterator.next() ?? modelDirectory
            case "--iterations": iterations = Int(iterator.next() ?? "") ?? iterations
            case "--throughput-texts": throughputTexts = Int(iterator.next() ?? "") ?? throughputTexts
            case "--texts-out": textsOut = iterator.next()
            default:
                FileHandle.standardError.write(
                    Data(
                        "usage: EmbedBenchmark [--model DIR] [--iterations N] [--throughput-texts N] [--texts-out FILE]\n"
                            .utf8))
                exit(2)
            }
        }
    }
}

/// A text of exactly `tokens` tokens, [CLS] and [SEP] included.
func text(ofTokens tokens: Int, tokenizer: any SentenceTokenizer) -> String {
    let words =
        "the airlock proxy checks every prompt against its rules and its semantic cache before it calls the upstream model so that repeated questions come back quickly"
        .split(separator: " ")
    var result = ""
    var index = 0
    while tokenizer.encode(result).count < tokens {
        result += (result.isEmpty ? "" : " ") + words[index % words.count]
        index += 1
    }
    precondition(tokenizer.encode(result).count == tokens, "cannot build a \(tokens)-token text")
    return result
}

/// A Chinese text of exactly `tokens` tokens (grown a character at a time), or nil when the tokenizer skips it.
func chineseText(ofTokens tokens: Int, tokenizer: any SentenceTokenizer) -> String? {
    let characters = Array("我想了解一下花呗的还款日期和借呗的额度为什么最近没有变化请帮我查询账户的使用情况")
    var result = ""
    for index in 0..<(tokens * 4) {
        result.append(characters[index % characters.count])
        let count = tokenizer.encode(result).count
        if count == tokens { return result }
        if count > tokens { return nil }
    }
    return nil
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func memoryStatus() -> (rss: String, hwm: String) {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return ("?", "?") }
    func field(_ name: String) -> String {
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
            return String(format: "%.1f MB", kilobytes / 1024)
        }
        return "?"
    }
    return (field("VmRSS"), field("VmHWM"))
}

func row(_ engine: String, _ metric: String, _ value: String) {
    print(
        "| \(engine.padding(toLength: 26, withPad: " ", startingAt: 0)) | \(metric.padding(toLength: 60, withPad: " ", startingAt: 0)) | \(value.padding(toLength: 16, withPad: " ", startingAt: 0)) |"
    )
}

let options = Options(arguments: CommandLine.arguments)
let logger: Logger = {
    var logger = Logger(label: "embed-benchmark")
    logger.logLevel = .warning
    return logger
}()

let loadStart = now()
let encoder: BertEncoder
do {
    encoder = try BertEncoder.load(directory: options.modelDirectory)
} catch {
    FileHandle.standardError.write(Data("EmbedBenchmark: \(error)\n".utf8))
    exit(1)
}
let loadMilliseconds = Double(now() - loadStart) / 1e6
let short = text(ofTokens: 16, tokenizer: encoder.tokenizer)
let long = text(ofTokens: 128, tokenizer: encoder.tokenizer)

if let path = options.textsOut {
    let payload = try JSONSerialization.data(withJSONObject: [
        "short": short, "long": long, "throughput_texts": options.throughputTexts,
    ])
    try payload.write(to: URL(fileURLWithPath: path))
}

let engine = "airlock " + (options.modelDirectory as NSString).lastPathComponent
let chinese = encoder.tokenizer is E5Tokenizer ? chineseText(ofTokens: 16, tokenizer: encoder.tokenizer) : nil
row(engine, "model load", String(format: "%.1f ms", loadMilliseconds))

// Latency: one worker thread, one text per request, as the proxy embeds a prompt.
do {
    let embedder = LocalEmbedder(encoder: encoder, configuration: .init(workers: 1), logger: logger)
    var samples = [("16 tokens", short), ("128 tokens", long)]
    if let chinese { samples.append(("16 tokens of Chinese", chinese)) }
    for (label, sample) in samples {
        for _ in 0..<20 { _ = try await embedder.embed([sample]) }
        var samples: [Double] = []
        for _ in 0..<options.iterations {
            let start = now()
            _ = try await embedder.embed([sample])
            samples.append(Double(now() - start) / 1e6)
        }
        samples.sort()
        row(engine, "latency \(label), 1 thread, p50", String(format: "%.2f ms", percentile(samples, 0.5)))
        row(engine, "latency \(label), 1 thread, p99", String(format: "%.2f ms", percentile(samples, 0.99)))
    }
    embedder.shutdown()
}

// Throughput on 16-token texts.
func throughput(workers: Int, concurrentRequests: Bool) async throws -> Double {
    let embedder = LocalEmbedder(encoder: encoder, configuration: .init(workers: workers), logger: logger)
    defer { embedder.shutdown() }
    let texts = (0..<options.throughputTexts).map {
        "\(short.split(separator: " ").dropLast().joined(separator: " ")) \($0 % 10)"
    }
    _ = try await embedder.embed(Array(texts.prefix(64)))
    var best = 0.0
    for _ in 0..<3 {
        let start = now()
        if concurrentRequests {
            try await withThrowingTaskGroup(of: [Float].self) { group in
                for text in texts { group.addTask { try await embedder.embed(text) } }
                for try await _ in group {}
            }
        } else {
            _ = try await embedder.embed(texts)
        }
        best = max(best, Double(texts.count) / (Double(now() - start) / 1e9))
    }
    return best
}

let oneThread = try await throughput(workers: 1, concurrentRequests: false)
row(engine, "throughput 16 tokens, 1 thread, batched", String(format: "%.0f texts/s", oneThread))
let twoThreads = try await throughput(workers: 2, concurrentRequests: false)
row(engine, "throughput 16 tokens, 2 threads, batched", String(format: "%.0f texts/s", twoThreads))
let merged = try await throughput(workers: 2, concurrentRequests: true)
row(
    engine, "throughput 16 tokens, 2 threads, \(options.throughputTexts) concurrent requests",
    String(format: "%.0f texts/s", merged))

let memory = memoryStatus()
row(engine, "resident memory now (VmRSS)", memory.rss)
row(engine, "resident memory peak (VmHWM)", memory.hwm)
