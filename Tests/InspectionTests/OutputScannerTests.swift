import AirlockTestSupport
import Inspection
import Testing

@Suite struct OutputScannerTests {
    private func run(_ scanner: OutputScanner, _ chunks: [String]) -> (text: String, steps: [OutputScanner.Step]) {
        var steps = chunks.map { scanner.feed($0) }
        steps.append(scanner.finish())
        return (steps.map(\.text).joined(), steps)
    }

    @Test func cardSplitAcrossChunksIsMasked() async throws {
        let ruleSet = try await shippedRegexRuleSet()
        let scanner = ruleSet.makeOutputScanner()
        let (text, steps) = run(scanner, ["Your card is 4111 11", "11 1111 ", "1111. Keep it safe."])
        #expect(text == "Your card is **** **** **** 1111. Keep it safe.")
        #expect(!text.contains("4111 11"))
        // The text before the card went out at once; the digits were held, not the whole answer.
        #expect(steps[0].text == "Your card is ")
        let finding = try #require(steps.flatMap(\.findings).first { $0.entity == "CREDIT_CARD" })
        #expect(finding.range == 13..<32)
    }

    @Test func everySplitPointGivesTheSameAnswer() async throws {
        let ruleSet = try await shippedRegexRuleSet()
        let answer = "Mail ops@example.com or call +44 20 7946 0958; card 5500-0000-0000-0004, ok?"
        let whole = await ruleSet.inspectOutput(text: answer).text
        #expect(whole == "Mail [EMAIL] or call [PHONE_NUMBER]; card ****-****-****-0004, ok?")
        let characters = Array(answer)
        for split in 1..<characters.count {
            let scanner = ruleSet.makeOutputScanner()
            let (text, _) = run(scanner, [String(characters[..<split]), String(characters[split...])])
            #expect(text == whole, "split at \(split)")
        }
    }

    @Test func textWithoutCandidatesIsNotHeldBack() async throws {
        let ruleSet = try await shippedRegexRuleSet()
        let scanner = ruleSet.makeOutputScanner()
        let step = scanner.feed("The answer is: yes.\n")
        #expect(step.text == "The answer is: yes.\n")
        #expect(scanner.heldBackByteCount == 0)
    }

    @Test func holdbackIsBounded() async throws {
        let ruleSet = try await shippedRegexRuleSet()
        let scanner = ruleSet.makeOutputScanner(maxHoldbackBytes: 64)
        // An endless run of digits could always still become something; it must not be held forever.
        for _ in 0..<50 {
            _ = scanner.feed("1234567890")
            #expect(scanner.heldBackByteCount <= 64 + 10)
        }
    }

    @Test func tokenizedValuesAreRestoredAcrossChunkBoundaries() async throws {
        let ruleSet = try await shippedRegexRuleSet()
        let prompt = ruleSet.inspectPromptPatterns(messages: [
            .init(role: "user", content: "Draft a reply to li.wei@example.cn and 王伟 <wang@example.org>.")
        ])
        #expect(!prompt.messages[0].content.contains("@"))
        let upstreamAnswer = "Sure. Dear <EMAIL_1>, … cc <EMAIL_2>. Unknown <EMAIL_7> stays."
        let expected = "Sure. Dear li.wei@example.cn, … cc wang@example.org. Unknown <EMAIL_7> stays."
        let bytes = Array(upstreamAnswer)
        for split in 1..<bytes.count {
            let scanner = ruleSet.makeOutputScanner(tokens: prompt.tokens)
            let (text, _) = run(scanner, [String(bytes[..<split]), String(bytes[split...])])
            #expect(text == expected, "split at \(split)")
        }
        // One character at a time.
        let scanner = ruleSet.makeOutputScanner(tokens: prompt.tokens)
        let (text, _) = run(scanner, bytes.map { String($0) })
        #expect(text == expected)
    }

    @Test func blockEndsTheStream() async throws {
        let ruleSet = try await shippedRegexRuleSet()
        let scanner = ruleSet.makeOutputScanner()
        let first = scanner.feed("Here is the key: -----BEGIN OPENSSH PRIV")
        #expect(first.blockedBy == nil)
        #expect(!first.text.contains("BEGIN"))
        let second = scanner.feed("ATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA")
        #expect(second.blockedBy == ["private-key"])
        #expect(second.text.isEmpty)
        #expect(scanner.feed("more").text.isEmpty)
        #expect(scanner.finish().blockedBy == ["private-key"])
    }
}
