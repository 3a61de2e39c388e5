import Foundation

/// The words of a text that decide whether a near neighbour may answer it.
struct LexicalProfile: Sendable, Equatable {
    /// Numerals and number words, sorted: "3 apples" and "4 apples" never share an answer.
    var numbers: [String]
    /// Whether the text is negated ("not", "no", "never", "n't", "without" …).
    var negated: Bool
    /// Question words (what, why, how …): "how does X work" is not "why does X work".
    var questionWords: Set<String>
    /// Capitalized words past the first, lightly stemmed: candidate named entities.
    var entities: Set<String>
    /// Content words (stop words and negations left out), lightly stemmed, with their counts.
    var contentCounts: [String: Int]
    /// Content words plus the relational words (from, to, than, before …) in text order: their order carries
    /// who does what to whom ("flights from Beijing to Shanghai").
    var ordered: [String]
}

/// Rejects near neighbours whose numbers, negation, question words, named entities or order of shared content
/// words differ from the query's, and raises the similarity needed for each content word the two do not share.
///
/// Cosine similarity of sentence embeddings is nearly blind to these: "from Beijing to Shanghai" and "from Shanghai
/// to Beijing" embed almost identically. The gate is what lets a single threshold serve both paraphrase-style
/// traffic and word-swap traffic.
public struct LexicalGate: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        /// May serve if the similarity reaches `requiredSimilarity`.
        case pass(differingWords: Int, requiredSimilarity: Float)
        case reject(Reason)
    }

    public enum Reason: String, Sendable, Equatable {
        case numbers, negation, questionWords, entities, wordOrder
    }

    /// Added to the threshold when 1, 2, 3 or more content words differ (the last value for every larger count).
    /// Default [0.05, 0.07, 0.08]: a near neighbour with other words must be much nearer.
    public var differingWordPenalties: [Float]
    /// Off: only cosine decides (for calibration and comparison).
    public var isEnabled: Bool

    public init(differingWordPenalties: [Float] = [0.05, 0.07, 0.08], isEnabled: Bool = true) {
        self.differingWordPenalties = differingWordPenalties
        self.isEnabled = isEnabled
    }

    /// The verdict for serving the answer stored for `candidate` to `query`, at base threshold `threshold`.
    public func evaluate(query: String, candidate: String, threshold: Float) -> Verdict {
        guard isEnabled else { return .pass(differingWords: 0, requiredSimilarity: threshold) }
        return evaluate(LexicalProfile(query), LexicalProfile(candidate), threshold: threshold)
    }

    func evaluate(_ a: LexicalProfile, _ b: LexicalProfile, threshold: Float) -> Verdict {
        guard isEnabled else { return .pass(differingWords: 0, requiredSimilarity: threshold) }
        if a.numbers != b.numbers { return .reject(.numbers) }
        if a.negated != b.negated { return .reject(.negation) }
        if a.questionWords != b.questionWords { return .reject(.questionWords) }
        // An entity on one side only counts unless the other side has the same word in lower case.
        let unmatchedEntities = a.entities.symmetricDifference(b.entities).filter {
            a.contentCounts[$0] == nil || b.contentCounts[$0] == nil
        }
        if !unmatchedEntities.isEmpty { return .reject(.entities) }
        if Self.differentModifiersOfOneHead(a.contentCounts, b.contentCounts) { return .reject(.entities) }
        if !Self.sharedWordsInSameOrder(a.ordered, b.ordered) { return .reject(.wordOrder) }
        var differing = 0
        for (word, count) in a.contentCounts { differing += abs(count - (b.contentCounts[word] ?? 0)) }
        for (word, count) in b.contentCounts where a.contentCounts[word] == nil { differing += count }
        let penalty: Float =
            differing == 0 || differingWordPenalties.isEmpty
            ? 0 : differingWordPenalties[min(differing, differingWordPenalties.count) - 1]
        return .pass(differingWords: differing, requiredSimilarity: min(threshold + penalty, 1))
    }

    /// Whether one text has a CJK bigram XY the other lacks while the other has ZY the first lacks: two
    /// different things of one kind (花呗 and 借呗, 信用卡 and 储蓄卡), which embeddings barely tell apart.
    static func differentModifiersOfOneHead(_ a: [String: Int], _ b: [String: Int]) -> Bool {
        var headsOnlyInA: [Character: Set<Character>] = [:]
        for word in a.keys where b[word] == nil {
            let characters = Array(word)
            guard characters.count == 2, let scalar = characters[1].unicodeScalars.first, ChineseProfile.isCJK(scalar)
            else { continue }
            headsOnlyInA[characters[1], default: []].insert(characters[0])
        }
        if headsOnlyInA.isEmpty { return false }
        for word in b.keys where a[word] == nil {
            let characters = Array(word)
            guard characters.count == 2, let modifiers = headsOnlyInA[characters[1]] else { continue }
            if !modifiers.contains(characters[0]) { return true }
        }
        return false
    }

    /// Whether the words both texts use appear in the same relative order (one sequence's shared words are a
    /// subsequence of the other's, repeats allowed).
    static func sharedWordsInSameOrder(_ a: [String], _ b: [String]) -> Bool {
        let shared = Set(a).intersection(b)
        let x = a.filter(shared.contains)
        let y = b.filter(shared.contains)
        if x == y { return true }
        // Bounded: texts past this many words are compared on their first words only.
        let limit = 400
        let p = Array(x.prefix(limit))
        let q = Array(y.prefix(limit))
        return longestCommonSubsequence(p, q) >= min(p.count, q.count)
    }

    static func longestCommonSubsequence(_ a: [String], _ b: [String]) -> Int {
        if a.isEmpty || b.isEmpty { return 0 }
        var previous = [Int](repeating: 0, count: b.count + 1)
        var current = previous
        for i in 0..<a.count {
            for j in 0..<b.count {
                current[j + 1] = a[i] == b[j] ? previous[j] + 1 : max(previous[j + 1], current[j])
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

extension LexicalProfile {
    init(_ text: String) {
        let words = Self.words(text)
        var numbers: [String] = []
        var negated = false
        var questionWords: Set<String> = []
        var entities: Set<String> = []
        var contentCounts: [String: Int] = [:]
        var ordered: [String] = []
        for (index, word) in words.enumerated() {
            let lower = Self.withoutClitic(word.lowercased().replacingOccurrences(of: "\u{2019}", with: "'"))
            if lower.contains(where: \.isNumber) || Vocabulary.numberWords.contains(lower) { numbers.append(lower) }
            if Vocabulary.negations.contains(lower) || lower.hasSuffix("n't") {
                negated = true
                continue
            }
            if Vocabulary.questionWords.contains(lower) { questionWords.insert(lower) }
            let isStopWord = Vocabulary.stopWords.contains(lower)
            if !isStopWord {
                let stem = Self.stem(lower)
                contentCounts[stem, default: 0] += 1
                ordered.append(stem)
                if index > 0, word.first?.isUppercase == true { entities.insert(stem) }
            } else if Vocabulary.relationalWords.contains(lower) {
                ordered.append(lower)
            }
        }
        // Runs of Chinese, Japanese or Korean characters: read by character (see ChineseProfile).
        var reading = ChineseProfile.Reading()
        var run: [Character] = []
        for character in text + " " {
            if let scalar = character.unicodeScalars.first, ChineseProfile.isCJK(scalar) {
                run.append(character)
            } else if !run.isEmpty {
                ChineseProfile.read(run, into: &reading)
                run = []
            }
        }
        numbers += reading.numbers
        negated = negated || reading.negated
        questionWords.formUnion(reading.questionClasses.map { "cjk:" + $0 })
        for (bigram, count) in reading.bigrams { contentCounts[bigram, default: 0] += count }
        ordered += reading.ordered
        self.init(
            numbers: numbers.sorted(), negated: negated, questionWords: questionWords, entities: entities,
            contentCounts: contentCounts, ordered: ordered)
    }

    /// Runs of letters, digits and underscores, with inner apostrophes kept ("don't", "Tim's").
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var pendingApostrophe = false
        for character in text {
            if (character.isLetter || character.isNumber || character == "_")
                && !(character.unicodeScalars.first.map(ChineseProfile.isCJK) ?? false)
            {
                if pendingApostrophe {
                    current.append("'")
                    pendingApostrophe = false
                }
                current.append(character)
            } else if (character == "'" || character == "\u{2019}") && !current.isEmpty && !pendingApostrophe {
                pendingApostrophe = true
            } else {
                if !current.isEmpty { words.append(current) }
                current = ""
                pendingApostrophe = false
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// "what's" → "what", "they're" → "they": the clitic is a stop word. "n't" stays (it is a negation).
    static func withoutClitic(_ word: String) -> String {
        guard let apostrophe = word.lastIndex(of: "'") else { return word }
        switch word[word.index(after: apostrophe)...] {
        case "s", "re", "ve", "ll", "d", "m": return String(word[..<apostrophe])
        default: return word
        }
    }

    /// Plural and possessive endings only: enough to match "dilemma" with "dilemmas" without a dictionary.
    static func stem(_ word: String) -> String {
        var word = Substring(word)
        if word.hasSuffix("'s") { word = word.dropLast(2) }
        if word.count > 4, word.hasSuffix("ies") { return String(word.dropLast(3)) + "y" }
        if word.count > 3, word.hasSuffix("s"), !word.hasSuffix("ss"), !word.hasSuffix("us"), !word.hasSuffix("is") {
            return String(word.dropLast())
        }
        return String(word)
    }
}

enum Vocabulary {
    static let stopWords: Set<String> = [
        "a", "an", "the", "of", "to", "in", "on", "at", "for", "from", "by", "with", "about", "as", "into", "onto",
        "over", "under", "than", "then", "that", "this", "these", "those", "it", "its", "is", "are", "was", "were",
        "be", "been", "being", "am", "do", "does", "did", "doing", "have", "has", "had", "having", "will", "would",
        "shall", "should", "can", "could", "may", "might", "must", "i", "me", "my", "mine", "we", "us", "our", "you",
        "your", "he", "him", "his", "she", "her", "they", "them", "their", "what", "which", "who", "whom", "whose",
        "when", "where", "why", "how", "there", "here", "and", "or", "but", "if", "so", "because", "while", "also",
        "very", "just", "only", "really", "much", "many", "more", "most", "some", "any", "all", "each", "every",
        "other", "another", "such", "own", "same", "too", "s", "t", "d", "ll", "m", "re", "ve", "y", "o",
    ]
    static let relationalWords: Set<String> = [
        "from", "to", "into", "onto", "toward", "towards", "than", "before", "after", "between", "against", "versus",
        "vs", "above", "below", "over", "under",
    ]
    static let negations: Set<String> = [
        "not", "no", "never", "nor", "none", "nobody", "nothing", "neither", "nowhere", "without", "cannot", "cant",
        "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "wouldnt", "shouldnt", "couldnt",
        "hasnt", "havent", "hadnt",
    ]
    static let questionWords: Set<String> = ["what", "which", "who", "whom", "whose", "when", "where", "why", "how"]
    static let numberWords: Set<String> = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",
        "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million", "billion",
        "trillion", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
        "half", "twice", "once",
    ]
}

extension LexicalGate {
    /// The cache's whole decision for one candidate: serve the answer stored for `candidate` to `query` at this
    /// similarity and base threshold? The lookup path and `airlock cache calibrate` both use it.
    public func admits(query: String, candidate: String, similarity: Float, threshold: Float) -> Bool {
        guard similarity >= threshold else { return false }
        guard case .pass(_, let required) = evaluate(query: query, candidate: candidate, threshold: threshold) else {
            return false
        }
        return similarity >= required
    }
}
