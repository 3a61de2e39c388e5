import AirlockConfiguration
import ArgumentParser
import Digest
import Embeddings
import Foundation
import SemanticCache

/// `airlock cache calibrate`: per script, the threshold curve on labeled pairs, pair by pair and crowded, and the
/// lowest threshold meeting both bounds on every file; `--write` records it as calibration data.
struct CacheCalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Thresholds by script from labeled pairs: pair by pair and in a crowded namespace.",
        discussion: """
            Each FILE is tab-separated with a header: a, b, same (1 = a hit is correct). Pairs are grouped by the \
            script of `b` (as the cache's namespace is), and each script is calibrated on its own, with the model \
            serve would use for it (--multilingual-model for every script but Latin). For every threshold from \
            0.800 to 0.999: pair by pair (each pair alone, the lexical gate on) precision, recall and false-hit \
            rate; crowded (every distinct `a` of a file stored in one namespace, every `b` asked, the cache's \
            lookup replayed in memory) the share of lookups served another question's answer. The calibrated \
            threshold is the lowest meeting --max-false-hit and --max-crowded on every file of the script; none \
            when no threshold does, or when no file holds --min-pairs pairs of the script (serve then gives that script \
            exact hits only unless a threshold is set).
            """)

    @Option(name: .long, help: "Labeled pairs (TSV: a, b, same; header line). Repeat for several files.")
    var pairs: [String]

    @Option(name: .customLong("max-false-hit"), help: "Pair by pair, the false-hit rate to stay under.")
    var maxFalseHit: Double = 0.01

    @Option(name: .customLong("max-crowded"), help: "Crowded, the share of lookups served a wrong answer to stay under.")
    var maxCrowded: Double = 0.01

    @Option(
        name: .customLong("min-pairs"),
        help: "A file counts for a script only with at least this many of its pairs (and a tenth of them same).")
    var minPairs: Int = 500

    @Option(name: .long, help: "Nearest entries the gate checks per lookup (default: the cache's).")
    var candidates: Int = SemanticCacheConfiguration().candidatesPerLookup

    @Flag(name: .long, help: "Print the result as JSON (the curves every 0.005).")
    var json = false

    @Option(name: .long, help: "Write the calibration record (thresholds, sources, figures) to this JSON file.")
    var write: String?

    @Option(name: .long, help: "Model directory (default: $AIRLOCK_MODEL_DIR or models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(
        name: .customLong("multilingual-model"),
        help: "The model for texts in other scripts than Latin (models/multilingual-e5-small); default: none.")
    var multilingualModel: String?

    struct Source {
        var name: String
        var sha256: String
        var rows: [LabeledPairs.Row]
    }

    func run() async throws {
        var sources: [Source] = []
        for path in pairs {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read \(path)")
            }
            sources.append(
                Source(
                    name: URL(fileURLWithPath: path).lastPathComponent, sha256: SHA256.hex(Array(data)),
                    rows: try LabeledPairs.read(path)))
        }
        let embedder = try loadLocalEmbedder(model)
        defer { embedder.shutdown() }
        let multilingual = try multilingualModel.map { try loadLocalEmbedder($0) }
        defer { multilingual?.shutdown() }
        let gate = SemanticCacheConfiguration().gate

        var scripts: Set<TextScript> = []
        for source in sources {
            for row in source.rows { scripts.insert(TextScript.of(CacheKey.normalize(row.b))) }
        }
        var records: [String] = []
        var curvesJSON: [String] = []
        for script in scripts.sorted(by: { $0.rawValue < $1.rawValue }) {
            let usesMultilingual = script != .latin && multilingual != nil
            let engine = usesMultilingual ? multilingual! : embedder
            let modelName = URL(
                fileURLWithPath: usesMultilingual ? multilingualModel! : (model ?? "models/all-MiniLM-L6-v2")
            ).lastPathComponent
            var fileCurves: [(source: Source, pairs: Int, curve: [ThresholdCalibration.Point])] = []
            for source in sources {
                let selected = source.rows.filter { TextScript.of(CacheKey.normalize($0.b)) == script }
                // Too little evidence to calibrate on (a few pairs of another script inside a file).
                if selected.count < minPairs || selected.filter(\.same).count * 10 < minPairs {
                    if !selected.isEmpty && !json {
                        print("(\(source.name): \(selected.count) pairs in script \(script.rawValue), fewer than --min-pairs)")
                    }
                    continue
                }
                let pairs = selected.map {
                    ThresholdCalibration.Pair(a: CacheKey.normalize($0.a), b: CacheKey.normalize($0.b), same: $0.same)
                }
                let texts = Array(Set(pairs.flatMap { [$0.a, $0.b] })).sorted()
                let vectors = try await engine.embed(texts)
                let byText = Dictionary(uniqueKeysWithValues: zip(texts, vectors))
                let curve = ThresholdCalibration.curve(
                    pairs, vector: { byText[$0] ?? [] }, gate: gate, candidates: candidates)
                fileCurves.append((source, selected.count, curve))
            }
            if fileCurves.isEmpty {
                let empty = #""\#(script.rawValue)":{"model":\#(quoted(modelName)),"threshold":null,"files":[]}"#
                records.append(empty)
                curvesJSON.append(empty)
                continue
            }
            let chosen = ThresholdCalibration.lowest(
                fileCurves.map(\.curve), maxFalseHit: maxFalseHit, maxCrowded: maxCrowded)
            let chosenIndex = chosen.flatMap { value in ThresholdCalibration.thresholds.firstIndex(of: value) }

            func figures(_ point: ThresholdCalibration.Point) -> String {
                #"{"precision":\#(format(point.precision, 4)),"recall":\#(format(point.recall, 4)),"false_hit_rate":\#(format(point.falseHitRate, 4)),"crowded_wrong_rate":\#(format(point.crowdedWrongRate, 4)),"crowded_recall":\#(format(point.crowdedRecall, 4))}"#
            }
            let files = fileCurves.map { item in
                let at = chosenIndex.map { #","at_threshold":"# + figures(item.curve[$0]) } ?? ""
                return
                    #"{"file":\#(quoted(item.source.name)),"sha256":"\#(item.source.sha256)","pairs":\#(item.pairs),"same":\#(item.curve[0].same)\#(at)}"#
            }
            records.append(
                #""\#(script.rawValue)":{"model":\#(quoted(modelName)),"threshold":\#(chosen.map { format($0, 3) } ?? "null"),"files":[\#(files.joined(separator: ","))]}"#
            )
            if json {
                let perFile = fileCurves.map { item in
                    let points = item.curve.filter { Int(($0.threshold * 1000).rounded()) % 5 == 0 }.map {
                        #"{"threshold":\#(format($0.threshold, 3)),"#
                            + figures($0).dropFirst()
                    }
                    return #"{"file":\#(quoted(item.source.name)),"curve":[\#(points.joined(separator: ","))]}"#
                }
                curvesJSON.append(
                    #""\#(script.rawValue)":{"model":\#(quoted(modelName)),"threshold":\#(chosen.map { format($0, 3) } ?? "null"),"files":[\#(perFile.joined(separator: ","))]}"#
                )
                continue
            }
            print("== script \(script.rawValue): model \(modelName)")
            for item in fileCurves {
                let first = item.curve[0]
                print("-- \(item.source.name): \(item.pairs) pairs (\(first.same) same), \(first.lookups) crowded lookups")
                print("threshold   pair by pair: precision  recall  false-hit   crowded: wrong   recall")
                for point in item.curve where Int((point.threshold * 1000).rounded()) % 10 == 0 {
                    print(
                        "  \(format(point.threshold, 2))                    \(format(point.precision, 3))   "
                            + "\(format(point.recall, 3))    \(format(point.falseHitRate, 4))            "
                            + "\(format(point.crowdedWrongRate, 4))   \(format(point.crowdedRecall, 3))")
                }
            }
            print(
                "lowest threshold with false hits ≤ \(maxFalseHit) pair by pair and wrong answers ≤ \(maxCrowded) "
                    + "crowded, on every file: " + (chosen.map { format($0, 3) } ?? "none (exact hits only)"))
        }
        let criterion =
            #"{"max_false_hit":\#(maxFalseHit),"max_crowded_wrong":\#(maxCrowded),"candidates":\#(candidates),"thresholds":"0.800 to 0.999, step 0.001"}"#
        if json {
            print(#"{"criterion":\#(criterion),"scripts":{\#(curvesJSON.joined(separator: ","))}}"#)
        }
        if let write {
            let record =
                #"{"format":"airlock-cache-calibration/1","criterion":\#(criterion),"scripts":{\#(records.joined(separator: ","))}}"#
            // Pretty, sorted keys, so a recalibration diffs readably.
            let object = try JSONSerialization.jsonObject(with: Data(record.utf8))
            let data = try JSONSerialization.data(
                withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try (data + Data("\n".utf8)).write(to: URL(fileURLWithPath: write), options: .atomic)
            if !json { print("wrote \(write)") }
        }
    }
}

/// `text` as a JSON string literal, quotes included.
private func quoted(_ text: String) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
    return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
}
