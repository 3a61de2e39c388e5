import ArgumentParser
import Embeddings
import Foundation
import Inspection
import Logging
import Synchronization

/// `airlock rules train`: fits the logistic-regression classifier a semantic rule can name (`classifier:`), and
/// reports it cross-validated beside the pack's nearest-exemplar rule.
struct RulesTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a classifier over the embedding for a semantic rule's `classifier:` key.",
        discussion: """
            --injection FILE.tsv (columns text, attack 1/0) or --refusal FILE.tsv (prompt, response, refusal \
            1/0/partial; the response's first 400 characters are read, as the refusal detector reads them), each \
            repeatable. Every row is embedded with the local model. k-fold cross-validation (stratified by file and \
            label, seeded, identical texts in one fold) gives every row an out-of-fold probability; the threshold is \
            the one with the highest recall whose out-of-fold false-positive rate is within --max-fpr on every file, \
            and of the --l2 penalties tried the one with the best recall there is kept. The pack's nearest-exemplar \
            rule, and the pack as it is, are measured on the same rows for comparison. Then the model is fitted on \
            all rows and written to --out with those figures. No figure is measured on rows a model was trained on \
            (the penalty and the threshold are chosen on the out-of-fold predictions they are reported on).
            """)

    @Option(name: .long, help: "Injection data (TSV: text, attack); repeat for several files.")
    var injection: [String] = []
    @Option(name: .long, help: "Refusal data (TSV: prompt, response, refusal); repeat for several files.")
    var refusal: [String] = []
    @Option(name: .long, help: "Where to write the classifier (JSON), e.g. rules/prompt-injection.classifier.json.")
    var out: String
    @Option(name: .long, help: "Folds of the cross-validation.")
    var folds: Int = LogisticClassifier.TrainingOptions().folds
    @Option(
        name: .long,
        help: ArgumentHelp(
            "L2 penalty on the weights (per unit of mean sample loss); repeat to try several and keep the best "
                + "out-of-fold recall.",
            discussion: "Default: 1e-4, 1e-3, 1e-2 and 1e-1."))
    var l2: [Double] = []
    @Option(name: .customLong("max-fpr"), help: "Highest out-of-fold false-positive rate allowed on each file.")
    var maxFalsePositiveRate: Double = LogisticClassifier.TrainingOptions().maxFalsePositiveRate
    @Option(name: .long, help: "Seed of the fold assignment.")
    var seed: UInt64 = LogisticClassifier.TrainingOptions().seed
    @Option(name: .long, help: "How to count `partial` refusals: refusal, compliance or skip.")
    var partial: EvalRulesCommand.PartialLabel = .refusal
    @Option(name: .long, help: "Rule directory holding the baseline rule.")
    var rules: String = "rules"
    @Option(
        name: .long,
        help: "Nearest-exemplar rule to compare with (default injection-semantic or refusal-semantic); `none` skips it."
    )
    var baseline: String?
    @Option(name: .long, help: "Model directory (default: $AIRLOCK_MODEL_DIR or models/all-MiniLM-L6-v2).")
    var model: String?
    @Flag(name: .long, help: "Print the result as JSON.") var json = false
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Train the classifier of this lexical rule (refusal data) instead of one over the embedding.",
            discussion: """
                Features: the words and word pairs of each answer's opening that at least --min-count answers \
                contain, the rule's cues on the opening and on the body, and the answer's length. The threshold is \
                chosen for the detector as it runs: rows the pack's other phrase rules already flag count as \
                flagged. No embedding model is needed.
                """))
    var lexical: String?
    @Option(name: .customLong("min-count"), help: "Lexical: answers a word or pair must occur in to become a feature.")
    var minCount: Int = 10

    /// What the classifier detects.
    enum Detection {
        case injection, refusal
    }

    /// One labeled row: what the classifier reads, what the baseline rule is given, and where it came from.
    struct Row {
        var input: String
        var original: String
        var label: Bool
        var source: Int
    }

    var task: Detection { injection.isEmpty ? .refusal : .injection }

    func validate() throws {
        guard injection.isEmpty != refusal.isEmpty else {
            throw ValidationError("give --injection files or --refusal files (not both)")
        }
        guard folds >= 2 else { throw ValidationError("--folds must be at least 2") }
        guard l2.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw ValidationError("--l2 must be a positive number") }
        guard (0...1).contains(maxFalsePositiveRate) else { throw ValidationError("--max-fpr must be in 0…1") }
        if lexical != nil {
            guard !refusal.isEmpty else { throw ValidationError("--lexical trains on --refusal files") }
            guard minCount >= 1 else { throw ValidationError("--min-count must be at least 1") }
        }
    }

    func run() async throws {
        if let lexical {
            try await trainLexical(ruleID: lexical)
            return
        }
        let started = ContinuousClock.now
        let (rows, dataFiles) = try readFiles(task == .injection ? injection : refusal)
        let names = dataFiles.map(\.name)

        // The comparison's rules are read first, so a broken pack stops the run before the embedding does.
        let baselineRule = baseline ?? (task == .injection ? "injection-semantic" : "refusal-semantic")
        let packs = baselineRule == "none" ? [] : try baselinePacks(baselineRule)

        let modelDirectory =
            model ?? ProcessInfo.processInfo.environment["AIRLOCK_MODEL_DIR"] ?? "models/all-MiniLM-L6-v2"
        let local = try loadLocalEmbedder(modelDirectory)
        defer { local.shutdown() }
        let embedder = MemoizingEmbedder(local)
        let vectors = try await embed(rows.map(\.input), with: embedder)

        let data = LabeledVectors(
            vectors: vectors, labels: rows.map(\.label), sources: rows.map(\.source), sourceNames: names,
            groupKeys: rows.map(\.input))
        let options = LogisticClassifier.TrainingOptions(
            folds: folds, l2: l2.isEmpty ? LogisticClassifier.TrainingOptions.defaultL2Candidates : l2,
            maxFalsePositiveRate: maxFalsePositiveRate, seed: seed)
        var classifier: LogisticClassifier
        let validation: LogisticClassifier.CrossValidation
        do {
            (classifier, validation) = try LogisticClassifier.train(
                data, options: options, embedding: (modelDirectory as NSString).lastPathComponent, files: dataFiles,
                input: task == .injection
                    ? "text, trimmed" : "response, first \(RuleSet.refusalOpeningCharacters) characters")
        } catch {
            throw ValidationError(error.description)
        }

        if baselineRule != "none" {
            let comparison = try await measureBaselines(
                baselineRule, packs: packs, rows: rows, names: names, embedder: embedder)
            let outOfFold = validation.scores.map { $0 >= validation.threshold }
            classifier.trained?.nearestExemplarBaseline = comparison.rule
            classifier.trained?.packWithoutClassifier = comparison.pack
            classifier.trained?.packWithClassifierOutOfFold = DetectionReport(
                rule: "\(comparison.pack.rule ?? "pack") + classifier", threshold: validation.threshold, names: names,
                sources: rows.map(\.source), labels: rows.map(\.label),
                predicted: zip(comparison.packPredictions, outOfFold).map { $0 || $1 })
        }

        try write(classifier, rows: rows, started: started)
    }

    /// Every row of `files` (each file a source) and the record of each file.
    func readFiles(_ files: [String]) throws -> (rows: [Row], files: [TrainingRecord.DataFile]) {
        var rows: [Row] = []
        var dataFiles: [TrainingRecord.DataFile] = []
        for (source, path) in files.enumerated() {
            let fileRows = try readRows(path, source: source)
            rows += fileRows
            let contents = FileManager.default.contents(atPath: path) ?? Data()
            dataFiles.append(
                TrainingRecord.DataFile(
                    name: (path as NSString).lastPathComponent, contents: contents, rows: fileRows.count))
        }
        return (rows, dataFiles)
    }

    /// Writes the classifier to --out, then prints the result (text or JSON).
    func write(_ classifier: LogisticClassifier, rows: [Row], started: ContinuousClock.Instant) throws {
        do {
            try classifier.encoded().write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw ValidationError("cannot write \(out): \(error.localizedDescription)")
        }
        let seconds = (ContinuousClock.now - started).components.seconds
        if json {
            printJSON(classifier)
        } else {
            printText(classifier, rows: rows, seconds: seconds)
        }
    }

    // MARK: - Data

    func readRows(_ path: String, source: Int) throws -> [Row] {
        let records = try LabeledTSV.read(path)
        let (textColumn, labelColumn) = task == .injection ? ("text", "attack") : ("response", "refusal")
        guard let first = records.first, first[textColumn] != nil, first[labelColumn] != nil else {
            throw ValidationError("\(path): expected columns `\(textColumn)` and `\(labelColumn)`")
        }
        return records.compactMap { record -> Row? in
            let original = record[textColumn] ?? ""
            switch task {
            case .injection:
                // As `evaluateSemantic` reads a prompt for a classifier: the whole text, trimmed.
                let input = original.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !input.isEmpty, let label = LabeledTSV.label(record[labelColumn]) else { return nil }
                return Row(input: input, original: original, label: label, source: source)
            case .refusal:
                // As `detectRefusal` reads an answer: its opening.
                let input = String(original.prefix(RuleSet.refusalOpeningCharacters))
                guard !input.isEmpty, let label = LabeledTSV.refusalLabel(record[labelColumn], partial: partial)
                else { return nil }
                return Row(input: input, original: original, label: label, source: source)
            }
        }
    }

    /// Embeds in batches (the engine spreads each over its workers), reporting progress on stderr.
    private func embed(_ texts: [String], with embedder: any Embedder) async throws -> [[Float]] {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        let batch = 128
        for start in stride(from: 0, to: texts.count, by: batch) {
            vectors += try await embedder.embed(Array(texts[start..<min(start + batch, texts.count)]))
            progress("\rembedded \(vectors.count)/\(texts.count)")
        }
        progress("\n")
        return vectors
    }

    // MARK: - Baseline

    /// The nearest-exemplar rule alone, and its whole pack without the rules that read the classifier being
    /// written, run on every row as inspection runs them (a prompt's segments, an answer's opening). No training
    /// is involved, so these counts are fair on any row.
    private func measureBaselines(
        _ ruleID: String, packs: [RulePackDefinition], rows: [Row], names: [String], embedder: any Embedder
    ) async throws -> (rule: DetectionReport, pack: DetectionReport, packPredictions: [Bool]) {
        guard let home = packs.first(where: { $0.rules.contains { $0.id == ruleID } }),
            let rule = home.rules.first(where: { $0.id == ruleID })
        else {
            throw ValidationError("no rule `\(ruleID)` in \(rules)")
        }
        let written = URL(fileURLWithPath: out).standardizedFileURL.path
        let ruleOnly = try await compile(packs, embedder: embedder) { _, candidate in candidate.id == ruleID }
        let wholePack = try await compile(packs, embedder: embedder) { pack, candidate in
            pack.name == home.name && candidate.enabled && candidate.kind != .guard
                && candidate.classifier.map { URL(fileURLWithPath: $0.resolvedPath).standardizedFileURL.path }
                    != written
        }
        let role = rule.roles.contains("user") ? "user" : rule.roles[0]
        let rulePredictions = await detect(rows.map(\.original), with: ruleOnly, role: role) { $0 == ruleID }
        let packPredictions = await detect(rows.map(\.original), with: wholePack, role: role) { _ in true }
        let sources = rows.map(\.source)
        let labels = rows.map(\.label)
        return (
            DetectionReport(
                rule: ruleID, threshold: rule.threshold, names: names, sources: sources, labels: labels,
                predicted: rulePredictions),
            DetectionReport(
                rule: "pack \(home.name)", threshold: nil, names: names, sources: sources, labels: labels,
                predicted: packPredictions),
            packPredictions
        )
    }

    /// The packs of `rules`, checked to hold `ruleID` as a semantic rule with exemplars.
    private func baselinePacks(_ ruleID: String) throws -> [RulePackDefinition] {
        let packs: [RulePackDefinition]
        do {
            packs = try RuleSet.parsePacks(directory: rules)
        } catch {
            throw ValidationError("\(error.description)\n(--baseline none trains without the comparison)")
        }
        guard let rule = packs.flatMap(\.rules).first(where: { $0.id == ruleID }), rule.kind == .semantic,
            !rule.exemplars.isEmpty
        else {
            throw ValidationError("no semantic rule `\(ruleID)` with exemplars in \(rules) (--baseline ID or none)")
        }
        return packs
    }

    /// The packs with only the rules `keep` accepts enabled.
    func compile(
        _ packs: [RulePackDefinition], embedder: (any Embedder)?, keep: (RulePackDefinition, RuleDefinition) -> Bool
    ) async throws -> RuleSet {
        var packs = packs
        for p in packs.indices {
            for r in packs[p].rules.indices { packs[p].rules[r].enabled = keep(packs[p], packs[p].rules[r]) }
            packs[p].enabled = packs[p].rules.contains(where: \.enabled)
        }
        var logger = Logger(label: "airlock.inspection")
        logger.logLevel = .error
        do {
            return try await RuleSet.compile(packs: packs, directory: rules, embedder: embedder, logger: logger)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// Whether the set detects each text (an injection among the prompt findings whose rule `counts`, or a
    /// refusal verdict by such a rule), a few rows in flight to keep both encoder threads busy.
    func detect(
        _ texts: [String], with ruleSet: RuleSet, role: String, counts: @escaping @Sendable (String) -> Bool
    ) async -> [Bool] {
        let isInjection = task == .injection
        @Sendable func detect(_ index: Int) async -> (Int, Bool) {
            if isInjection {
                let findings = await ruleSet.matchingRules(prompt: texts[index], role: role)
                return (index, findings.contains { counts($0.ruleID) })
            }
            return (index, (await ruleSet.detectRefusal(text: texts[index])).map { counts($0.ruleID) } ?? false)
        }
        return await withTaskGroup(of: (Int, Bool).self) { group in
            var results = [Bool](repeating: false, count: texts.count)
            var next = 0
            for _ in 0..<min(4, texts.count) {
                let index = next
                group.addTask { await detect(index) }
                next += 1
            }
            while let (index, hit) = await group.next() {
                results[index] = hit
                if next < texts.count {
                    let index = next
                    group.addTask { await detect(index) }
                    next += 1
                }
            }
            return results
        }
    }

    // MARK: - Output

    func printText(_ classifier: LogisticClassifier, rows: [Row], seconds: Int64) {
        guard let record = classifier.trained else { return }
        let positives = rows.filter(\.label).count
        print(
            "\(task == .injection ? "injection" : "refusal"): \(rows.count) rows (\(positives) positive, "
                + "\(rows.count - positives) negative) from \(record.files.count) file(s); \(record.folds)-fold "
                + "cross-validation, max FPR \(record.maxFalsePositiveRate) per file")
        if let trials = record.l2Trials, trials.count > 1 {
            print("")
            print("L2 penalties, each cross-validated on the same folds (overall, out of fold, at its own threshold):")
            for trial in trials {
                let c = trial.overall
                let figures = String(
                    format: "threshold %.4f  tp %4d  fp %3d  recall %.4f  FPR %.4f", trial.threshold, c.tp, c.fp,
                    c.recall, c.falsePositiveRate)
                print(
                    "  l2 " + "\(trial.l2)".padding(toLength: 8, withPad: " ", startingAt: 0) + figures
                        + (trial.l2 == record.l2 ? "  <- kept" : ""))
            }
        }
        print("")
        print(
            "classifier, out of fold, at the chosen threshold "
                + String(format: "%.4f", classifier.threshold) + ":")
        printTable(record.crossValidation)
        if let baseline = record.nearestExemplarBaseline {
            print("")
            print(
                "nearest exemplar `\(baseline.rule ?? "?")` (threshold \(baseline.threshold.map { "\($0)" } ?? "?")), "
                    + "same rows:")
            printTable(baseline)
        }
        if let pack = record.packWithoutClassifier {
            print("")
            print("\(pack.rule ?? "pack") as it is, same rows:")
            printTable(pack)
        }
        if let combined = record.packWithClassifierOutOfFold {
            print("")
            print("\(combined.rule ?? "pack + classifier"): the pack or the classifier's out-of-fold verdict:")
            printTable(combined)
        }
        print("")
        print(
            "wrote \(out): fitted on all \(rows.count) rows with l2 \(record.l2), threshold "
                + String(format: "%.4f", classifier.threshold) + " (\(seconds) s)")
    }

    func printTable(_ report: DetectionReport) {
        func line(_ name: String, _ c: DetectionCounts) -> String {
            name.padding(toLength: 36, withPad: " ", startingAt: 0)
                + String(
                    format: "%5d %5d %5d %5d      %.4f   %.4f   %.4f", c.tp, c.fp, c.tn, c.fn, c.precision, c.recall,
                    c.falsePositiveRate)
        }
        print(
            "  " + "file".padding(toLength: 36, withPad: " ", startingAt: 0)
                + "   tp    fp    tn    fn   precision   recall      FPR")
        for file in report.files { print("  " + line(file.name, file.counts)) }
        print("  " + line("overall", report.overall))
    }

    func printJSON(_ classifier: LogisticClassifier) {
        struct Summary: Encodable {
            var out: String
            var threshold: Double
            var trained: TrainingRecord?
        }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let summary = Summary(out: out, threshold: classifier.threshold, trained: classifier.trained)
        if let data = try? encoder.encode(summary) { print(String(decoding: data, as: UTF8.self)) }
    }

    /// Progress on a terminal only (a log or a pipe gets the result alone).
    func progress(_ message: String) {
        guard isatty(STDERR_FILENO) != 0 else { return }
        FileHandle.standardError.write(Data(message.utf8))
    }
}

/// Remembers every vector it computed, so the baseline's pieces that equal a training text (every short prompt)
/// are not embedded twice. Lives for one command; it never forgets.
final class MemoizingEmbedder: Embedder {
    private let base: any Embedder
    private let memory = Mutex<[String: [Float]]>([:])

    init(_ base: any Embedder) { self.base = base }

    var dimensions: Int { base.dimensions }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        let missing = memory.withLock { memory in
            var seen: Set<String> = []
            return texts.filter { memory[$0] == nil && seen.insert($0).inserted }
        }
        if !missing.isEmpty {
            let vectors = try await base.embed(missing)
            memory.withLock { memory in
                for (text, vector) in zip(missing, vectors) { memory[text] = vector }
            }
        }
        return try memory.withLock { memory in
            try texts.map { text in
                guard let vector = memory[text] else { throw EmbeddingError(.invalidResponse, "no vector for a text") }
                return vector
            }
        }
    }
}
