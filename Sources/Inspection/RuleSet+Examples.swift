import Foundation
public import Embeddings
public import NamedEntities
public import Patterns

/// The outcome of running every rule's own examples.
public struct RuleExampleReport: Sendable {
    public var rulesTested = 0
    public var examplesRun = 0
    /// Rules whose examples could not run here (guard rules, which need their endpoint).
    public var skippedRules: [String] = []
    public var failures: [InspectionError] = []
}

extension RuleSet {
    /// Runs the `examples` of every rule of `packs`, enabled or not: each `match` entry must be found by its rule
    /// alone (validators, context and thresholds included), each `no_match` entry must not. Semantic rules need
    /// `embedder` and NER rules `recognizer` (the model itself, not a stand-in); without one they fail.
    public static func testExamples(
        packs: [RulePackDefinition], embedder: (any Embedder)?, recognizer: (any EntityRecognizer)? = nil,
        limits: Pattern.Limits = .init()
    ) async -> RuleExampleReport {
        var report = RuleExampleReport()
        for pack in packs {
            for rule in pack.rules {
                report.rulesTested += 1
                switch rule.kind {
                case .guard:
                    report.skippedRules.append(rule.id)
                case .ner:
                    guard let recognizer else {
                        report.failures.append(
                            unavailable(rule, .nerUnavailable, "ner examples need the NER model (models/lac-2.1.2, `make models`)"))
                        continue
                    }
                    let compiled = CompiledNERRule(definition: rule, pack: pack.name)
                    for (example, expected) in rule.labelledExamples {
                        report.examplesRun += 1
                        var text = example
                        let entities = recognizer.entities(in: example)
                        let hits = text.withUTF8 { compiled.hits(entities, in: $0) }
                        if hits.isEmpty == expected {
                            let bytes = Array(example.utf8)
                            let seen = entities.map {
                                "\($0.type.rawValue) \(String(decoding: bytes[$0.range], as: UTF8.self).debugDescription) "
                                    + String(format: "%.2f", $0.score)
                            }
                            report.failures.append(
                                exampleError(
                                    rule, example, expected,
                                    "the model found " + (seen.isEmpty ? "nothing" : seen.joined(separator: ", "))))
                        }
                    }
                case .lexical:
                    let compiled: CompiledLexicalRule
                    do {
                        compiled = try CompiledLexicalRule(definition: rule, pack: pack.name, limits: limits)
                    } catch {
                        report.failures += error.errors
                        continue
                    }
                    for (example, expected) in rule.labelledExamples {
                        report.examplesRun += 1
                        let probability = compiled.probability(example)
                        if (probability >= compiled.threshold) != expected {
                            report.failures.append(
                                exampleError(
                                    rule, example, expected,
                                    "probability \(String(format: "%.3f", probability)), threshold "
                                        + String(format: "%.4f", compiled.threshold)))
                        }
                    }
                case .regex:
                    let compiled: CompiledRegexRule
                    do {
                        compiled = try CompiledRegexRule(definition: rule, pack: pack.name, limits: limits)
                    } catch {
                        report.failures += error.errors
                        continue
                    }
                    let group: ScanGroup
                    do {
                        group = try ScanGroup(members: [compiled], limits: limits)
                    } catch {
                        continue
                    }
                    for (example, expected) in rule.labelledExamples {
                        report.examplesRun += 1
                        var text = example
                        let result = text.withUTF8 { bytes in
                            var result = RegexScanResult()
                            group.scan(bytes, from: 0, mode: .complete, include: { _ in true }, into: &result)
                            return result
                        }
                        if let failure = result.failures.first {
                            report.failures.append(exampleError(rule, example, expected, "pattern failed: \(failure.error)"))
                        } else if result.hits.isEmpty == expected {
                            report.failures.append(exampleError(rule, example, expected, nil))
                        }
                    }
                case .semantic:
                    guard let embedder else {
                        report.failures.append(
                            unavailable(rule, .embeddingUnavailable, "semantic examples need the embedding model"))
                        continue
                    }
                    if let classifier = rule.classifier, classifier.model.dimensions != embedder.dimensions {
                        report.failures.append(
                            classifier.dimensionError(embedding: embedder.dimensions, ruleID: rule.id))
                        continue
                    }
                    let examples = rule.labelledExamples
                    // Each example as the rule reads it in service: an answer's opening for the refusal pack, the
                    // trimmed text otherwise.
                    let inputs = examples.map { example, _ in
                        pack.purpose == .refusal
                            ? String(example.prefix(refusalOpeningCharacters))
                            : example.trimmingCharacters(in: .whitespacesAndNewlines)
                    }
                    do {
                        let exemplarVectors = rule.exemplars.isEmpty ? [] : try await embedder.embed(rule.exemplars)
                        let compiled = CompiledSemanticRule(definition: rule, pack: pack.name, exemplars: exemplarVectors)
                        let vectors = try await embedder.embed(inputs)
                        for ((example, expected), vector) in zip(examples, vectors) {
                            report.examplesRun += 1
                            let matched = compiled.evidence(pieces: [vector], whole: vector) != nil
                            if matched != expected {
                                let (similarity, probability) = compiled.scores(pieces: [vector], whole: vector)
                                var detail: [String] = []
                                if let similarity {
                                    detail.append(
                                        "similarity \(String(format: "%.3f", similarity)), threshold \(rule.threshold)")
                                }
                                if let probability, let classifier = rule.classifier {
                                    detail.append(
                                        "classifier probability \(String(format: "%.3f", probability)), threshold "
                                            + String(format: "%.4f", classifier.threshold))
                                }
                                report.failures.append(
                                    exampleError(rule, example, expected, detail.joined(separator: "; ")))
                            }
                        }
                    } catch {
                        report.failures.append(
                            InspectionError(
                                .embeddingUnavailable, "cannot embed: \(error)", file: rule.location.file,
                                line: rule.location.line, ruleID: rule.id))
                    }
                }
            }
        }
        return report
    }

    /// A rule whose examples cannot run because its model is missing.
    private static func unavailable(_ rule: RuleDefinition, _ code: InspectionError.Code, _ message: String)
        -> InspectionError
    {
        InspectionError(code, message, file: rule.location.file, line: rule.location.line, ruleID: rule.id)
    }

    private static func exampleError(_ rule: RuleDefinition, _ example: String, _ expected: Bool, _ detail: String?)
        -> InspectionError
    {
        var message = expected ? "should match but does not: \(example.debugDescription)"
            : "should not match but does: \(example.debugDescription)"
        if let detail { message += " (\(detail))" }
        return InspectionError(
            .exampleFailed, message, file: rule.location.file, line: rule.location.line, ruleID: rule.id)
    }
}

extension RuleDefinition {
    /// The rule's examples, each with whether it should match: the `match` ones, then the `no_match` ones.
    var labelledExamples: [(String, Bool)] {
        matchExamples.map { ($0, true) } + noMatchExamples.map { ($0, false) }
    }
}
