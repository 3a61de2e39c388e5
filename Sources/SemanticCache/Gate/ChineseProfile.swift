/// What the lexical gate reads in Chinese (and the Han, kana and hangul runs of Japanese and Korean text): words
/// are not separated by spaces there, so numbers, negation and question words are found by character, and the
/// content is compared as character bigrams.
enum ChineseProfile {
    /// Whether `scalar` is written without spaces between words (Han, kana, hangul).
    static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        TextScript.of(scalar)?.isWrittenWithoutSpaces ?? false
    }

    struct Reading: Equatable {
        var numbers: [String] = []
        var negated = false
        var questionClasses: Set<String> = []
        /// Character bigrams of the runs, stop characters and the words above left out, with their counts.
        var bigrams: [String: Int] = [:]
        /// The bigrams in text order.
        var ordered: [String] = []
    }

    /// Reads one run of CJK characters.
    static func read(_ run: [Character], into reading: inout Reading) {
        var consumed = [Bool](repeating: false, count: run.count)
        var index = 0
        while index < run.count {
            // Question words, longest first; "怎么" before a negation or 会 asks why, not how.
            if let (length, kind) = questionWord(run, at: index) {
                var kind = kind
                if kind == "how", index + length < run.count, "不没会".contains(run[index + length]) { kind = "why" }
                reading.questionClasses.insert(kind)
                for offset in 0..<length { consumed[index + offset] = true }
                index += length
                continue
            }
            // A-not-A (能不能, 是不是, 有没有): a yes/no question, not a negation.
            if index + 2 < run.count, run[index] == run[index + 2], "不没".contains(run[index + 1]) {
                for offset in 0..<3 { consumed[index + offset] = true }
                index += 3
                continue
            }
            if let length = compound(run, at: index) {
                index += length
                continue
            }
            if negations.contains(run[index]) {
                reading.negated = true
                consumed[index] = true
                index += 1
                continue
            }
            // Japanese negative endings (できません, しない) and Korean 안 standing alone (안 돼요).
            if let length = longestMatch(negationWordTable, run, at: index)?.length ?? (run == ["안"] ? 1 : nil) {
                reading.negated = true
                for offset in 0..<length { consumed[index + offset] = true }
                index += length
                continue
            }
            if let (length, value) = numeral(run, at: index) {
                reading.numbers.append(String(value))
                for offset in 0..<length { consumed[index + offset] = true }
                index += length
                continue
            }
            index += 1
        }
        // Bigrams of what is left, within stretches not broken by a consumed or stop character.
        var stretch: [Character] = []
        func flush() {
            if stretch.count == 1, !stopCharacters.contains(stretch[0]) {
                let word = String(stretch[0])
                reading.bigrams[word, default: 0] += 1
                reading.ordered.append(word)
            }
            if stretch.count >= 2 {
                for start in 0..<(stretch.count - 1) {
                    let word = String(stretch[start...start + 1])
                    reading.bigrams[word, default: 0] += 1
                    reading.ordered.append(word)
                }
            }
            stretch = []
        }
        for (offset, character) in run.enumerated() {
            if consumed[offset] || stopCharacters.contains(character) {
                flush()
            } else {
                stretch.append(character)
            }
        }
        flush()
    }

    /// Negation characters: Chinese, and Korean 않 (하지 않다), 못 (cannot), 없 (there is no).
    static let negations: Set<Character> = ["不", "没", "未", "别", "无", "非", "否", "莫", "勿", "甭", "않", "못", "없"]

    /// Japanese negative endings, longest first. ない also ends 少ない ("few"): read as a negation, which only makes
    /// the gate stricter.
    static let negationWordTable = table([("ません", ""), ("なかった", ""), ("ない", "")])

    /// Words that hold a negation character but do not negate (非常 "very", 别人 "others", 无论 "regardless").
    static let compounds: [String] = [
        "非常", "别人", "别的", "别处", "无论", "不过", "不管", "否则", "是否", "并非", "除非", "无聊", "毫无疑问", "不错",
        "差不多", "不一定", "未来", "万一", "千万", "十分", "莫名", "特别", "区别", "分别", "级别", "类别", "告别", "识别", "非法",
    ]

    static func compound(_ run: [Character], at index: Int) -> Int? {
        longestMatch(compoundTable, run, at: index).map(\.length)
    }

    /// Words by their first character, longest first, each with what it stands for.
    typealias Table = [Character: [(characters: [Character], meaning: String)]]

    static func table(_ words: [(String, String)]) -> Table {
        var table: Table = [:]
        for (word, meaning) in words { table[word.first!, default: []].append((Array(word), meaning)) }
        return table.mapValues { $0.sorted { $0.characters.count > $1.characters.count } }
    }

    static let compoundTable = table(compounds.map { ($0, "") })
    static let questionTable = table(questionWords)

    /// The longest word of `table` that starts at `index`.
    static func longestMatch(_ table: Table, _ run: [Character], at index: Int) -> (length: Int, meaning: String)? {
        for (characters, meaning) in table[run[index]] ?? []
        where index + characters.count <= run.count && run[index..<index + characters.count].elementsEqual(characters) {
            return (characters.count, meaning)
        }
        return nil
    }

    /// Question words by what they ask, longest match first.
    static let questionWords: [(String, String)] = [
        ("为什么", "why"), ("为何", "why"), ("干嘛", "why"), ("怎么回事", "why"), ("怎么会", "why"),
        ("什么时候", "when"), ("何时", "when"), ("几时", "when"), ("几点", "when"), ("多久", "how long"),
        ("多长时间", "how long"),
        ("怎么样", "how"), ("怎么", "how"), ("怎样", "how"), ("如何", "how"), ("咋", "how"),
        ("多少", "amount"), ("几", "amount"), ("多大", "amount"), ("多高", "amount"), ("多长", "amount"),
        ("哪里", "where"), ("哪儿", "where"), ("何处", "where"), ("哪个", "which"), ("哪些", "which"), ("哪", "which"),
        ("谁", "who"), ("什么", "what"), ("啥", "what"),
        // Japanese (kana, and 誰) and Korean: the same classes, where it is cheap.
        ("なぜ", "why"), ("どうして", "why"), ("なんで", "why"), ("どうやって", "how"), ("どう", "how"), ("いつ", "when"), ("どこ", "where"),
        ("どれ", "which"), ("どの", "which"), ("だれ", "who"), ("誰", "who"), ("なに", "what"), ("なん", "what"),
        ("いくら", "amount"), ("いくつ", "amount"),
        ("왜", "why"), ("어떻게", "how"), ("언제", "when"), ("어디", "where"), ("어느", "which"), ("누구", "who"),
        ("누가", "who"), ("무엇", "what"), ("뭐", "what"), ("무슨", "what"), ("얼마", "amount"), ("몇", "amount"),
    ]

    static func questionWord(_ run: [Character], at index: Int) -> (Int, String)? {
        longestMatch(questionTable, run, at: index).map { ($0.length, $0.meaning) }
    }

    static let digits: [Character: Int] = [
        "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    ]
    static let units: [Character: Int] = ["十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000]
    /// A lone 一 in these words is no number (一样 "the same", 一下 "a moment", 统一 "unified", 万一 "in case").
    static let notNumbersAfterOne: Set<Character> = ["样", "下", "起", "直", "般", "定", "些", "点", "旦", "切", "致", "边", "向", "律", "同", "并", "时", "会", "面", "共", "再", "心", "步"]
    static let notNumbersBeforeOne: Set<Character> = ["统", "唯", "万", "专", "单", "同", "之", "划", "逐"]

    /// A Chinese numeral at `index` (一百 → 100, 三十五 → 35, 两万 → 20000), with its length in characters.
    static func numeral(_ run: [Character], at index: Int) -> (Int, Int)? {
        var end = index
        while end < run.count, digits[run[end]] != nil || units[run[end]] != nil { end += 1 }
        guard end > index else { return nil }
        let characters = Array(run[index..<end])
        if characters == ["一"] {
            if end < run.count, notNumbersAfterOne.contains(run[end]) { return nil }
            if index > 0, notNumbersBeforeOne.contains(run[index - 1]) { return nil }
        }
        if characters.count == 1, units[characters[0]] != nil, characters[0] != "十" { return nil }
        guard characters.contains(where: { units[$0] != nil }) else {
            // Digits one after another (二〇二四) read as a digit string.
            return (characters.count, characters.reduce(0) { $0 * 10 + (digits[$1] ?? 0) })
        }
        var hundredMillions = 0
        var tenThousands = 0
        var section = 0
        var digit = 0
        var hasDigit = false
        for character in characters {
            if let value = digits[character] {
                digit = value
                hasDigit = true
            } else if let unit = units[character] {
                switch unit {
                case 100_000_000:
                    hundredMillions = max(tenThousands + section + digit, 1) * unit
                    tenThousands = 0
                    section = 0
                case 10_000:
                    tenThousands += max(section + digit, 1) * unit
                    section = 0
                default:
                    section += (hasDigit ? digit : 1) * unit
                }
                digit = 0
                hasDigit = false
            }
        }
        let total = hundredMillions + tenThousands + section + digit
        return (characters.count, total)
    }

    /// Particles, pronouns and function characters: common to questions that differ.
    static let stopCharacters: Set<Character> = [
        "的", "了", "吗", "呢", "吧", "啊", "呀", "么", "嘛", "哦", "哈", "我", "你", "您", "他", "她", "它", "们", "是", "在",
        "和", "与", "及", "或", "就", "都", "也", "还", "又", "很", "太", "请", "问", "这", "那", "个", "些", "着", "过", "给",
        "把", "被", "让", "对", "从", "到", "向", "为", "以", "之", "其", "而", "且", "但", "并", "嗯",
        "の", "は", "が", "を", "に", "で", "と", "も", "か", "ね", "よ", "す", "ま", "た", "い", "다", "요", "는", "은", "이", "가",
        "을", "를", "에", "의", "도",
    ]
}
