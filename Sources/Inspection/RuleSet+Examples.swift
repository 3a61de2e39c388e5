import Foundation
public import Embeddings
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
    /// `embedder`; without one they fail.
    public static func testExamples(
        packs: [RulePackDefinition], embedder: (any Embedder)?, limits: Pattern.Limits = .init()
    ) async -> RuleExampleReport {
        var report = RuleExampleReport()
        for pack in packs {
            for rule in pack.rules {
                report.rulesTested += 1
                switch rule.kind {
                case .guard:
                    report.skippedRules.append(rule.id)
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
                    for (example, expected) in rule.matchExamples.map({ ($0, true) }) + rule.noMatchExamples.map({ ($0, false) }) {
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
                            InspectionError(
                                .embeddingUnavailable, "semantic examples need the embedding model",
                                file: rule.location.file, line: rule.location.line, ruleID: rule.id))
                        continue
                    }
                    let examples = rule.matchExamples.map { ($0, true) } + rule.noMatchExamples.map { ($0, false) }
                    do {
                        let exemplarVectors = try await embedder.embed(rule.exemplars)
                        let compiled = CompiledSemanticRule(definition: rule, pack: pack.name, exemplars: exemplarVectors)
                        let vectors = try await embedder.embed(examples.map(\.0))
                        for ((example, expected), vector) in zip(examples, vectors) {
                            report.examplesRun += 1
                            let similarity = Double(compiled.similarity(vector))
                            if (similarity >= rule.threshold) != expected {
                                report.failures.append(exampleError(
                                    rule, example, expected, "similarity \(String(format: "%.3f", similarity)), threshold \(rule.threshold)"))
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
