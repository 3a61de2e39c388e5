import AirlockTestSupport
import Foundation
import Testing

@testable import NamedEntities

/// The English model against its reference (`scripts/ner/english/perceptron.py`): `make models` trains it and writes
/// `check.json` with the trainer's feature strings and decoded entities for synthetic sentences, rows of the training
/// file and odd input (accents, dotted capitals, separators, an empty text); this implementation must give the same.
@Suite struct EnglishModelTests {
    static let model = Result { try EnglishModel(directory: TestNERModel.englishDirectory) }

    struct Check: Decodable {
        var text: String
        var spans: [[Span]]
        var features: [[String]]?

        enum Span: Decodable {
            case text(String)
            case number(Double)

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let number = try? container.decode(Double.self) { self = .number(number) } else {
                    self = .text(try container.decode(String.self))
                }
            }

            var number: Double? { if case .number(let value) = self { value } else { nil } }
            var text: String? { if case .text(let value) = self { value } else { nil } }
        }
    }

    static let checks = Result {
        try JSONDecoder().decode(
            [Check].self,
            from: Data(contentsOf: URL(fileURLWithPath: TestNERModel.englishDirectory + "/check.json")))
    }

    @Test func featuresAndEntitiesMatchTheReference() throws {
        let model = try Self.model.get()
        let checks = try Self.checks.get()
        #expect(checks.count >= 80)
        var featureTexts = 0
        var entityCount = 0
        for check in checks {
            let scalars = Array(check.text.unicodeScalars)
            let tokens = EnglishModel.tokens(scalars)
            if let expected = check.features {
                featureTexts += 1
                #expect(model.featureStrings(scalars, tokens) == expected, "\(check.text)")
            }
            let found = model.entities(in: check.text)
            #expect(found.count == check.spans.count, "\(check.text): \(found)")
            for (entity, span) in zip(found, check.spans) {
                entityCount += 1
                #expect(entity.type.rawValue == span[0].text)
                #expect(entity.range == Int(span[1].number ?? -1)..<Int(span[2].number ?? -1), "\(check.text)")
                #expect(abs(entity.score - (span[3].number ?? -1)) < 1e-4, "\(check.text): \(entity.score)")
            }
        }
        #expect(featureTexts >= 8)
        #expect(entityCount >= 100)
    }

    struct FeatureFixture: Decodable {
        var text: String
        /// [start byte, end byte, line start (0/1 or bool)]
        var tokens: [[FlexibleNumber]]
        var features: [[String]]

        struct FlexibleNumber: Decodable {
            var value: Int
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let bool = try? container.decode(Bool.self) { value = bool ? 1 : 0 } else {
                    value = try container.decode(Int.self)
                }
            }
        }
    }

    /// The committed fixture (`scripts/ner/english/make_fixture.py`): tokens and feature strings of odd and ordinary
    /// texts (accents, dotted capitals, Greek, digraphs, separators, Han beside Latin, numerals of other scripts).
    @Test func tokensAndFeaturesMatchTheCommittedFixture() throws {
        let model = try Self.model.get()
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/english-features.json")
        let fixtures = try JSONDecoder().decode([FeatureFixture].self, from: Data(contentsOf: url))
        #expect(fixtures.count >= 12)
        for fixture in fixtures {
            let scalars = Array(fixture.text.unicodeScalars)
            let tokens = EnglishModel.tokens(scalars)
            let expected = fixture.tokens.map { ($0[0].value, $0[1].value, $0[2].value == 1) }
            #expect(tokens.count == expected.count, "\(fixture.text.debugDescription)")
            for (token, (start, end, line)) in zip(tokens, expected) {
                #expect(token.bytes == start..<end && token.lineStart == line, "\(fixture.text.debugDescription)")
            }
            #expect(model.featureStrings(scalars, tokens) == fixture.features, "\(fixture.text.debugDescription)")
        }
    }

    @Test func tokensFollowLettersDigitsAndLines() throws {
        let text = "Dr. Anna-Lena Ørsted\nlives at 12b Hauptstraße, Zürich"
        let scalars = Array(text.unicodeScalars)
        let tokens = EnglishModel.tokens(scalars)
        let bytes = Array(text.utf8)
        let words = tokens.map { String(decoding: bytes[$0.bytes], as: UTF8.self) }
        #expect(words == ["Dr", ".", "Anna", "-", "Lena", "Ørsted", "lives", "at", "12b", "Hauptstraße", ",", "Zürich"])
        #expect(tokens.map(\.lineStart) == [true] + Array(repeating: false, count: 5) + [true] + Array(repeating: false, count: 5))
        #expect(EnglishModel.shape("McDonald's".unicodeScalars) == "XxXx'x")
        #expect(EnglishModel.shape("AB-1234".unicodeScalars) == "X-d")
    }

    static func found(_ recognizer: any EntityRecognizer, _ text: String) -> [(EntityType, String)] {
        let bytes = Array(text.utf8)
        return recognizer.entities(in: text).map { ($0.type, String(decoding: bytes[$0.range], as: UTF8.self)) }
    }

    @Test func namesAndAddressesInEnglishPrompts() throws {
        let recognizer = EnglishEntityRecognizer(model: try Self.model.get())
        let first = Self.found(recognizer, "Please send the signed contract to Margaret Okonkwo by Friday.")
        #expect(first.contains { $0 == (.person, "Margaret Okonkwo") }, "\(first)")
        let second = Self.found(recognizer, "My new address is 4821 Willow Creek Road, Springfield.")
        #expect(second.contains { $0.0 == .address && $0.1.hasPrefix("4821 Willow Creek Road") }, "\(second)")
        // Ordinary capitalized words are not names or addresses.
        let title = Self.found(recognizer, "What Is The Boiling Point Of Water At Sea Level?")
        #expect(!title.contains { $0.0 == .person || $0.0 == .address }, "\(title)")
        #expect(recognizer.workBytes("只有中文的句子。") == 0)
        #expect(recognizer.entities(in: "").isEmpty)
    }

    @Test func eachScriptGoesToItsModel() throws {
        let recognizer = try TestNERModel.recognizer()
        let found = Self.found(recognizer, "请把合同发给张伟，然后 email Margaret Okonkwo about the delay.")
        #expect(found.contains { $0 == (.person, "张伟") }, "\(found)")
        #expect(found.contains { $0 == (.person, "Margaret Okonkwo") }, "\(found)")
        // In order, none overlapping.
        let ranges = recognizer.entities(in: "请把合同发给张伟，然后 email Margaret Okonkwo about the delay.").map(\.range)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound })
    }
}
