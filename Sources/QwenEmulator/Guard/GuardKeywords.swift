/// The small keyword table behind unforced verdicts, English and Chinese. Matching ignores case; English keywords
/// match whole words only ("kill" does not match "skill"), and a longer keyword claims its text first, so
/// "kill myself" counts as self-harm and not also as violence.
enum GuardKeywords {
    static let table: [(keyword: String, category: GuardCategory)] = [
        ("build a bomb", .violent), ("make a bomb", .violent), ("kill", .violent), ("killing", .violent),
        ("murder", .violent), ("制造炸弹", .violent), ("制作炸弹", .violent), ("杀人", .violent),

        ("steal a car", .nonViolentIllegalActs), ("hack into", .nonViolentIllegalActs),
        ("launder money", .nonViolentIllegalActs), ("money laundering", .nonViolentIllegalActs),
        ("shoplift", .nonViolentIllegalActs), ("偷车", .nonViolentIllegalActs), ("洗钱", .nonViolentIllegalActs),
        ("黑进", .nonViolentIllegalActs),

        ("explicit sex", .sexualContent), ("porn", .sexualContent), ("pornography", .sexualContent),
        ("色情", .sexualContent),

        ("social security number of", .pii), ("home address of", .pii), ("身份证号", .pii),

        ("kill myself", .suicideAndSelfHarm), ("end my life", .suicideAndSelfHarm), ("suicide", .suicideAndSelfHarm),
        ("self-harm", .suicideAndSelfHarm), ("自杀", .suicideAndSelfHarm), ("自残", .suicideAndSelfHarm),

        ("cheat on my exam", .unethicalActs), ("plagiarize", .unethicalActs), ("考试作弊", .unethicalActs),

        ("overthrow the government", .politicallySensitiveTopics), ("颠覆政府", .politicallySensitiveTopics),

        ("pirated copy", .copyrightViolation), ("crack the drm", .copyrightViolation),
        ("盗版", .copyrightViolation),

        ("ignore all previous instructions", .jailbreak), ("ignore previous instructions", .jailbreak),
        ("developer mode", .jailbreak), ("忽略之前的指令", .jailbreak), ("忽略以上指令", .jailbreak),
    ]

    /// The categories `text` hits, in ``GuardCategory`` order; `Jailbreak` only when `includeJailbreak`.
    static func categories(in text: String, includeJailbreak: Bool) -> [GuardCategory] {
        let haystack = text.lowercased()
        var claimed: [Range<String.Index>] = []
        var hits: Set<GuardCategory> = []
        let longestFirst = table.sorted { $0.keyword.count > $1.keyword.count }
        for (keyword, category) in longestFirst where includeJailbreak || category != .jailbreak {
            for range in haystack.ranges(of: keyword)
            where isWholeWord(range, in: haystack) && !claimed.contains(where: { $0.overlaps(range) }) {
                claimed.append(range)
                hits.insert(category)
            }
        }
        return GuardCategory.allCases.filter(hits.contains)
    }

    /// Whether the match is not glued to letters or digits on either side. A match that starts or ends with a CJK
    /// character needs no boundary on that side: Chinese has no spaces between words.
    private static func isWholeWord(_ range: Range<String.Index>, in text: String) -> Bool {
        let match = text[range]
        if let first = match.unicodeScalars.first, !AnswerComposer.isCJK(first), range.lowerBound > text.startIndex,
            isWordCharacter(text[text.index(before: range.lowerBound)])
        {
            return false
        }
        if let last = match.unicodeScalars.last, !AnswerComposer.isCJK(last), range.upperBound < text.endIndex,
            isWordCharacter(text[range.upperBound])
        {
            return false
        }
        return true
    }

    private static func isWordCharacter(_ character: Character) -> Bool {
        guard let scalar = character.unicodeScalars.first, !AnswerComposer.isCJK(scalar) else { return false }
        return character.isLetter || character.isNumber
    }
}
