import AirlockTestSupport
import Foundation
import Testing

@testable import NamedEntities

/// Entities from LAC's words: names and organizations as LAC tags them, addresses put together from places, streets,
/// numbers and rooms, byte ranges into the text as given.
@Suite struct ChineseEntityRecognizerTests {
    static let recognizer = Result { ChineseEntityRecognizer(model: try LACModelTests.model.get()) }

    static func found(_ text: String) throws -> [(EntityType, String)] {
        let bytes = Array(text.utf8)
        return try recognizer.get().entities(in: text).map {
            ($0.type, String(decoding: bytes[$0.range], as: UTF8.self))
        }
    }

    static func contains(_ found: [(EntityType, String)], _ type: EntityType, _ text: String) -> Bool {
        found.contains { $0.0 == type && $0.1 == text }
    }

    @Test func namesAddressesAndOrganizations() throws {
        let first = try Self.found("张伟住在北京市海淀区中关村大街27号，他在腾讯公司工作。")
        #expect(Self.contains(first, .person, "张伟"), "\(first)")
        #expect(Self.contains(first, .address, "北京市海淀区中关村大街27号"), "\(first)")
        #expect(Self.contains(first, .organization, "腾讯公司"), "\(first)")

        let second = try Self.found("请把快递寄到上海市浦东新区张江路1000号3号楼502室，收件人李娜。")
        #expect(Self.contains(second, .address, "上海市浦东新区张江路1000号3号楼502室"), "\(second)")
        #expect(Self.contains(second, .person, "李娜"), "\(second)")

        // Places without a street are a location, not an address.
        let third = try Self.found("王小明和欧阳娜娜昨天去了杭州西湖。")
        #expect(Self.contains(third, .person, "王小明") && Self.contains(third, .person, "欧阳娜娜"), "\(third)")
        #expect(!third.contains { $0.0 == .address }, "\(third)")
        #expect(third.contains { $0.0 == .location && $0.1.hasPrefix("杭州") }, "\(third)")
    }

    @Test func rangesAreBytesOfTheWholeTextAndScoresAreProbabilities() throws {
        let recognizer = try Self.recognizer.get()
        let text = "Ticket #42 — customer note: 我叫李晓梅，住在上海市浦东新区张江路88号。Thanks!"
        let entities = recognizer.entities(in: text)
        let bytes = Array(text.utf8)
        let texts = entities.map { String(decoding: bytes[$0.range], as: UTF8.self) }
        #expect(texts.contains("李晓梅"), "\(texts)")
        #expect(texts.contains("上海市浦东新区张江路88号"), "\(texts)")
        #expect(entities.allSatisfy { $0.score > 0 && $0.score <= 1 })
        // In order, not overlapping.
        #expect(zip(entities, entities.dropFirst()).allSatisfy { $0.range.upperBound <= $1.range.lowerBound })
    }

    @Test func textWithoutHanCostsNothing() throws {
        let recognizer = try Self.recognizer.get()
        let english = "Hello, my name is John Smith and I live at 12 Baker Street, London."
        #expect(recognizer.workBytes(english) == 0)
        #expect(recognizer.entities(in: english).isEmpty)
        #expect(recognizer.workBytes("住在上海") == "住在上海".utf8.count)
    }

    @Test func longTextsAreReadInPiecesThatCoverEveryByte() throws {
        let recognizer = ChineseEntityRecognizer(model: try LACModelTests.model.get(), maxPieceScalars: 40)
        let sentence = "联系人张伟，电话号码稍后补充，地址上海市浦东新区张江路1000号，"
        let text = String(repeating: sentence, count: 20) + "谢谢"
        let pieces = recognizer.pieces(text)
        #expect(pieces.allSatisfy { $0.scalars.count <= 40 && $0.offsets.count == $0.scalars.count + 1 })
        #expect(pieces.first?.offsets.first == 0 && pieces.last?.offsets.last == text.utf8.count)
        for (piece, next) in zip(pieces, pieces.dropFirst()) { #expect(piece.offsets.last == next.offsets.first) }
        // Cut at commas, so every repetition's name and address are still found whole.
        let bytes = Array(text.utf8)
        let names = recognizer.entities(in: text).filter { $0.type == .person }
            .map { String(decoding: bytes[$0.range], as: UTF8.self) }
        #expect(names.count == 20 && Set(names) == ["张伟"], "\(names)")
    }
}
