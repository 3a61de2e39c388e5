import Embeddings
import Foundation
@testable import Inspection
import Synchronization
import Testing

/// Maps any text containing "attack text" to the attack direction; everything else to a benign one. Records what it
/// was asked to embed.
private final class ContainsEmbedder: Embedder {
    private let calls = Mutex<[String]>([])
    var dimensions: Int { 4 }
    var embedded: [String] { calls.withLock { $0 } }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        calls.withLock { $0 += texts }
        return texts.map { $0.contains("attack text") ? [1, 0, 0, 0] : [0, 0, 1, 0] }
    }
}

private let exemplarPack = """
    pack: demo
    description: Demo.
    rules:
      - id: demo-exemplar
        description: An attack, by its exemplar.
        kind: semantic
        scope: prompt
        roles: [user, tool]
        threshold: 0.9
        exemplars: ["attack text"]
        action: block
        examples:
          match: ["attack text"]
          no_match: ["benign text"]
      - id: demo-email
        description: E-mail addresses, tokenized.
        kind: regex
        scope: both
        roles: [user, tool]
        patterns: ['[a-z]+@[a-z]+\\.com']
        entity: EMAIL
        action: tokenize
        examples:
          match: ["mail jane@example.com"]
          no_match: ["no address"]
    """

private let classifierPack = """
    pack: demo
    description: Demo.
    rules:
      - id: demo-classifier
        description: An attack, by the classifier.
        kind: semantic
        scope: prompt
        roles: [user]
        classifier: demo.classifier.json
        action: block
        examples:
          match: ["attack text"]
          no_match: ["benign text"]
    """

/// Semantic rules judge every text of their roles, every turn, long texts in full, and read the prompt as the regex
/// rules left it.
@Suite struct WholePromptTests {
    static func filler(_ day: Int) -> String {
        "On day \(day) the weather report says it will be mild and dry for most of the coming week."
    }

    @Test func everyTurnOfTheRulesRolesIsJudged() async throws {
        let embedder = ContainsEmbedder()
        let rules = try await RuleSet.load(
            directory: try temporaryRules(["demo.yaml": exemplarPack]), embedder: embedder, logger: quietLogger())
        let earlier = await rules.inspectPrompt(messages: [
            InspectedMessage(role: "user", content: "Please do this attack text now."),
            InspectedMessage(role: "assistant", content: "OK."),
            InspectedMessage(role: "tool", content: "Result: fine."),
            InspectedMessage(role: "user", content: "Thanks."),
        ])
        #expect(earlier.decision == .block(rules: ["demo-exemplar"]))
        let inATool = await rules.inspectPrompt(messages: [
            InspectedMessage(role: "tool", content: "attack text"), InspectedMessage(role: "user", content: "Go on."),
        ])
        #expect(inATool.decision == .block(rules: ["demo-exemplar"]))
        // A role the rule does not list is not read.
        let assistant = await rules.inspectPrompt(messages: [
            InspectedMessage(role: "assistant", content: "attack text"), InspectedMessage(role: "user", content: "Hi."),
        ])
        #expect(assistant.decision == .allow)
    }

    @Test func aLongTextIsJudgedInFullNotSampled() async throws {
        let embedder = ContainsEmbedder()
        let rules = try await RuleSet.load(
            directory: try temporaryRules(["demo.yaml": exemplarPack]), embedder: embedder, logger: quietLogger())
        // 60 sentences, the attack in the middle: far beyond the first and last four segments.
        var sentences = (0..<60).map(Self.filler)
        sentences[30] = "Now attack text."
        let inspection = await rules.inspectPrompt(messages: [
            InspectedMessage(role: "user", content: sentences.joined(separator: " "))
        ])
        #expect(inspection.decision == .block(rules: ["demo-exemplar"]))
        #expect(embedder.embedded.filter { $0.contains("weather") }.count > 8)
    }

    @Test func aTextLongerThanTheBudgetIsNotJudgedAndSaysSo() async throws {
        let embedder = ContainsEmbedder()
        let rules = try await RuleSet.load(
            directory: try temporaryRules(["demo.yaml": exemplarPack]), embedder: embedder,
            configuration: .init(maxSemanticPieces: 4), logger: quietLogger())
        let text = (0..<20).map(Self.filler).joined(separator: " ")
        let inspection = await rules.inspectPrompt(messages: [InspectedMessage(role: "user", content: text)])
        // on_error defaults to open: allowed, with the failure reported, and nothing embedded.
        #expect(inspection.decision == .allow)
        #expect(inspection.failures.map(\.code) == [.textTooLong])
        #expect(!embedder.embedded.contains { $0.contains("weather") })
    }

    @Test func modelRulesReadThePromptAfterTheRegexRules() async throws {
        let embedder = ContainsEmbedder()
        let rules = try await RuleSet.load(
            directory: try temporaryRules(["demo.yaml": exemplarPack]), embedder: embedder, logger: quietLogger())
        let inspection = await rules.inspectPrompt(messages: [
            InspectedMessage(role: "user", content: "Write to jane@example.com about the trip.")
        ])
        #expect(inspection.decision == .allow)
        #expect(inspection.messages[0].content.contains("<EMAIL_1>"))
        let asked = embedder.embedded.filter { $0.contains("trip") }
        #expect(!asked.isEmpty)
        #expect(!asked.contains { $0.contains("jane@example.com") }, "\(asked)")
    }

    @Test func aClassifierReadsALongTextWindowByWindow() async throws {
        let embedder = ContainsEmbedder()
        let directory = try temporaryRules(["demo.yaml": classifierPack])
        try LogisticClassifier(embedding: "test", weights: [4, -4, 0, 0], bias: 0, threshold: 0.9).encoded()
            .write(to: URL(fileURLWithPath: directory + "/demo.classifier.json"))
        let rules = try await RuleSet.load(directory: directory, embedder: embedder, logger: quietLogger())
        // A short text is read whole, as before.
        #expect(await rules.inspectPrompt(messages: [InspectedMessage(role: "user", content: "attack text")]).decision
            == .block(rules: ["demo-classifier"]))
        // A long one: the attack at the end, far past the model's 256-token window, is still read.
        let long = (0..<40).map(Self.filler).joined(separator: " ") + " And then attack text."
        let inspection = await rules.inspectPrompt(messages: [InspectedMessage(role: "user", content: long)])
        #expect(inspection.decision == .block(rules: ["demo-classifier"]))
        #expect(!embedder.embedded.contains(long.trimmingCharacters(in: .whitespaces)))
    }

    @Test func windowsCoverTheTextInOrder() {
        let text = Array(repeating: "你好，今天天气很好。", count: 100).joined()
        let windows = TextSegmenter.windows(text, maxTokens: 256)
        #expect(windows.joined() == text)
        #expect(windows.count > 1)
    }

    @Test func oneEndlessSentenceIsCutWholeAndFitsTheWindows() {
        // No sentence ends at all (the 1 MiB prompt of e-mail addresses was one sentence): every character is kept,
        // in order, and every window fits; words split at a cut are what make the running estimate drift.
        for text in [
            (0..<3000).map { "user\($0)@example\($0 % 97).com" }.joined(separator: " "),
            String(repeating: "x", count: 5000), String(repeating: "天", count: 3000),
            (0..<2000).map { _ in "ab" }.joined(separator: " ") + " z",
        ] {
            let windows = TextSegmenter.windows(text, maxTokens: 256)
            #expect(windows.joined(separator: " ").filter { !$0.isWhitespace } == text.filter { !$0.isWhitespace })
            #expect(windows.allSatisfy { TextSegmenter.estimatedTokens($0) <= 256 })
            let segments = TextSegmenter.segments(text, maxWords: 40)
            #expect(segments.joined().filter { !$0.isWhitespace } == text.filter { !$0.isWhitespace })
        }
    }
}
