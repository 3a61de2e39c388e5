import ArgumentParser
import Digest
import Embeddings
import Foundation
import Inspection
import Logging
import NamedEntities
import SemanticCache

/// `airlock rules …`: check and test rule packs.
struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "Check, test and train rule packs.",
        subcommands: [Check.self, Test.self, Entities.self, RulesTrainCommand.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate every rule file: schema, patterns, duplicate ids. Exits non-zero on any error.")

        @Argument(help: "Rule directory.")
        var directory: String = "rules"

        func run() async throws {
            let report = RuleSet.check(directory: directory)
            for error in report.errors { printError(error.description) }
            guard report.errors.isEmpty else {
                printError("\(report.errors.count) error(s) in \(directory)")
                throw ExitCode.failure
            }
            let enabled = report.packs.filter(\.enabled).count
            print(
                "\(directory): \(report.packs.count) packs (\(enabled) enabled), \(report.ruleCount) rules OK; "
                    + "rules version \(report.version)")
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Run every rule's own examples (match and no_match). Exits non-zero on any failure.",
            discussion: """
                Semantic rules load the embedding model and NER rules the NER model; guard rules are skipped (they \
                need their endpoint).
                """)

        @Argument(help: "Rule directory.")
        var directory: String = "rules"

        @Option(name: .long, help: "Model directory (default: $AIRLOCK_MODEL_DIR or models/all-MiniLM-L6-v2).")
        var model: String?

        @Option(name: .long, help: "NER model directory (default: $AIRLOCK_RULES_NER_MODEL_DIR or models/lac-2.1.2).")
        var nerModel: String?

        @Option(
            name: .long,
            help: "English NER model directory (default: $AIRLOCK_RULES_NER_ENGLISH_MODEL_DIR or models/english-ner).")
        var nerEnglishModel: String?

        func run() async throws {
            let packs: [RulePackDefinition]
            do {
                packs = try RuleSet.parsePacks(directory: directory)
            } catch {
                for problem in error.errors { printError(problem.description) }
                throw ExitCode.failure
            }
            let needsModel = packs.contains { $0.rules.contains { $0.kind == .semantic } }
            let embedder = needsModel ? try loadLocalEmbedder(model) : nil
            defer { embedder?.shutdown() }
            let recognizer = packs.contains { $0.rules.contains { $0.kind == .ner } } ? try loadRecognizer(nerModel, english: nerEnglishModel) : nil
            let report = await RuleSet.testExamples(packs: packs, embedder: embedder, recognizer: recognizer)
            for failure in report.failures { printError(failure.description) }
            let skipped = report.skippedRules.isEmpty ? "" : "; skipped (guard): \(report.skippedRules.joined(separator: ", "))"
            guard report.failures.isEmpty else {
                printError("\(report.failures.count) example(s) failed of \(report.examplesRun)\(skipped)")
                throw ExitCode.failure
            }
            print("\(report.rulesTested) rules, \(report.examplesRun) examples passed\(skipped)")
        }
    }
}

extension RulesCommand {
    /// `airlock rules entities`: what the NER model finds in a text, with scores (to choose thresholds and allow lists).
    struct Entities: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "entities",
            abstract: "Print the names, addresses, places and organizations the NER model finds, with their scores.",
            discussion: "Reads each argument, or each line of standard input when none is given.")

        @Argument(help: "Texts to read.")
        var texts: [String] = []

        @Option(name: .long, help: "NER model directory (default: $AIRLOCK_RULES_NER_MODEL_DIR or models/lac-2.1.2).")
        var nerModel: String?

        @Option(
            name: .long,
            help: "English NER model directory (default: $AIRLOCK_RULES_NER_ENGLISH_MODEL_DIR or models/english-ner).")
        var nerEnglishModel: String?

        func run() async throws {
            let recognizer = try loadRecognizer(nerModel, english: nerEnglishModel)
            for text in texts.isEmpty ? readLinesFromStandardInput() : texts {
                let bytes = Array(text.utf8)
                let found = recognizer.entities(in: text).map { entity in
                    "\(entity.type.rawValue) \(String(decoding: bytes[entity.range], as: UTF8.self).debugDescription) "
                        + String(format: "%.3f", entity.score)
                }
                print(text.debugDescription + ": " + (found.isEmpty ? "nothing" : found.joined(separator: ", ")))
            }
        }
    }
}

/// `airlock eval rules`: PII span precision and recall, injection and refusal detection rates.
struct EvalRulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "PII, injection and refusal detection rates.",
        discussion: """
            --pii FILE.jsonl: rows {"text", "spans": [{"type","start","end"}]} with offsets in Unicode scalars. A \
            predicted span is a true positive when it overlaps a gold span of the same type; only types some enabled \
            rule names are scored.
            --injection FILE.tsv: columns text, attack (1/0). Detected = any prompt-injection rule fires.
            --refusal FILE.tsv: columns prompt, response, refusal (1/0/partial). Detected = the refusal detector fires.
            """)

    enum PartialLabel: String, ExpressibleByArgument, CaseIterable {
        case refusal, compliance, skip
    }

    enum Kinds: String, ExpressibleByArgument, CaseIterable {
        case all, regex, semantic, lexical
    }

    @Option(name: .long, help: "PII spans (JSONL).") var pii: String?
    @Option(name: .long, help: "Injection data (TSV: text, attack).") var injection: String?
    @Option(name: .long, help: "Refusal data (TSV: prompt, response, refusal).") var refusal: String?
    @Flag(name: .long, help: "Print the result as JSON.") var json = false
    @Option(name: .long, help: "Rule directory.") var rules: String = "rules"
    @Option(name: .long, help: "Model directory (default: $AIRLOCK_MODEL_DIR or models/all-MiniLM-L6-v2).")
    var model: String?
    @Option(name: .long, help: "NER model directory (default: $AIRLOCK_RULES_NER_MODEL_DIR or models/lac-2.1.2).")
    var nerModel: String?
    @Option(
        name: .long,
        help: "English NER model directory (default: $AIRLOCK_RULES_NER_ENGLISH_MODEL_DIR or models/english-ner).")
    var nerEnglishModel: String?
    @Option(name: .long, help: "How to count `partial` refusals: refusal, compliance or skip.")
    var partial: PartialLabel = .refusal
    @Option(name: .long, help: "Which rule kinds take part (injection, refusal): all, regex, semantic or lexical.")
    var kinds: Kinds = .all
    @Flag(name: .long, help: "Also print each misclassified item (for tuning rules on development data).")
    var showErrors = false

    func validate() throws {
        let given = [pii, injection, refusal].compactMap { $0 }.count
        if given != 1 { throw ValidationError("give exactly one of --pii, --injection, --refusal") }
    }

    func run() async throws {
        var packs: [RulePackDefinition]
        do {
            packs = try RuleSet.parsePacks(directory: rules)
        } catch {
            throw ValidationError(error.description)
        }
        if let pii {
            // Regex and NER rules: spans.
            packs = packs.map { pack in
                var pack = pack
                pack.rules = pack.rules.map { rule in
                    var rule = rule
                    if rule.kind != .regex && rule.kind != .ner { rule.enabled = false }
                    return rule
                }
                return pack
            }
            let needsNER = packs.contains { $0.enabled && $0.rules.contains { $0.enabled && $0.kind == .ner } }
            let recognizer = needsNER ? try loadRecognizer(nerModel, english: nerEnglishModel) : nil
            let ruleSet = try await compile(packs, embedder: nil, recognizer: recognizer)
            // A model trained on this very file reads it in-sample: say so next to its figures.
            let english = ((recognizer as? ScriptRoutedRecognizer)?.english as? EnglishEntityRecognizer)?.model
            let fileDigest = FileManager.default.contents(atPath: pii).map { SHA256.hex($0) }
            let inSample = english.map { model in fileDigest.map { model.trainedOn.contains($0) } ?? false } ?? false
            try evaluatePII(pii, ruleSet: ruleSet, inSample: inSample)
            return
        }
        packs = packs.map { pack in
            var pack = pack
            pack.rules = pack.rules.map { rule in
                var rule = rule
                if rule.kind == .guard || (kinds != .all && rule.kind.rawValue != kinds.rawValue) {
                    rule.enabled = false
                }
                return rule
            }
            return pack
        }
        let needsModel = packs.contains { $0.enabled && $0.rules.contains { $0.enabled && $0.kind == .semantic } }
        let embedder = needsModel ? try loadLocalEmbedder(model) : nil
        defer { embedder?.shutdown() }
        let ruleSet = try await compile(packs, embedder: embedder)
        if let injection {
            let rows = try LabeledTSV.read(injection)
            let samples: [(String, Bool?)] = rows.map { ($0["text"] ?? "", LabeledTSV.label($0["attack"])) }
            let injectionPacks = Set(packs.filter { $0.name.contains("injection") }.map(\.name))
            let counts = await evaluateBinary(samples) { text in
                !(await ruleSet.matchingRules(prompt: text, role: "user", packs: injectionPacks)).isEmpty
            }
            report(counts, file: injection)
        } else if let refusal {
            let rows = try LabeledTSV.read(refusal)
            let samples: [(String, Bool?)] = rows.map { row in
                (row["response"] ?? "", LabeledTSV.refusalLabel(row["refusal"], partial: partial))
            }
            let counts = await evaluateBinary(samples) { text in await ruleSet.detectRefusal(text: text) != nil }
            report(counts, file: refusal)
        }
    }

    private func compile(
        _ packs: [RulePackDefinition], embedder: (any Embedder)?, recognizer: (any EntityRecognizer)? = nil
    ) async throws -> RuleSet {
        var logger = Logger(label: "airlock.inspection")
        logger.logLevel = .error
        do {
            return try await RuleSet.compile(
                packs: packs, directory: rules, embedder: embedder, recognizer: recognizer, logger: logger)
        } catch {
            throw ValidationError(error.description)
        }
    }

    // MARK: - PII

    /// Gold types scored as the NER rules' types: presidio-research's STREET_ADDRESS is an ADDRESS, its GPE a LOCATION.
    static let goldTypeAliases = [
        "STREET_ADDRESS": "ADDRESS", "GPE": "LOCATION", "LOC": "LOCATION", "PER": "PERSON", "ORG": "ORGANIZATION",
    ]

    private func evaluatePII(_ path: String, ruleSet: RuleSet, inSample: Bool) throws {
        let supported = Set(ruleSet.enabledRules.compactMap(\.entity))
            .union(ruleSet.enabledRules.flatMap { $0.nerSettings?.types ?? [] })
        var aliased: Set<String> = []
        var tp: [String: Int] = [:]
        var fp: [String: Int] = [:]
        var fn: [String: Int] = [:]
        var goldMatched: [String: Int] = [:]
        var ignored: Set<String> = []
        let contents: String
        do {
            contents = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(path): \(error.localizedDescription)")
        }
        for (number, line) in contents.split(separator: "\n").enumerated() where !line.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let text = object["text"] as? String, let spans = object["spans"] as? [[String: Any]]
            else { throw ValidationError("\(path):\(number + 1): expected {\"text\", \"spans\"}") }
            let gold: [(type: String, range: Range<Int>)] = spans.compactMap { span in
                guard var type = span["type"] as? String, let start = span["start"] as? Int,
                    let end = span["end"] as? Int, start < end
                else { return nil }
                if let alias = Self.goldTypeAliases[type], supported.contains(alias), !supported.contains(type) {
                    aliased.insert("\(type) as \(alias)")
                    type = alias
                }
                if !supported.contains(type) {
                    ignored.insert(type)
                    return nil
                }
                return (type, start..<end)
            }
            let scalarOffsets = Self.scalarOffsets(text)
            let predicted: [(type: String, range: Range<Int>)] = ruleSet.detectEntities(in: text).compactMap { finding in
                guard let entity = finding.entity, let range = finding.range else { return nil }
                return (entity, scalarOffsets[range.lowerBound]..<scalarOffsets[range.upperBound])
            }
            let scalars = Array(text.unicodeScalars)
            func excerpt(_ range: Range<Int>) -> String {
                String(String.UnicodeScalarView(scalars[range.clamped(to: 0..<scalars.count)]))
            }
            for prediction in predicted {
                if gold.contains(where: { $0.type == prediction.type && $0.range.overlaps(prediction.range) }) {
                    tp[prediction.type, default: 0] += 1
                } else {
                    fp[prediction.type, default: 0] += 1
                    if showErrors { print("FP \(prediction.type) \(excerpt(prediction.range).debugDescription) in \(text.debugDescription)") }
                }
            }
            for span in gold {
                if predicted.contains(where: { $0.type == span.type && $0.range.overlaps(span.range) }) {
                    goldMatched[span.type, default: 0] += 1
                } else {
                    fn[span.type, default: 0] += 1
                    if showErrors { print("FN \(span.type) \(excerpt(span.range).debugDescription) in \(text.debugDescription)") }
                }
            }
        }
        let types = Set(tp.keys).union(fp.keys).union(fn.keys).sorted()
        func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 1 : Double(a) / Double(b) }
        var perType: [(String, Int, Int, Int, Double, Double)] = []
        for type in types {
            let t = tp[type] ?? 0
            let f = fp[type] ?? 0
            let n = fn[type] ?? 0
            let matched = goldMatched[type] ?? 0
            perType.append((type, t, f, n, ratio(t, t + f), ratio(matched, matched + n)))
        }
        let totalTP = tp.values.reduce(0, +)
        let totalFP = fp.values.reduce(0, +)
        let totalMatched = goldMatched.values.reduce(0, +)
        let totalFN = fn.values.reduce(0, +)
        let precision = ratio(totalTP, totalTP + totalFP)
        let recall = ratio(totalMatched, totalMatched + totalFN)
        let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
        if json {
            let entries = perType.map { type, t, f, n, p, r in
                "\"\(type)\":{\"tp\":\(t),\"fp\":\(f),\"fn\":\(n),\"precision\":\(fmt(p)),\"recall\":\(fmt(r))}"
            }
            print(
                "{\"per_type\":{\(entries.joined(separator: ","))},\"micro\":{\"precision\":\(fmt(precision)),"
                    + "\"recall\":\(fmt(recall)),\"f1\":\(fmt(f1))},\"ner_trained_on_this_file\":\(inSample)}")
        } else {
            print("file: \(path)")
            print("type              tp    fp    fn  precision  recall")
            for (type, t, f, n, p, r) in perType {
                print(
                    type.padding(toLength: 16, withPad: " ", startingAt: 0)
                        + String(format: "%5d %5d %5d    %.4f   %.4f", t, f, n, p, r))
            }
            print(String(format: "micro: precision %.4f recall %.4f f1 %.4f", precision, recall, f1))
            if !aliased.isEmpty { print("gold types scored as NER types: \(aliased.sorted().joined(separator: ", "))") }
            if !ignored.isEmpty { print("types no rule detects (not scored): \(ignored.sorted().joined(separator: ", "))") }
            if inSample {
                print(
                    "note: the English NER model was trained on this file's rows, so its NER figures here are in-sample; "
                        + "out-of-fold figures: scripts/ner/english/README.md")
            }
        }
    }

    /// Scalar index of every UTF-8 byte offset of `text` (and of its end).
    static func scalarOffsets(_ text: String) -> [Int] {
        var offsets: [Int] = []
        offsets.reserveCapacity(text.utf8.count + 1)
        var index = 0
        for scalar in text.unicodeScalars {
            for _ in 0..<UTF8.width(scalar) { offsets.append(index) }
            index += 1
        }
        offsets.append(index)
        return offsets
    }

    // MARK: - Binary detection

    struct BinaryCounts {
        var tp = 0, fp = 0, tn = 0, fn = 0
        /// The same counts by the script the text is written in (`latin`, `han`, …: `TextScript`).
        var byLanguage: [String: BinaryCounts] = [:]

        mutating func add(label: Bool, detected: Bool) {
            switch (label, detected) {
            case (true, true): tp += 1
            case (false, true): fp += 1
            case (false, false): tn += 1
            case (true, false): fn += 1
            }
        }

        var precision: Double { tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp) }
        var recall: Double { tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn) }
        var falsePositiveRate: Double { fp + tn == 0 ? 0 : Double(fp) / Double(fp + tn) }
        var accuracy: Double { tp + fp + tn + fn == 0 ? 0 : Double(tp + tn) / Double(tp + fp + tn + fn) }
    }

    private func evaluateBinary(_ samples: [(String, Bool?)], detect: @escaping @Sendable (String) async -> Bool) async
        -> BinaryCounts
    {
        var counts = BinaryCounts()
        let labeled = samples.compactMap { sample in sample.1.map { (sample.0, $0) } }
        let results = await withTaskGroup(of: (Int, Bool).self) { group in
            var next = 0
            var results = [Bool](repeating: false, count: labeled.count)
            // A few rows in flight keep both encoder threads busy without queueing everything at once.
            for _ in 0..<min(4, labeled.count) {
                let index = next
                group.addTask { (index, await detect(labeled[index].0)) }
                next += 1
            }
            while let (index, detected) = await group.next() {
                results[index] = detected
                if next < labeled.count {
                    let index = next
                    group.addTask { (index, await detect(labeled[index].0)) }
                    next += 1
                }
            }
            return results
        }
        for (sample, detected) in zip(labeled, results) {
            if showErrors && sample.1 != detected {
                print((detected ? "FP " : "FN ") + String(sample.0.prefix(300)).debugDescription)
            }
            counts.add(label: sample.1, detected: detected)
            counts.byLanguage[TextScript.of(sample.0).rawValue, default: BinaryCounts()].add(
                label: sample.1, detected: detected)
        }
        return counts
    }

    private func report(_ counts: BinaryCounts, file: String) {
        func figures(_ counts: BinaryCounts) -> String {
            "\"tp\":\(counts.tp),\"fp\":\(counts.fp),\"tn\":\(counts.tn),\"fn\":\(counts.fn),"
                + "\"precision\":\(fmt(counts.precision)),\"recall\":\(fmt(counts.recall)),"
                + "\"false_positive_rate\":\(fmt(counts.falsePositiveRate)),\"accuracy\":\(fmt(counts.accuracy))"
        }
        let languages = counts.byLanguage.sorted { $0.key < $1.key }
        if json {
            let byLanguage = languages.map { "\"\($0.key)\":{\(figures($0.value))}" }.joined(separator: ",")
            print("{" + figures(counts) + ",\"by_language\":{\(byLanguage)}}")
        } else {
            print("file: \(file)")
            print("tp \(counts.tp)  fp \(counts.fp)  tn \(counts.tn)  fn \(counts.fn)")
            print(
                String(
                    format: "precision %.4f  recall (detection rate) %.4f  false-positive rate %.4f  accuracy %.4f",
                    counts.precision, counts.recall, counts.falsePositiveRate, counts.accuracy))
            print("by language (script of the text):")
            for (language, part) in languages {
                print(
                    "  " + language.padding(toLength: 9, withPad: " ", startingAt: 0)
                        + String(
                            format: " %5d rows  recall %.4f  false-positive rate %.4f  accuracy %.4f",
                            part.tp + part.fp + part.tn + part.fn, part.recall, part.falsePositiveRate, part.accuracy))
            }
        }
    }

    private func fmt(_ value: Double) -> String { String(format: "%.4f", value) }
}

/// The labeled TSV files of `airlock eval rules` and `airlock rules train`.
enum LabeledTSV {
    /// Reads a TSV file with a header line; fields may be quoted CSV-style ("" for a quote, tabs and newlines inside).
    static func read(_ path: String) throws -> [[String: String]] {
        let contents: String
        do {
            contents = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(path): \(error.localizedDescription)")
        }
        // The same reader as the cache pair files.
        let records = LabeledPairs.parse(contents)
        guard let header = records.first else { throw ValidationError("\(path): empty file") }
        return records.dropFirst().filter { $0.count == header.count }.map { row in
            Dictionary(uniqueKeysWithValues: zip(header, row))
        }
    }

    /// `1` / `0` (surrounding spaces ignored); anything else is unlabeled.
    static func label(_ value: String?) -> Bool? {
        switch value?.trimmingCharacters(in: .whitespaces) {
        case "1": true
        case "0": false
        default: nil
        }
    }

    /// A refusal column: `1`, `0`, or `partial` counted as `partial` says (nil: skip the row).
    static func refusalLabel(_ value: String?, partial: EvalRulesCommand.PartialLabel) -> Bool? {
        let label = value?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return label == "partial" ? (partial == .skip ? nil : partial == .refusal) : self.label(label)
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
