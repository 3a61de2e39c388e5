import AirlockTestSupport
import Foundation
import Inspection
import Testing

/// `kind: ner` rules with the real NER model (LAC 2.1.2): prompts, whole and streamed answers, thresholds, allow and
/// deny lists, the per-request budget, and the pack errors.
@Suite struct NERRuleTests {
    static func pack(
        scope: String = "prompt", entities: String = "[PERSON, ADDRESS]", action: String = "tokenize",
        extra: String = "", onError: String = "closed"
    ) -> String {
        """
        pack: names
        description: names
        rules:
          - id: names
            description: names and addresses
            kind: ner
            scope: \(scope)
            entities: \(entities)
            action: \(action)
            on_error: \(onError)
        \(extra.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            examples: {match: ["请联系王建国。"]}
        """
    }

    static func ruleSet(_ yaml: String, maxEntityBytes: Int? = nil) async throws -> RuleSet {
        var configuration = RuleSet.Configuration()
        if let maxEntityBytes { configuration.maxEntityBytes = maxEntityBytes }
        return try await RuleSet.load(
            directory: try temporaryRules(["names.yaml": yaml]), recognizer: try TestNERModel.recognizer(),
            configuration: configuration, logger: quietLogger())
    }

    @Test func namesAndAddressesInPromptsBecomePlaceholdersRestoredInTheAnswer() async throws {
        let rules = try await Self.ruleSet(Self.pack())
        let prompt = "请给王建国写一封感谢信，寄到杭州市西湖区文三路90号5幢302室。"
        let inspection = await rules.inspectPrompt(messages: [.init(role: "user", content: prompt)])
        #expect(inspection.decision == .allow)
        let sent = inspection.messages[0].content
        #expect(sent == "请给<PERSON_1>写一封感谢信，寄到<ADDRESS_1>。", "\(sent)")
        #expect(inspection.tokens.value(for: "<PERSON_1>") == "王建国")
        #expect(inspection.tokens.value(for: "<ADDRESS_1>") == "杭州市西湖区文三路90号5幢302室")
        #expect(Set(inspection.findings.map(\.entity)) == ["PERSON", "ADDRESS"])
        #expect(inspection.findings.allSatisfy { $0.kind == .ner && $0.ruleID == "names" && $0.score >= 0.5 })
        // The answer, whole, gets the values back.
        let answer = await rules.inspectOutput(
            text: "好的，这是给<PERSON_1>的感谢信，已注明地址<ADDRESS_1>。", tokens: inspection.tokens)
        #expect(answer.text == "好的，这是给王建国的感谢信，已注明地址杭州市西湖区文三路90号5幢302室。")
        // English text goes to the English model, behind the same rule.
        let english = await rules.inspectPrompt(messages: [.init(role: "user", content: "Write to John Smith.")])
        #expect(english.messages[0].content == "Write to <PERSON_1>.", "\(english.messages[0].content)")
        #expect(english.tokens.value(for: "<PERSON_1>") == "John Smith")
        #expect(english.findings.map(\.entity) == ["PERSON"])
    }

    @Test func thresholdsAllowAndDenyLists() async throws {
        let text = "他在腾讯公司工作，和Acme Corp合作，同事李娜也在。"
        let plain = try await Self.ruleSet(Self.pack(entities: "[ORGANIZATION, PERSON]", action: "redact"))
        let before = await plain.inspectPrompt(messages: [.init(role: "user", content: text)])
        #expect(before.messages[0].content.contains("[ORGANIZATION]"), "\(before.messages[0].content)")
        let person = try #require(before.findings.first { $0.entity == "PERSON" })

        // The company's own name is allowed; a partner that the model does not see is denied.
        let listed = try await Self.ruleSet(
            Self.pack(
                entities: "[ORGANIZATION, PERSON]", action: "redact",
                extra: "allow: [\"腾讯公司\"]\ndeny: [\"acme corp\"]"))
        let after = await listed.inspectPrompt(messages: [.init(role: "user", content: text)])
        #expect(after.messages[0].content == "他在腾讯公司工作，和[ORGANIZATION]合作，同事[PERSON]也在。", "\(after.messages[0].content)")

        // A PERSON threshold above the name's score lets it through; the other type keeps the rule's min_score.
        let strict = try await Self.ruleSet(
            Self.pack(
                entities: "[ORGANIZATION, PERSON]", action: "redact",
                extra: "min_score: 0.0\nthresholds: {PERSON: \(min(1, person.score + 0.000_001))}"))
        let strictResult = await strict.inspectPrompt(messages: [.init(role: "user", content: text)])
        #expect(strictResult.messages[0].content.contains("李娜"))
        #expect(strictResult.messages[0].content.contains("[ORGANIZATION]"))
    }

    @Test func overTheBudgetTheRuleFollowsOnError() async throws {
        let long = String(repeating: "请把材料交给王建国，他明天到。", count: 120)
        for onError in ["closed", "open"] {
            let rules = try await Self.ruleSet(Self.pack(onError: onError), maxEntityBytes: 1024)
            let inspection = await rules.inspectPrompt(messages: [.init(role: "user", content: long)])
            #expect(inspection.failures.map(\.code) == [.textTooLong])
            if onError == "closed" {
                #expect(inspection.decision.blockingRules == ["names"])
            } else {
                #expect(inspection.decision == .allow && inspection.messages[0].content == long)
            }
        }
        // English text counts against the budget as well (the English model reads it); text neither model reads
        // (digits, symbols) costs nothing.
        let rules = try await Self.ruleSet(Self.pack(), maxEntityBytes: 1024)
        let english = String(repeating: "Please pass the papers to John Smith tomorrow. ", count: 100)
        let overBudget = await rules.inspectPrompt(messages: [.init(role: "user", content: english)])
        #expect(overBudget.failures.map(\.code) == [.textTooLong])
        let digits = String(repeating: "1234 5678 + 42 = ? ", count: 100)
        #expect(await rules.inspectPrompt(messages: [.init(role: "user", content: digits)]).failures.isEmpty)
    }

    @Test func streamedAnswersAreReadASentenceAtATimeWithBoundedHoldback() async throws {
        let rules = try await Self.ruleSet(Self.pack(scope: "output", action: "redact"))
        let answer = "您好，我是客服小张。请联系王建国，他住在上海市浦东新区张江路1000号。谢谢！"
        let whole = await rules.inspectOutput(text: answer).text
        #expect(whole.contains("[PERSON]") && whole.contains("[ADDRESS]") && !whole.contains("王建国"), "\(whole)")
        // Every split into two chunks gives the same text, and no name is released before its sentence ends.
        let characters = Array(answer)
        for split in 1..<characters.count {
            let scanner = rules.makeOutputScanner()
            let first = scanner.feed(String(characters[..<split]))
            let rest = scanner.feed(String(characters[split...]))
            let end = scanner.finish()
            #expect(first.text + rest.text + end.text == whole, "split at \(split)")
            #expect(!first.text.contains("王") && !first.text.contains("张江"), "split at \(split): \(first.text)")
        }
        // Without a sentence end, at most the holdback bound waits.
        let scanner = rules.makeOutputScanner(maxHoldbackBytes: 64)
        var released = ""
        for _ in 0..<40 {
            released += scanner.feed("数据继续输出，").text
            #expect(scanner.heldBackByteCount <= 64 + "数据继续输出，".utf8.count)
        }
        released += scanner.finish().text
        #expect(released == String(repeating: "数据继续输出，", count: 40))
    }

    @Test func aNameAtTheHoldbackBoundIsHeldUntilItEnds() async throws {
        // No sentence end for longer than the bound: the text is read and released, but a name that touches the end
        // of what has arrived may go on, so it waits for the next chunk and is redacted whole.
        let rules = try await Self.ruleSet(Self.pack(scope: "output", action: "redact"))
        let scanner = rules.makeOutputScanner(maxHoldbackBytes: 64)
        let filler = String(repeating: "数据继续输出，", count: 4)
        var released = scanner.feed(filler + "请联系王建").text
        #expect(!released.contains("王"), "\(released)")
        released += scanner.feed("国先生。").text
        released += scanner.finish().text
        #expect(released == filler + "请联系[PERSON]先生。", "\(released)")
    }

    @Test func placeholdersInTheAnswerStayWhole() async throws {
        let rules = try await Self.ruleSet(Self.pack(scope: "both", action: "tokenize"))
        let prompt = await rules.inspectPrompt(messages: [.init(role: "user", content: "请问王建国先生的订单到了吗？")])
        #expect(prompt.tokens.value(for: "<PERSON_1>") == "王建国")
        let scanner = rules.makeOutputScanner(tokens: prompt.tokens)
        let text = ["<PERSON_1>先生", "您好，订单已到。"].map { scanner.feed($0).text }.joined() + scanner.finish().text
        #expect(text == "王建国先生您好，订单已到。")
    }

    @Test func packErrorsNameTheProblem() async throws {
        let cases: [(String, String)] = [
            (Self.pack(entities: "[PERSON, PHONE]"), "unknown entity type `PHONE`"),
            (Self.pack(extra: "thresholds: {ORGANIZATION: 0.5}"), "`thresholds` names `ORGANIZATION`"),
            (Self.pack(extra: "label: NAME"), "`label` does not apply to a ner rule"),
            (Self.pack().replacingOccurrences(of: "    entities: [PERSON, ADDRESS]\n", with: ""), "needs `entities`"),
        ]
        for (yaml, message) in cases {
            do {
                _ = try RuleSet.parsePack(yaml: yaml, file: "names.yaml")
                Issue.record("accepted: \(message)")
            } catch {
                #expect(error.errors.contains { $0.message.contains(message) }, "\(error.errors)")
            }
        }
        // Without the model the set does not load, and says why.
        let directory = try temporaryRules(["names.yaml": Self.pack()])
        var codes: [InspectionError.Code] = []
        do {
            _ = try await RuleSet.load(directory: directory, logger: quietLogger())
        } catch {
            codes = error.errors.map(\.code)
        }
        #expect(codes.contains(.nerUnavailable), "\(codes)")
    }
}
