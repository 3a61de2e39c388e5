import ArgumentParser
import Foundation
import Inspection
import Patterns

extension RulesTrainCommand {
    /// `--lexical RULE`: fits the classifier a lexical rule names over its words and cues, cross-validated, with the
    /// threshold chosen for the pack as it runs (the pack's other phrase rules and this classifier together).
    func trainLexical(ruleID: String) async throws {
        let started = ContinuousClock.now
        let (rows, dataFiles) = try readFiles(refusal)
        let names = dataFiles.map(\.name)

        // The classifier file may not exist yet: the packs are read without classifiers.
        let packs: [RulePackDefinition]
        do {
            packs = try RuleSet.parsePacks(directory: rules, readClassifiers: false)
        } catch {
            throw ValidationError(error.description)
        }
        guard let home = packs.first(where: { $0.rules.contains { $0.id == ruleID } }),
            let rule = home.rules.first(where: { $0.id == ruleID }), rule.kind == .lexical
        else {
            throw ValidationError("no lexical rule `\(ruleID)` in \(rules)")
        }
        var cues: [(id: String, pattern: Pattern)] = []
        for cue in rule.cues {
            do {
                cues.append(
                    (cue.id, try Pattern(cue.pattern.text, options: rule.caseInsensitive ? [.caseInsensitive] : [])))
            } catch {
                throw ValidationError("\(cue.pattern.location): cue `\(cue.id)`: \(error.message)")
            }
        }

        // The vocabulary: words and pairs in at least --min-count openings (labels are not looked at).
        var documentFrequency: [String: Int] = [:]
        for row in rows {
            let opening = LexicalFeatures.opening(ofBody: LexicalFeatures.body(of: row.original))
            for gram in LexicalFeatures.grams(opening: opening) { documentFrequency[gram, default: 0] += 1 }
        }
        let vocabulary = documentFrequency.filter { $0.value >= minCount }.keys.sorted()
        let featureNames =
            vocabulary + cues.map { "opening:" + $0.id } + cues.map { "body:" + $0.id } + [LexicalFeatures.lengthFeature]
        let vectors = rows.map { LexicalFeatures.vector($0.original, names: featureNames, cues: cues) }

        // The rest of the pack as it runs without an embedding: its enabled phrase (regex) rules.
        let others = try await compile(packs, embedder: nil) { pack, candidate in
            pack.name == home.name && candidate.enabled && candidate.kind == .regex
        }
        let flagged = rows.map { others.isRefusal(text: $0.original) }

        let data = LabeledVectors(
            vectors: vectors, labels: rows.map(\.label), sources: rows.map(\.source), sourceNames: names,
            groupKeys: rows.map(\.original), flaggedElsewhere: flagged)
        let options = LogisticClassifier.TrainingOptions(
            folds: folds, l2: l2.isEmpty ? [1e-3, 3e-3, 1e-2, 3e-2] : l2,
            maxFalsePositiveRate: maxFalsePositiveRate, seed: seed)
        var classifier: LogisticClassifier
        let validation: LogisticClassifier.CrossValidation
        do {
            (classifier, validation) = try LogisticClassifier.train(
                data, options: options, embedding: "lexical", files: dataFiles,
                input: "response: words and pairs of the first \(LexicalFeatures.openingCharacters) characters "
                    + "(\(vocabulary.count) seen in at least \(minCount) answers), \(cues.count) cues on the opening "
                    + "and on the first \(LexicalFeatures.bodyCharacters), log length")
        } catch {
            throw ValidationError("\(error)")
        }
        classifier.features = featureNames
        let outOfFold = validation.scores.map { $0 >= validation.threshold }
        let labels = rows.map(\.label)
        let sources = rows.map(\.source)
        classifier.trained?.packWithoutClassifier = DetectionReport(
            rule: "pack \(home.name) phrase rules", threshold: nil, names: names, sources: sources, labels: labels,
            predicted: flagged)
        classifier.trained?.packWithClassifierOutOfFold = DetectionReport(
            rule: "pack \(home.name) phrase rules + \(ruleID)", threshold: validation.threshold, names: names,
            sources: sources, labels: labels, predicted: zip(flagged, outOfFold).map { $0 || $1 })

        try write(classifier, rows: rows, started: started)
    }
}
