import AirlockTestSupport
import Testing

@testable import QwenEmulator

/// The pure parts of echo, pii_leak and guard mode, without a server.
@Suite("Tokens and guard verdicts")
struct TokenAndGuardLogicTests {
    @Test("text splits into words with their leading space, trailing punctuation and CJK apart, losslessly")
    func tokens() {
        #expect(TextTokens.split("Hello there, world!") == ["Hello", " there", ",", " world", "!"])
        #expect(TextTokens.split("mail <EMAIL_1>.") == ["mail", " <EMAIL_1>", "."])
        #expect(TextTokens.split("你好，<NAME_1>") == ["你", "好", "，", "<NAME_1>"])
        #expect(
            TextTokens.split("Safety: Safe\nCategories: None") == [
                "Safety", ":", " Safe", "\nCategories", ":", " None",
            ])
        #expect(TextTokens.split("") == [])
        for text in ["  a  b  ", "...", "x [[echo]] y", "4111 1111\t1111\n\n1111", "'quoted', (paren)", "中 文 "] {
            #expect(TextTokens.split(text).joined() == text, "\(text)")
            #expect(TextTokens.split(text).allSatisfy { !$0.isEmpty }, "\(text)")
        }
    }

    @Test("all markers are stripped; echo is asked for only by its exact marker")
    func markers() {
        #expect(MarkerText.strippedAll(" a [[echo]] b [[fault:timeout]] [[guard:safe]] ") == "a  b")
        #expect(MarkerText.strippedAll("keep [[unclosed") == "keep [[unclosed")
        #expect(EchoAnswer.isRequested(in: "x [[echo]]"))
        #expect(!EchoAnswer.isRequested(in: "x [[echo"))
        #expect(!EchoAnswer.isRequested(in: nil))
    }

    @Test("keywords: longest first, whole words, Jailbreak for prompts only")
    func keywords() {
        #expect(GuardKeywords.categories(in: "I will KILL MYSELF", includeJailbreak: true) == [.suicideAndSelfHarm])
        #expect(
            GuardKeywords.categories(in: "kill the process, then kill myself", includeJailbreak: true) == [
                .violent, .suicideAndSelfHarm,
            ])
        #expect(GuardKeywords.categories(in: "skills and skillful killers", includeJailbreak: true).isEmpty)
        #expect(GuardKeywords.categories(in: "developer mode", includeJailbreak: true) == [.jailbreak])
        #expect(GuardKeywords.categories(in: "developer mode", includeJailbreak: false).isEmpty)
        #expect(
            GuardKeywords.categories(in: "他说要杀人然后洗钱", includeJailbreak: true) == [
                .violent, .nonViolentIllegalActs,
            ])
    }

    @Test("the verdict follows the last message: a prompt, or an answer with Refusal")
    func judge() throws {
        let prompt = try GuardJudge.judge([.init(role: "system", text: "x"), .init(role: "user", text: "hack into it")])
            .get()
        #expect(prompt == GuardJudgement(safety: .unsafe, categories: [.nonViolentIllegalActs], refusal: nil))
        #expect(prompt.text == "Safety: Unsafe\nCategories: Non-violent Illegal Acts")

        let answer = try GuardJudge.judge([
            .init(role: "user", text: "hack into it"), .init(role: "assistant", text: "  对不起，我无法帮助。"),
        ]).get()
        #expect(answer.text == "Safety: Safe\nCategories: None\nRefusal: Yes")

        let forced = try GuardJudge.judge([.init(role: "user", text: "[[guard:CONTROVERSIAL:jailbreak,pii,PII]]")])
            .get()
        #expect(forced.text == "Safety: Controversial\nCategories: Jailbreak, PII")
        #expect(throws: QwenAPIError.self) {
            try GuardJudge.judge([.init(role: "user", text: "[[guard:maybe]]")]).get()
        }
    }

    @Test("refusals are recognised by how the answer opens")
    func refusals() {
        #expect(RefusalDetector.isRefusal("I'm sorry, but I can't help with that."))
        #expect(RefusalDetector.isRefusal("i cannot do that"))
        #expect(RefusalDetector.isRefusal("I can\u{2019}t help with this request"))
        #expect(RefusalDetector.isRefusal("抱歉，我无法帮助您完成这个请求。"))
        #expect(!RefusalDetector.isRefusal("Sure, here is how. I cannot stress this enough."))
    }

    @Test("the pii_leak answer is the exact text, the card number over four tokens")
    func piiLeak() {
        #expect(PIILeakAnswer.tokens.joined() == PIILeakAnswer.text)
        #expect(PIILeakAnswer.tokens.filter { ["4111", "1111"].contains($0.trimmingSpaces()) }.count == 4)
    }
}
