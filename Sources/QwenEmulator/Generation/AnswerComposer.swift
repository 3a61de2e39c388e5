/// Deterministic answers: the same prompt always gets the same tokens, so tests and cache demos can compare
/// byte for byte. Tokens are whole words (English) or single characters (Chinese), as a real tokenizer would
/// roughly split them.
enum AnswerComposer {
    enum Language: Sendable, Equatable {
        case english
        case chinese
    }

    static func language(of text: String) -> Language {
        text.unicodeScalars.contains(where: isCJK) ? .chinese : .english
    }

    /// `count` answer tokens for `prompt`; choice `index` > 0 gets a different but equally stable answer.
    static func answerTokens(prompt: String, count: Int, choice index: Int) -> [String] {
        let language = language(of: prompt)
        var generator = SplitMix64(seed: StableHash.fnv1a(prompt) &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        return tokens(count: count, language: language, generator: &generator, closing: true)
    }

    /// The thinking that precedes an answer when `enable_thinking` is on.
    static func reasoningTokens(prompt: String, count: Int, choice index: Int) -> [String] {
        let language = language(of: prompt)
        var generator = SplitMix64(seed: ~StableHash.fnv1a(prompt) &+ UInt64(index))
        let opening: [String] = language == .chinese ? ["嗯", "，", "用户", "问"] : ["Okay", ",", " the", " user", " asks"]
        guard count > opening.count else { return Array(opening.prefix(count)) }
        return opening + tokens(count: count - opening.count, language: language, generator: &generator, closing: false)
    }

    /// A refusal in the prompt's language.
    static func refusalTokens(prompt: String) -> [String] {
        switch language(of: prompt) {
        case .chinese:
            return ["抱歉", "，", "我", "无法", "帮助", "您", "完成", "这个", "请求", "。"]
        case .english:
            return ["I'm", " sorry", ",", " but", " I", " can't", " help", " with", " that", "."]
        }
    }

    private static func tokens(
        count: Int, language: Language, generator: inout SplitMix64, closing: Bool
    ) -> [String] {
        guard count > 0 else { return [] }
        var tokens: [String] = []
        tokens.reserveCapacity(count)
        for position in 0..<count {
            let pick = Int(generator.next() % UInt64(englishWords.count))
            var token: String
            switch language {
            case .english:
                let word = englishWords[pick]
                token = position == 0 ? word.capitalizedFirst() : " " + word
            case .chinese:
                token = String(chineseCharacters[pick % chineseCharacters.count])
            }
            if closing && position == count - 1 {
                token += language == .chinese ? "。" : "."
            }
            tokens.append(token)
        }
        return tokens
    }

    static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0xF900...0xFAFF, 0x20000...0x2FA1F,  // Han
            0x3040...0x30FF,  // kana
            0xAC00...0xD7AF:  // Hangul syllables
            return true
        default:
            return false
        }
    }

    private static let englishWords = [
        "the", "answer", "depends", "on", "context", "and", "several", "factors", "model", "request", "data",
        "system", "value", "result", "simple", "clear", "example", "first", "second", "because", "this", "that",
        "with", "from", "useful", "general", "approach", "often", "works", "well", "in", "practice", "a", "small",
        "large", "number", "of", "cases", "we", "can", "see", "how", "it", "behaves", "under", "load", "quickly",
        "steady", "response", "question", "detail", "point", "step", "next", "also", "more", "less", "time",
        "space", "order", "state", "change", "rule", "test",
    ]

    private static let chineseCharacters: [Character] = Array(
        "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
    )
}

/// FNV-1a, 64 bit: stable across runs and machines, unlike `Hasher`.
enum StableHash {
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}

/// A small, fast, seedable generator (Steele, Lea & Flood's SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension String {
    fileprivate func capitalizedFirst() -> String {
        guard let first else { return self }
        return first.uppercased() + dropFirst()
    }
}

/// Token counts for `usage`: one per CJK character, one per run of letters or digits, one per other symbol.
enum TokenEstimate {
    static func count(_ text: String) -> Int {
        var tokens = 0
        var inWord = false
        for scalar in text.unicodeScalars {
            if AnswerComposer.isCJK(scalar) {
                tokens += 1
                inWord = false
            } else if scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                if !inWord { tokens += 1 }
                inWord = true
            } else if scalar.properties.isWhitespace {
                inWord = false
            } else {
                tokens += 1
                inWord = false
            }
        }
        return tokens
    }

    /// Prompt tokens of a whole conversation, with the few tokens of chat-template framing each turn costs.
    static func prompt(_ messages: [ChatRequest.Message]) -> Int {
        messages.reduce(3) { $0 + count($1.text) + 4 }
    }
}
