/// What the encoder needs of a tokenizer: a text's ids with the model's special tokens around them, at most
/// `maxSequenceLength` long. `BertTokenizer` (WordPiece, all-MiniLM-L6-v2) and `E5Tokenizer` (SentencePiece unigram,
/// multilingual-e5-small) are the two.
public protocol SentenceTokenizer: Sendable {
    /// The longest sequence `encode` returns, special tokens included.
    var maxSequenceLength: Int { get }
    /// The id used for a token outside the vocabulary.
    var unkID: Int32 { get }
    func encode(_ text: String) -> [Int32]
}

extension BertTokenizer: SentenceTokenizer {}
