import Digest
import Testing

@testable import SemanticCache

@Suite struct SHA256Tests {
    @Test func standardVectors() {
        #expect(SHA256.hash(Array("".utf8)).hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(Array("abc".utf8)).hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hash(long).hexString == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var split = SHA256()
        split.update(long.prefix(10))
        split.update(long.dropFirst(10))
        #expect(split.finalize() == SHA256.hash(long))
        #expect(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000)).hexString
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

@Suite struct CacheKeyTests {
    static let base = CacheKeyInput(
        tenant: "acme", model: "qwen-plus", context: [#"{"content":"You are terse.","role":"system"}"#],
        lastUserTurn: "What is the capital of France?", sampling: ["temperature": "0.2", "top_p": "0.9"],
        rulesVersion: "r1")

    @Test func aCodeLayoutIsKeptInTheExactIDProseIsNot() {
        func id(_ text: String) -> String { CacheKey(CacheKeyInput(tenant: "t", model: "m", lastUserTurn: text)).exactID }
        #expect(CacheKey.layout("What is the tallest\nmountain?") == nil)
        #expect(CacheKey.layout("  one line, indented") == nil)
        #expect(CacheKey.layout("def f():\n    return 1\n\n\n\nf()  ") == "def f():\n    return 1\n\nf()")
        #expect(id("What is the tallest\nmountain?") == id("what is  the tallest mountain?"))
        #expect(id("def f():\n    return 1") != id("def f():\n  return 1"))
        #expect(id("def f():\n    return 1") != id("def f(): return 1"))
        #expect(id("def f():\n    return 1") != id("DEF F():\n    RETURN 1"))
        #expect(id("def f():\n    return 1\n") == id("\ndef f():   \n    return   1"))
    }

    @Test func theScriptOfATextIsItsLettersMajority() {
        #expect(TextScript.of("What is the capital of France?") == .latin)
        #expect(TextScript.of("花呗怎么还款") == .han)
        #expect(TextScript.of("我的iPhone怎么设置") == .han, "a CJK character weighs about a word")
        #expect(TextScript.of("Is 花呗 available in my country, and how do I apply?") == .latin)
        #expect(TextScript.of("東京の天気はどうですか") == .kana, "kanji beside kana are Japanese")
        #expect(TextScript.of("서울 날씨 어때요") == .hangul)
        #expect(TextScript.of("Сколько ног у паука?") == .cyrillic)
        #expect(TextScript.of("ما هي عاصمة فرنسا") == .arabic)
        #expect(TextScript.of("Πόσα πόδια έχει μια αράχνη;") == .other)
        #expect(TextScript.of("1234 + 5678 = ?") == .none)
        #expect(TextScript.of("") == .none)
    }

    @Test func equalInputsShareANamespace() {
        var reordered = Self.base
        reordered.sampling = ["top_p": "0.9", "temperature": "0.2"]
        reordered.lastUserTurn = "  What is the\tcapital of  France? "
        let a = CacheKey(Self.base)
        let b = CacheKey(reordered)
        #expect(a.namespace == b.namespace)
        #expect(a.text == "What is the capital of France?")
        #expect(a.exactID == b.exactID)
        #expect(CacheKey(CacheKeyInput(tenant: "acme", model: "m", lastUserTurn: "WHAT is X")).exactID
            == CacheKey(CacheKeyInput(tenant: "acme", model: "m", lastUserTurn: "what is x")).exactID)
    }

    @Test func everyAnswerChangingFieldSplitsTheNamespace() {
        let original = CacheKey(Self.base).namespace
        var variants: [CacheKeyInput] = []
        for change in 0..<8 {
            var input = Self.base
            switch change {
            case 0: input.tenant = "other"
            case 1: input.model = "qwen-max"
            case 2: input.context = [#"{"content":"You are verbose.","role":"system"}"#]
            case 3: input.sampling["temperature"] = "0.7"
            case 4: input.sampling["tools"] = "[]"
            case 5: input.sampling["response_format"] = #"{"type":"json_object"}"#
            case 6: input.rulesVersion = "r2"
            default: input.sampling["header:x-dashscope-datainspection"] = "enable\u{1F}"
            }
            variants.append(input)
        }
        let namespaces = variants.map { CacheKey($0).namespace }
        #expect(!namespaces.contains(original))
        #expect(Set(namespaces).count == namespaces.count)
        // The tenant prefix is what `delete(.tenant)` matches.
        #expect(CacheKey(variants[1]).tenantHash == CacheKey(Self.base).tenantHash)
        #expect(CacheKey(variants[0]).tenantHash != CacheKey(Self.base).tenantHash)
        #expect(CacheKey(Self.base).namespace.hasPrefix(CacheKey.tenantHash("acme") + "-"))
    }

    @Test func fieldBoundariesAreUnambiguous() {
        let a = CacheKeyInput(tenant: "ab", model: "c", lastUserTurn: "q")
        let b = CacheKeyInput(tenant: "a", model: "bc", lastUserTurn: "q")
        #expect(CacheKey(a).namespace != CacheKey(b).namespace)
        let c = CacheKeyInput(tenant: "t", model: "m", context: ["x", "y"], lastUserTurn: "q")
        let d = CacheKeyInput(tenant: "t", model: "m", context: ["xy"], lastUserTurn: "q")
        #expect(CacheKey(c).namespace != CacheKey(d).namespace)
    }
}

@Suite struct LexicalGateTests {
    let gate = LexicalGate()

    func verdict(_ a: String, _ b: String) -> LexicalGate.Verdict { gate.evaluate(query: a, candidate: b, threshold: 0.9) }

    @Test func differentEntitiesAreRejected() {
        #expect(verdict("What is the capital of France?", "What is the capital of Germany?") == .reject(.entities))
    }

    @Test func swappedWordsAreRejected() {
        #expect(verdict("flights from Beijing to Shanghai", "flights from Shanghai to Beijing") == .reject(.wordOrder))
        #expect(verdict("Is a dog faster than a cat?", "Is a cat faster than a dog?") == .reject(.wordOrder))
        #expect(verdict("moved to London from Paris", "moved from London to Paris") == .reject(.wordOrder))
    }

    @Test func numbersNegationsAndQuestionWordsMustMatch() {
        #expect(verdict("Convert 5 miles to km", "Convert 50 miles to km") == .reject(.numbers))
        #expect(verdict("Give me three ideas", "Give me two ideas") == .reject(.numbers))
        #expect(verdict("Should I take ibuprofen?", "Should I not take ibuprofen?") == .reject(.negation))
        #expect(verdict("Why can't I sleep?", "Why can I sleep?") == .reject(.negation))
        #expect(verdict("How does a VPN work?", "Why does a VPN work?") == .reject(.questionWords))
    }

    @Test func chineseNumbersNegationsQuestionWordsAndProducts() {
        // 一百 and 100 are one number; 两 and 3 are not.
        #expect(LexicalProfile("转账一百元要手续费吗").numbers == LexicalProfile("转账100元要手续费吗").numbers)
        #expect(verdict("借两万要多少利息", "借3万要多少利息") == .reject(.numbers))
        #expect(LexicalProfile("一共三十五期").numbers == ["35"])
        #expect(LexicalProfile("两亿三千万").numbers == ["230000000"])
        #expect(LexicalProfile("我想一下").numbers.isEmpty)
        // 不能 is not 能; 能不能 asks, it does not negate; 非常 is "very".
        #expect(verdict("花呗能还信用卡吗", "花呗不能还信用卡吗") == .reject(.negation))
        #expect(verdict("为什么我的花呗没有额度", "为什么我的花呗有额度") == .reject(.negation))
        #expect(LexicalProfile("花呗能不能还信用卡").negated == false)
        #expect(LexicalProfile("非常好用").negated == false)
        // How is not why; 怎么 before a negation asks why.
        #expect(verdict("花呗怎么还款", "花呗为什么还款") == .reject(.questionWords))
        #expect(verdict("花呗怎么不能用", "花呗为什么不能用") != .reject(.questionWords))
        #expect(verdict("什么时候还款", "还款要多久") == .reject(.questionWords))
        // Two products of one kind.
        #expect(verdict("我要修改花呗使用额度", "我要修改借呗使用额度") == .reject(.entities))
        #expect(verdict("信用卡怎么还款", "储蓄卡怎么还款") == .reject(.entities))
        // Rewordings by function characters pass.
        guard case .pass = verdict("我的花呗有多少额度", "我花呗有多少额度") else {
            Issue.record("rejected a rewording")
            return
        }
    }

    @Test func japaneseAndKoreanNegationsAndQuestionWords() {
        // Japanese: negative endings, question words by class.
        #expect(verdict("カードで支払いできますか", "カードで支払いできませんか") == .reject(.negation))
        #expect(verdict("パスワードを変更しない方法", "パスワードを変更する方法") == .reject(.negation))
        #expect(verdict("なぜログインできませんか", "どうやってログインできませんか") == .reject(.questionWords))
        #expect(verdict("いつ届きますか", "どこに届きますか") == .reject(.questionWords))
        // Korean: 못, 없, 안 standing alone; question words.
        #expect(verdict("카드로 결제할 수 있어요", "카드로 결제할 수 없어요") == .reject(.negation))
        #expect(verdict("로그인이 안 돼요", "로그인이 돼요") == .reject(.negation))
        #expect(LexicalProfile("안녕하세요").negated == false)
        #expect(verdict("왜 로그인이 안 돼요", "어떻게 로그인이 안 돼요") == .reject(.questionWords))
        #expect(verdict("배송은 언제 와요", "배송은 어디로 와요") == .reject(.questionWords))
        // A rewording with the same question word and no negation passes the gate (the threshold still applies).
        guard case .pass = verdict("なぜログインできないのですか", "なぜログインできないですか") else {
            Issue.record("rejected a Japanese rewording")
            return
        }
    }

    @Test func rewordingsPassWithAPenaltyPerDifferingWord() {
        #expect(verdict("What is an ethical dilemma?", "What are ethical dilemmas?")
            == .pass(differingWords: 0, requiredSimilarity: 0.9))
        guard case .pass(let differing, let required) = verdict("How do I learn Python quickly?", "How do I learn Python fast?")
        else {
            Issue.record("rejected")
            return
        }
        #expect(differing == 2)
        #expect(abs(required - 0.97) < 1e-6)
        #expect(gate.admits(query: "How do I learn Python quickly?", candidate: "How do I learn Python fast?", similarity: 0.98, threshold: 0.9))
        #expect(!gate.admits(query: "How do I learn Python quickly?", candidate: "How do I learn Python fast?", similarity: 0.95, threshold: 0.9))
    }

    @Test func oddInputDoesNotCrash() {
        for text in ["", " ", "'''", "’s", "🚀🚀", String(repeating: "word ", count: 5000), "\u{0}\u{1}", "e\u{301}"] {
            _ = verdict(text, "word")
            _ = verdict("word", text)
        }
        #expect(LexicalProfile.words("don't stop-believin' Tim's 3.5") == ["don't", "stop", "believin", "Tim's", "3", "5"])
    }
}
