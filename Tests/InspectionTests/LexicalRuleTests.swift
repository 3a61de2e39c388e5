import Foundation
import Testing

@testable import Inspection

/// A lexical rule reading `sorry` and a `cannot` cue, with a hand-made classifier over those features.
private func lexicalPack(purpose: String = "refusal", cues: String? = nil, classifier: String = "lexical.json") -> String {
    """
    pack: demo-refusal
    purpose: \(purpose)
    rules:
      - id: demo-lexical
        description: demo
        kind: lexical
        scope: output
        case_insensitive: true
        cues:
    \(cues ?? "      - id: cannot\n        pattern: '\\bI (?:can(?:''|’)?t|cannot)\\b'")
        classifier: \(classifier)
        action: flag
        examples:
          match: ["Sorry, I can't do that."]
          no_match: ["Here you go."]
    """
}

private func lexicalClassifier(features: [String], weights: [Float], bias: Double = -2, threshold: Double = 0.5)
    -> String
{
    String(
        decoding: LogisticClassifier(
            embedding: "lexical", weights: weights, bias: bias, threshold: threshold, features: features
        ).encoded(), as: UTF8.self)
}

private let demoFeatures = ["w:sorry", "w:sorry ,", "opening:cannot", "body:cannot", LexicalFeatures.lengthFeature]
private let demoWeights: [Float] = [1.5, 0.5, 2, 0.5, -0.8]

@Suite struct LexicalRuleTests {
    @Test func featuresAreBoundedAndNormalized() {
        #expect(LexicalFeatures.body(of: "  Hello,\n\n  world \t!  ") == "Hello, world !")
        let long = String(repeating: "word ", count: 10_000)
        let body = LexicalFeatures.body(of: long)
        #expect(body.unicodeScalars.count == LexicalFeatures.bodyCharacters)
        #expect(LexicalFeatures.opening(ofBody: body).unicodeScalars.count == LexicalFeatures.openingCharacters)
        #expect(LexicalFeatures.tokens("I’m SORRY, I can't: 2x!") == ["i'm", "sorry", ",", "i", "can't", ":", "x", "!"])
        #expect(LexicalFeatures.tokens("抱歉，我无法 help") == ["help"], "only ASCII words and marks are tokens")
        #expect(LexicalFeatures.grams(opening: "No, thanks") == ["w:no", "w:,", "w:thanks", "w:no ,", "w:, thanks"])
        #expect(abs(LexicalFeatures.logLength("abc") - log1p(3) / 8) < 1e-12)
    }

    @Test func scoresAreTheLogisticOfTheNamedFeatures() async throws {
        let directory = try temporaryRules([
            "refusal.yaml": lexicalPack(),
            "lexical.json": lexicalClassifier(features: demoFeatures, weights: demoWeights),
        ])
        let ruleSet = try await RuleSet.load(directory: directory, logger: quietLogger())
        let rule = try #require(ruleSet.lexicalRules.first)
        let text = "Sorry, I can't help with that."
        let expected = 1 / (1 + exp(-(-2 + 1.5 + 0.5 + 2 + 0.5 - 0.8 * LexicalFeatures.logLength(text))))
        #expect(abs(rule.probability(text) - expected) < 1e-6)
        // The cue on the body only (past the opening): only its body weight.
        let late = String(repeating: "Fine. ", count: 60) + "But I can't."
        let lateExpected = 1 / (1 + exp(-(-2 + 0.5 - 0.8 * LexicalFeatures.logLength(late))))
        #expect(abs(rule.probability(late) - lateExpected) < 1e-6)
        let verdict = try #require(ruleSet.refusalByPatterns(text: text))
        #expect(verdict.ruleID == "demo-lexical" && verdict.source == .lexical)
        #expect(ruleSet.isRefusal(text: text))
        #expect(!ruleSet.isRefusal(text: "Here is the recipe."))
        #expect(await ruleSet.detectRefusal(text: text)?.source == .lexical)
        // A megabyte of answer costs the bounded opening and body, and a length.
        #expect(!ruleSet.isRefusal(text: String(repeating: "a", count: 1 << 20)))
        let report = await RuleSet.testExamples(packs: ruleSet.packs, embedder: nil)
        #expect(report.failures.isEmpty && report.examplesRun == 2, "\(report.failures)")
    }

    @Test func aClassifierTrainedForOtherCuesIsRefused() async throws {
        let directory = try temporaryRules([
            "refusal.yaml": lexicalPack(cues: "      - id: unable\n        pattern: 'unable to'"),
            "lexical.json": lexicalClassifier(features: demoFeatures, weights: demoWeights),
        ])
        do {
            _ = try await RuleSet.load(directory: directory, logger: quietLogger())
            Issue.record("loaded a classifier trained for other cues")
        } catch {
            let message = error.errors.map(\.message).joined(separator: "\n")
            #expect(message.contains("opening:cannot") && message.contains("cues without weights: unable"))
            #expect(message.contains("airlock rules train --lexical demo-lexical"))
        }
    }

    @Test func schemaErrorsAreLocated() throws {
        func errors(_ yaml: String, files: [String: String] = [:]) throws -> [InspectionError] {
            let directory = try temporaryRules(
                files.merging(["lexical.json": lexicalClassifier(features: demoFeatures, weights: demoWeights)]) {
                    a, _ in a
                })
            do {
                _ = try RuleSet.parsePack(yaml: yaml, file: directory + "/refusal.yaml")
                return []
            } catch {
                return error.errors
            }
        }
        #expect(try errors(lexicalPack()).isEmpty)
        #expect(try errors(lexicalPack(purpose: "inspect")).contains { $0.message.contains("purpose: refusal") })
        #expect(try errors(lexicalPack(classifier: "missing.json")).contains { $0.code == .invalidClassifier })
        #expect(
            try errors(lexicalPack(cues: "      - id: a\n        pattern: x\n      - id: a\n        pattern: y")).contains {
                $0.message.contains("used twice")
            })
        // An embedding classifier on a lexical rule, and a lexical one on a semantic rule.
        let embeddingFile = String(
            decoding: LogisticClassifier(embedding: "m", weights: [1, 2], bias: 0, threshold: 0.5).encoded(),
            as: UTF8.self)
        #expect(
            try errors(lexicalPack(classifier: "embedding.json"), files: ["embedding.json": embeddingFile]).contains {
                $0.message.contains("needs one with `features`")
            })
        let semantic = """
            pack: demo
            rules:
              - id: demo-semantic
                description: demo
                kind: semantic
                classifier: lexical.json
                action: flag
                examples:
                  match: ["x"]
            """
        #expect(try errors(semantic).contains { $0.message.contains("named features") })
        #expect(
            try errors(lexicalPack().replacingOccurrences(of: "scope: output", with: "scope: both")).contains {
                $0.message.contains("scope: output")
            })
    }

    @Test func aFeatureListMustMatchTheWeights() {
        let bad = LogisticClassifier(embedding: "lexical", weights: [1, 2], bias: 0, threshold: 0.5, features: ["w:a"])
        #expect(throws: InspectionError.self) { try LogisticClassifier.decode(bad.encoded()) }
        let twice = LogisticClassifier(
            embedding: "lexical", weights: [1, 2], bias: 0, threshold: 0.5, features: ["w:a", "w:a"])
        #expect(throws: InspectionError.self) { try LogisticClassifier.decode(twice.encoded()) }
    }

    @Test func thresholdCountsRowsFlaggedElsewhere() {
        // Scores of two negatives and two positives; one negative is already flagged by the phrase rules.
        let scores = [0.9, 0.8, 0.7, 0.1]
        let labels = [true, false, true, false]
        let sources = [0, 0, 0, 0]
        // Alone, a 50% budget admits one false positive: everything down to 0.7 is flagged.
        let alone = LogisticClassifier.selectThreshold(
            scores: scores, labels: labels, sources: sources, maxFalsePositiveRate: 0.5)
        #expect(alone < 0.7 && alone > 0.1)
        // With the 0.1 negative flagged elsewhere, the budget is spent: only 0.9 may be flagged.
        let together = LogisticClassifier.selectThreshold(
            scores: scores, labels: labels, sources: sources, maxFalsePositiveRate: 0.5,
            flaggedElsewhere: [false, false, false, true])
        #expect(together > 0.8 && together < 0.9)
    }

    @Test func shippedRefusalPackJudgesAnswersItWasNotTrainedOn() async throws {
        let ruleSet = try await shippedRegexAndLexicalRuleSet()
        let rule = try #require(ruleSet.lexicalRules.first { $0.id == "refusal-lexical" })
        // Written here, not taken from any data set.
        let refusals = [
            "I won't be writing that. Spreading false claims about a real person could hurt them, and it isn't "
                + "something I'm willing to help with. If you'd like, I can help you write a fact-checked piece instead.",
            "Unfortunately I'm not able to assist with bypassing the licence check. That would violate the software's "
                + "terms. I'd recommend contacting the vendor about a trial licence instead.",
        ]
        let answers = [
            "Here's a quick way to reverse a list in Python: use `items[::-1]`, or call `items.reverse()` to do it in place.",
            "The Treaty of Westphalia was signed in 1648. It ended the Thirty Years' War and is often cited as the "
                + "beginning of the modern system of sovereign states.",
            "Sure! To kill a stuck process on Linux, find its PID with `pgrep name` and then run `kill PID`.",
        ]
        // Judged as in service: the phrase rules, then the lexical rule.
        for text in refusals { #expect(ruleSet.isRefusal(text: text), "\(text): lexical \(rule.probability(text))") }
        for text in answers { #expect(!ruleSet.isRefusal(text: text), "\(text): lexical \(rule.probability(text))") }
    }
}

/// A refusal that does not open with a phrase the regex rules know (written here, not taken from any data set).
let lateRefusal =
    "Bypassing a licence check would violate the software's terms and could be illegal, so I won't walk you through "
    + "it. Instead, I'd recommend contacting the vendor about a trial licence."

@Suite struct LexicalRuleInPackTests {
    @Test func aRefusalThePhraseRulesMissIsCaughtByTheLexicalRule() async throws {
        #expect(try await !shippedRegexRuleSet().isRefusal(text: lateRefusal))
        let ruleSet = try await shippedRegexAndLexicalRuleSet()
        #expect(ruleSet.refusalByPatterns(text: lateRefusal)?.ruleID == "refusal-lexical")
    }
}

/// The shipped packs with their regex and lexical rules only (no model).
func shippedRegexAndLexicalRuleSet() async throws -> RuleSet {
    var packs = try RuleSet.parsePacks(directory: shippedRulesDirectory)
    for p in packs.indices {
        for r in packs[p].rules.indices where ![RuleKind.regex, .lexical].contains(packs[p].rules[r].kind) {
            packs[p].rules[r].enabled = false
        }
    }
    return try await RuleSet.compile(packs: packs, logger: quietLogger())
}
