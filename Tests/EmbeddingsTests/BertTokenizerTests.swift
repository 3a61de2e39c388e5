import AirlockTestSupport
import Embeddings
import Testing

@Suite("BERT tokenizer")
struct BertTokenizerTests {
    @Test("token ids equal the reference tokenizer on every fixture string")
    func matchesReferenceFixture() throws {
        let tokenizer = try #require(try SharedModel.load().tokenizer as? BertTokenizer)
        let fixture = try decodeFixture(TokenizerFixture.self, "tokenizer-ids.json")
        #expect(fixture.cases.count >= 200)
        var mismatches = 0
        for item in fixture.cases {
            let ids = tokenizer.encode(item.text)
            if ids != item.ids {
                mismatches += 1
                Issue.record("text \(item.text.debugDescription): got \(ids), expected \(item.ids)")
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(fixture.cases.count) strings differ")
    }

    @Test("truncates to the maximum sequence length, [CLS] and [SEP] included")
    func truncates() throws {
        let tokenizer = try #require(try SharedModel.load().tokenizer as? BertTokenizer)
        let ids = tokenizer.encode(String(repeating: "hello ", count: 1000))
        #expect(ids.count == 256)
        #expect(ids.first == tokenizer.clsID)
        #expect(ids.last == tokenizer.sepID)
    }

    @Test("a small vocabulary: greedy longest match, continuations, unknown words")
    func wordPieceBasics() throws {
        let vocabulary = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "runn", "##ing", ",", "!",
        ]
        let tokenizer = try BertTokenizer(vocabulary: vocabulary, maxSequenceLength: 16)
        #expect(tokenizer.encode("UnAffable, running!") == [2, 5, 6, 7, 10, 8, 9, 11, 3])
        #expect(tokenizer.encode("unknownword") == [2, 1, 3])
        #expect(tokenizer.encode("") == [2, 3])
    }
}
