import AirlockTestSupport
import Embeddings
import Foundation
import Inspection
import Synchronization
import Testing

/// An embedder that returns fixed vectors for known texts (and `fallback` for any other), remembering every call.
final class FixedEmbedder: Embedder {
    let vectors: [String: [Float]]
    let fallback: [Float]
    private let calls = Mutex<[[String]]>([])

    init(_ vectors: [String: [Float]], fallback: [Float]) {
        self.vectors = vectors
        self.fallback = fallback
    }

    var dimensions: Int { fallback.count }

    /// The texts of each `embed` call, in order.
    var embedded: [[String]] { calls.withLock { $0 } }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        calls.withLock { $0.append(texts) }
        return texts.map { vectors[$0] ?? fallback }
    }
}

/// A small seeded generator for synthetic data (tests must not depend on the standard library's random source).
private struct TestGenerator {
    var state: UInt64
    mutating func unit() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53)
    }
    /// Roughly normal (sum of uniforms), mean 0, standard deviation about `scale`.
    mutating func noise(_ scale: Double) -> Double {
        ((0..<12).reduce(0) { sum, _ in sum + unit() } - 6) * scale
    }
}

/// Unit vectors around `+axis` (positives) or `-axis` (negatives) in `dimensions`, with noise.
private func syntheticSet(count: Int, dimensions: Int = 8, seed: UInt64) -> (vectors: [[Float]], labels: [Bool]) {
    var generator = TestGenerator(state: seed)
    var vectors: [[Float]] = []
    var labels: [Bool] = []
    for index in 0..<count {
        let positive = index % 2 == 0
        var vector = (0..<dimensions).map { _ in generator.noise(0.35) }
        vector[0] += positive ? 1 : -1
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        vectors.append(vector.map { Float($0 / norm) })
        labels.append(positive)
    }
    return (vectors, labels)
}

private let classifierPack = """
    pack: demo-injection
    description: Classifier demo.
    rules:
      - id: demo-classifier
        description: Flags what the classifier calls an attack.
        kind: semantic
        scope: prompt
        roles: [user]
        classifier: demo.classifier.json
        action: block
        examples:
          match: ["attack text"]
          no_match: ["benign text"]
    """

/// Probability sigmoid(4) ≈ 0.98 for [1,0,0,0], sigmoid(-4) ≈ 0.02 for [0,1,0,0], 0.5 for the others.
private let demoClassifier = LogisticClassifier(embedding: "test", weights: [4, -4, 0, 0], bias: 0, threshold: 0.9)

private let demoEmbedder = FixedEmbedder(
    [
        "attack text": [1, 0, 0, 0], "benign text": [0, 1, 0, 0], "near the exemplar": [0, 0, 0, 1],
        "block the exemplar": [0, 0, 0, 1],
    ],
    fallback: [0, 0, 1, 0])

@Suite struct ClassifierTrainingTests {
    @Test func learnsWeightsThatClassifyHeldOutPoints() throws {
        let training = syntheticSet(count: 200, seed: 1)
        let held = syntheticSet(count: 100, seed: 2)
        let (classifier, validation) = try LogisticClassifier.train(
            LabeledVectors(vectors: training.vectors, labels: training.labels),
            options: .init(folds: 5, l2: [1e-3], maxFalsePositiveRate: 0.05), embedding: "synthetic", files: [],
            input: "synthetic")
        #expect(classifier.dimensions == 8)
        #expect(classifier.weights[0] > 1, "the informative dimension carries the weight: \(classifier.weights)")
        var counts = DetectionCounts()
        for (vector, label) in zip(held.vectors, held.labels) {
            counts.add(truth: label, predicted: classifier.probability(vector) >= classifier.threshold)
        }
        #expect(counts.recall >= 0.9, "\(counts)")
        #expect(counts.falsePositiveRate <= 0.1, "\(counts)")
        // What `train` records is out of fold, and within the budget it was given.
        #expect(classifier.trained?.crossValidation == validation.report)
        #expect(validation.report.overall.falsePositiveRate <= 0.05)
        #expect(validation.report.overall.tp + validation.report.overall.fn == 100)
    }

    @Test func trainingIsDeterministic() throws {
        let data = syntheticSet(count: 120, seed: 3)
        let set = LabeledVectors(vectors: data.vectors, labels: data.labels)
        let a = try LogisticClassifier.train(set, embedding: "x", files: [], input: "x").classifier
        let b = try LogisticClassifier.train(set, embedding: "x", files: [], input: "x").classifier
        #expect(a == b)
    }

    @Test func keepsThePenaltyWithTheBestOutOfFoldRecall() throws {
        let data = syntheticSet(count: 120, seed: 8)
        let set = LabeledVectors(vectors: data.vectors, labels: data.labels)
        let validation = try LogisticClassifier.crossValidate(
            set, options: .init(l2: [1e-4, 1e-2, 10], maxFalsePositiveRate: 0.02))
        #expect(validation.trials.map(\.l2) == [1e-4, 1e-2, 10])
        let best = validation.trials.map(\.overall.tp).max()
        #expect(validation.report.overall.tp == best)
        #expect(validation.trials.contains { $0.l2 == validation.l2 && $0.threshold == validation.threshold })
        let (classifier, _) = try LogisticClassifier.train(
            set, options: .init(l2: [1e-4, 1e-2, 10], maxFalsePositiveRate: 0.02), embedding: "x", files: [], input: "x"
        )
        #expect(classifier.trained?.l2 == validation.l2)
        #expect(classifier.trained?.l2Trials == validation.trials)
    }

    @Test func foldsAreStratifiedSeededAndKeepDuplicatesTogether() throws {
        var data = syntheticSet(count: 100, seed: 4)
        // Rows 0 and 50 share a text (both positive), as a data set with a repeated row would.
        data.vectors[50] = data.vectors[0]
        var keys = (0..<100).map { "text \($0)" }
        keys[50] = keys[0]
        let set = LabeledVectors(
            vectors: data.vectors, labels: data.labels, sources: (0..<100).map { $0 < 60 ? 0 : 1 },
            sourceNames: ["a", "b"], groupKeys: keys)
        let first = try LogisticClassifier.crossValidate(set, options: .init(folds: 5))
        let again = try LogisticClassifier.crossValidate(set, options: .init(folds: 5))
        let otherSeed = try LogisticClassifier.crossValidate(set, options: .init(folds: 5, seed: 7))
        #expect(first.folds == again.folds)
        #expect(first.scores == again.scores)
        #expect(first.folds != otherSeed.folds)
        #expect(first.folds[0] == first.folds[50])
        for fold in 0..<5 {
            let positives = (0..<100).filter { first.folds[$0] == fold && data.labels[$0] }.count
            #expect((9...11).contains(positives), "fold \(fold): \(positives) positives")
        }
    }

    @Test func thresholdKeepsTheFalsePositiveRateWithinTheBudget() {
        // 10 negatives, 10 positives; two negatives score above most positives.
        let negatives: [Double] = [0.95, 0.85, 0.4, 0.3, 0.3, 0.2, 0.2, 0.1, 0.1, 0.05]
        let positives: [Double] = [0.99, 0.97, 0.9, 0.8, 0.75, 0.7, 0.6, 0.5, 0.45, 0.02]
        let scores = negatives + positives
        let labels = negatives.map { _ in false } + positives.map { _ in true }
        let sources = [Int](repeating: 0, count: scores.count)
        func rates(_ threshold: Double) -> (recall: Double, fpr: Double) {
            var counts = DetectionCounts()
            for (score, label) in zip(scores, labels) { counts.add(truth: label, predicted: score >= threshold) }
            return (counts.recall, counts.falsePositiveRate)
        }
        // No false positive allowed: only the two positives above 0.95.
        let strict = LogisticClassifier.selectThreshold(
            scores: scores, labels: labels, sources: sources, maxFalsePositiveRate: 0)
        #expect(rates(strict).fpr == 0)
        #expect(rates(strict).recall == 0.2)
        #expect(strict > 0.95 && strict < 0.97)
        // One in ten allowed: everything above 0.85, not the 0.85 negative.
        let tenth = LogisticClassifier.selectThreshold(
            scores: scores, labels: labels, sources: sources, maxFalsePositiveRate: 0.1)
        #expect(rates(tenth).fpr <= 0.1)
        #expect(rates(tenth).recall == 0.3)
        // Two in ten: down to 0.45, stopping above the 0.4 negative.
        let fifth = LogisticClassifier.selectThreshold(
            scores: scores, labels: labels, sources: sources, maxFalsePositiveRate: 0.2)
        #expect(rates(fifth).fpr <= 0.2)
        #expect(rates(fifth).recall == 0.9)
        #expect(fifth > 0.4 && fifth < 0.45)
    }

    @Test func thresholdHoldsTheBudgetOnEverySource() {
        // Source 1's only negative scores 0.8: pooled, one false positive in 11 negatives would pass a 10% budget,
        // but source 1 alone would be at 100%.
        let scores: [Double] = [0.9, 0.85, 0.7] + [Double](repeating: 0.1, count: 10) + [0.8]
        let labels = [true, true, true] + [Bool](repeating: false, count: 10) + [false]
        let sources = [0, 0, 0] + [Int](repeating: 0, count: 10) + [1]
        let threshold = LogisticClassifier.selectThreshold(
            scores: scores, labels: labels, sources: sources, maxFalsePositiveRate: 0.1)
        #expect(threshold > 0.8 && threshold <= 0.85)
    }

    @Test func jsonRoundTrip() throws {
        let data = syntheticSet(count: 60, seed: 5)
        let files = [TrainingRecord.DataFile(name: "a.tsv", contents: Data("abc".utf8), rows: 60)]
        var (classifier, _) = try LogisticClassifier.train(
            LabeledVectors(vectors: data.vectors, labels: data.labels, sourceNames: ["a.tsv"]), embedding: "synthetic",
            files: files, input: "text")
        classifier.trained?.nearestExemplarBaseline = DetectionReport(
            rule: "some-rule", threshold: 0.62,
            files: [.init(name: "a.tsv", counts: DetectionCounts(tp: 1, fp: 0, tn: 30, fn: 29))])
        let encoded = classifier.encoded()
        let decoded = try LogisticClassifier.decode(encoded)
        #expect(decoded == classifier)
        #expect(files[0].sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(object["format"] as? String == "airlock-logistic/1")
        let trained = try #require(object["trained"] as? [String: Any])
        let validation = try #require(trained["cross_validation"] as? [String: Any])
        let overall = try #require(validation["overall"] as? [String: Any])
        #expect(Set(overall.keys) == ["tp", "fp", "tn", "fn", "precision", "recall", "false_positive_rate"])
        #expect(trained["nearest_exemplar_baseline"] != nil)
    }

    @Test func rejectsMalformedFiles() {
        #expect(throws: InspectionError.self) { try LogisticClassifier.decode(Data("{}".utf8)) }
        var wrongFormat = demoClassifier
        wrongFormat.format = "other/2"
        #expect(throws: InspectionError.self) { try LogisticClassifier.decode(wrongFormat.encoded()) }
        var wrongLength = demoClassifier
        wrongLength.dimensions = 5
        #expect(throws: InspectionError.self) { try LogisticClassifier.decode(wrongLength.encoded()) }
    }

    @Test func refusesDataWithOneClass() {
        let data = syntheticSet(count: 20, seed: 6)
        #expect(throws: InspectionError.self) {
            _ = try LogisticClassifier.crossValidate(
                LabeledVectors(vectors: data.vectors, labels: data.labels.map { _ in true }))
        }
    }
}

@Suite struct ClassifierRuleTests {
    private func directory(pack: String = classifierPack, classifier: LogisticClassifier? = demoClassifier)
        throws -> String
    {
        let directory = try temporaryRules(["demo.yaml": pack])
        if let classifier {
            try classifier.encoded().write(to: URL(fileURLWithPath: directory + "/demo.classifier.json"))
        }
        return directory
    }

    @Test func parserRejectsAMissingClassifierFileWithFileAndLine() throws {
        let directory = try directory(classifier: nil)
        let errors = RuleSet.check(directory: directory).errors
        let error = try #require(errors.first)
        #expect(error.code == .invalidClassifier)
        #expect(error.file == directory + "/demo.yaml")
        #expect(error.line == 9)
        #expect(error.description.hasPrefix(directory + "/demo.yaml:9:"))
        #expect(error.message.contains("demo.classifier.json"))
    }

    @Test func parserRejectsAWrongDimensionFileWithFileAndLine() async throws {
        var inconsistent = demoClassifier
        inconsistent.dimensions = 384
        let directory = try directory(classifier: inconsistent)
        let error = try #require(RuleSet.check(directory: directory).errors.first)
        #expect(error.code == .invalidClassifier)
        #expect(error.file == directory + "/demo.yaml")
        #expect(error.line == 9)
        #expect(error.message.contains("4 weights for 384 dimensions"))

        // A consistent file of the wrong size for the embedding is caught when the rules compile.
        let other = try self.directory(
            classifier: LogisticClassifier(embedding: "test", weights: [1, 2, 3], bias: 0, threshold: 0.5))
        #expect(RuleSet.check(directory: other).errors.isEmpty)
        do {
            _ = try await RuleSet.load(directory: other, embedder: demoEmbedder, logger: quietLogger())
            Issue.record("a 3-dimensional classifier must not load with a 4-dimensional embedding")
        } catch {
            let error = try #require(error.errors.first)
            #expect(error.code == .invalidClassifier)
            #expect(error.file == other + "/demo.yaml")
            #expect(error.line == 9)
            #expect(error.message.contains("3 dimensions but the embedding has 4"))
        }
    }

    @Test func classifierKeysAreChecked() throws {
        let thresholdWithoutExemplars = classifierPack.replacingOccurrences(
            of: "    action: block", with: "    threshold: 0.5\n    action: block")
        let errors = RuleSet.check(directory: try directory(pack: thresholdWithoutExemplars)).errors
        #expect(errors.contains { $0.line == 10 && $0.message.contains("classifier_threshold") })

        let neither = classifierPack.replacingOccurrences(of: "    classifier: demo.classifier.json\n", with: "")
        let neitherErrors = RuleSet.check(directory: try directory(pack: neither)).errors
        #expect(neitherErrors.contains { $0.message.contains("a `classifier`, or both") })

        let onRegex = RulePackLoadingTests.valid.replacingOccurrences(
            of: "    action: redact", with: "    classifier: demo.classifier.json\n    action: redact")
        let regexErrors = RuleSet.check(directory: try directory(pack: onRegex)).errors
        #expect(regexErrors.contains { $0.message.contains("`classifier` does not apply to a regex rule") })

        let badOverride = classifierPack.replacingOccurrences(
            of: "    action: block", with: "    classifier_threshold: 1.5\n    action: block")
        let overrideErrors = RuleSet.check(directory: try directory(pack: badOverride)).errors
        #expect(overrideErrors.contains { $0.line == 10 && $0.message.contains("classifier_threshold") })
    }

    @Test func aRuleWithAClassifierMatchesThroughIt() async throws {
        let embedder = FixedEmbedder(demoEmbedder.vectors, fallback: demoEmbedder.fallback)
        let ruleSet = try await RuleSet.load(directory: try directory(), embedder: embedder, logger: quietLogger())
        let attack = await ruleSet.inspectPrompt(messages: [.init(role: "user", content: "  attack text\n")])
        #expect(attack.decision == .block(rules: ["demo-classifier"]))
        let finding = try #require(attack.findings.first)
        #expect(abs(finding.score - 1 / (1 + exp(-4.0))) < 1e-6, "the score is the probability")
        // A short text is one segment and one whole: embedded once.
        #expect(embedder.embedded.last == ["attack text"])

        let benign = await ruleSet.inspectPrompt(messages: [.init(role: "user", content: "benign text")])
        #expect(benign.decision == .allow)
        // 0.5 is below the file's threshold of 0.9 …
        let unknown = await ruleSet.inspectPrompt(messages: [.init(role: "user", content: "something else")])
        #expect(unknown.decision == .allow)
        // … and above a `classifier_threshold` of 0.4, which overrides it and changes the rules version.
        let lowered = classifierPack.replacingOccurrences(
            of: "    action: block", with: "    classifier_threshold: 0.4\n    action: block")
        let loweredSet = try await RuleSet.load(
            directory: try directory(pack: lowered), embedder: embedder, logger: quietLogger())
        let nowBlocked = await loweredSet.inspectPrompt(messages: [.init(role: "user", content: "something else")])
        #expect(nowBlocked.decision.isBlocked)
        #expect(loweredSet.version != ruleSet.version)
    }

    @Test func exemplarsAndClassifierTogetherMatchOnEither() async throws {
        let both = classifierPack.replacingOccurrences(
            of: "    action: block",
            with: "    threshold: 0.9\n    exemplars: [\"block the exemplar\"]\n    action: block")
        let ruleSet = try await RuleSet.load(
            directory: try directory(pack: both), embedder: demoEmbedder, logger: quietLogger())
        let byExemplar = await ruleSet.inspectPrompt(messages: [.init(role: "user", content: "near the exemplar")])
        #expect(byExemplar.decision.isBlocked)
        #expect(byExemplar.findings.first?.score == 1)
        let byClassifier = await ruleSet.inspectPrompt(messages: [.init(role: "user", content: "attack text")])
        #expect(byClassifier.decision.isBlocked)
        let neither = await ruleSet.inspectPrompt(messages: [.init(role: "user", content: "benign text")])
        #expect(neither.decision == .allow)
    }

    @Test func refusalClassifierReadsTheOpening() async throws {
        let refusalPack = """
            pack: demo-refusal
            description: Refusal classifier demo.
            purpose: refusal
            rules:
              - id: demo-refusal-classifier
                description: A declining answer, by the classifier.
                kind: semantic
                scope: output
                classifier: demo.classifier.json
                action: flag
                examples:
                  match: ["attack text"]
                  no_match: ["benign text"]
            """
        let long = "attack text" + String(repeating: " and more", count: 100)
        let opening = String(long.prefix(400))
        let embedder = FixedEmbedder(
            ["attack text": [1, 0, 0, 0], opening: [1, 0, 0, 0], "benign text": [0, 1, 0, 0]], fallback: [0, 0, 1, 0])
        let directory = try directory(pack: refusalPack)
        let ruleSet = try await RuleSet.load(directory: directory, embedder: embedder, logger: quietLogger())
        let verdict = try #require(await ruleSet.detectRefusal(text: long))
        #expect(verdict.source == .classifier)
        #expect(verdict.ruleID == "demo-refusal-classifier")
        #expect(embedder.embedded.last == [opening])
        #expect(await ruleSet.detectRefusal(text: "benign text") == nil)

        let report = await RuleSet.testExamples(
            packs: try RuleSet.parsePacks(directory: directory), embedder: embedder)
        #expect(report.failures.isEmpty, "\(report.failures)")
        #expect(report.examplesRun == 2)
    }

    @Test func examplesOfAClassifierRuleRunAndFailWithTheProbability() async throws {
        let wrong = classifierPack.replacingOccurrences(
            of: "no_match: [\"benign text\"]", with: "no_match: [\"attack text\"]")
        let packs = try RuleSet.parsePacks(directory: try directory(pack: wrong))
        let report = await RuleSet.testExamples(packs: packs, embedder: demoEmbedder)
        #expect(report.examplesRun == 2)
        let failure = try #require(report.failures.first)
        #expect(failure.code == .exampleFailed)
        #expect(failure.message.contains("classifier probability 0.982"))
    }

    @Test func retrainingChangesTheVersionAndTriggersAReload() async throws {
        let directory = try directory()
        let store = RuleSetStore(
            try await RuleSet.load(directory: directory, embedder: demoEmbedder, logger: quietLogger()),
            logger: quietLogger())
        let before = store.current.version
        #expect(await store.reloadIfChanged() == nil)
        var retrained = demoClassifier
        retrained.bias = 0.5
        try retrained.encoded().write(to: URL(fileURLWithPath: directory + "/demo.classifier.json"))
        let reload = try #require(await store.reloadIfChanged())
        #expect((try? reload.get()) != nil)
        #expect(store.current.version != before)
    }
}
