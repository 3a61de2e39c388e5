import AirlockTestSupport
import Foundation
import Testing

@testable import NamedEntities

/// LAC run natively against LAC's own segmenter and reader (`scripts/ner/make_lac_fixture.py`, which imports them from
/// the sdist) and a numpy transcription of its network: the same segments, ids and tags for every fixture text.
@Suite struct LACModelTests {
    struct Fixture: Decodable {
        struct Case: Decodable {
            var text: String
            var segments: [String]
            var ids: [Int]
            var lengths: [Int]
            var tags: [String]
        }
        var cases: [Case]
    }

    static let directory = TestNERModel.directory
    static let model = Result { try LACModel(directory: directory) }
    static let fixture = Result {
        try JSONDecoder().decode(
            Fixture.self,
            from: Data(
                contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                    .appendingPathComponent("Fixtures/lac-reference.json")))
    }

    @Test func segmentsIdsAndTagsMatchTheReference() throws {
        let model = try Self.model.get()
        let cases = try Self.fixture.get().cases
        #expect(cases.count == 30)
        for reference in cases {
            #expect(model.segmenter.cut(reference.text) == reference.segments, "\(reference.text)")
            let units = model.units(reference.text)
            #expect(units.map(\.id) == reference.ids, "\(reference.text)")
            #expect(units.map(\.length) == reference.lengths, "\(reference.text)")
            #expect(model.tagIDs(units).map { model.tags[$0] } == reference.tags, "\(reference.text)")
        }
    }

    @Test func wordsCarryTheirClassAndSpan() throws {
        let model = try Self.model.get()
        let text = "我叫李晓梅，住在上海市浦东新区。"
        let words = model.words(text)
        let scalars = Array(text.unicodeScalars)
        for word in words {
            var slice = String.UnicodeScalarView()
            slice.append(contentsOf: scalars[word.start..<(word.start + word.length)])
            #expect(String(slice) == word.text)
        }
        #expect(words.map(\.text).joined() == text)
        let name = try #require(words.first { $0.text == "李晓梅" })
        #expect(name.tag == "PER" && name.start == 2 && name.length == 3)
        #expect(name.confidence > 0.5 && name.confidence <= 1)
        #expect(words.allSatisfy { $0.confidence > 0 && $0.confidence <= 1 })
        #expect(words.contains { $0.tag == "LOC" && $0.text.hasPrefix("上海") })
        #expect(model.words("").isEmpty)
    }

    /// The eight-lane exponential the GRU's activations use, against Foundation's `exp` over the range they see and
    /// at the clamps.
    @Test func exp8IsWithinTwoMillionthsOfExp() {
        var worst: Float = 0
        for step in 0..<4000 {
            let base = -40 + Float(step) * 0.02
            let lanes = SIMD8<Float>((0..<8).map { base + Float($0) * 0.0025 })
            let fast = LACModel.exp8(lanes)
            for lane in 0..<8 {
                let exact = exp(Double(lanes[lane]))
                worst = max(worst, Float(abs(Double(fast[lane]) - exact) / exact))
            }
        }
        #expect(worst < 2e-7, "worst relative error \(worst)")
        let clamped = LACModel.exp8(SIMD8(repeating: -1000))
        #expect(clamped[0] > 0 && clamped[0] < 1e-37)
        #expect(LACModel.exp8(SIMD8(repeating: 1000))[0].isFinite)
    }

    @Test func aDirectoryWithoutTheModelIsAClearError() {
        #expect(throws: (any Error).self) { try LACModel(directory: "/nonexistent/lac") }
    }
}

extension LACModelTests {
    /// The forward-backward class marginals against every one of the 57³ paths of a three-unit text.
    @Test func marginalsMatchEnumeratingEveryPath() throws {
        let model = try Self.model.get()
        let units = model.units("张伟好")
        try #require(units.count == 3)
        let emissions = model.emissionScores(units)
        let labels = model.tags.count
        let (path, confidence) = model.decode(units)
        func transition(_ from: Int, _ to: Int) -> Double { Double(model.incoming[to * labels + from]) }
        // Scores relative to the best path's, so that exp does not overflow.
        func score(_ a: Int, _ b: Int, _ c: Int) -> Double {
            Double(model.start[a]) + Double(emissions[a]) + transition(a, b) + Double(emissions[labels + b])
                + transition(b, c) + Double(emissions[2 * labels + c]) + Double(model.end[c])
        }
        let best = score(path[0], path[1], path[2])
        var total = 0.0
        var atPath = [0.0, 0.0, 0.0]
        for a in 0..<labels {
            for b in 0..<labels {
                for c in 0..<labels {
                    let weight = Foundation.exp(score(a, b, c) - best)
                    total += weight
                    // The class (B and I together) of each unit's tag, as `decode` reports it.
                    if model.tagClasses[a] == model.tagClasses[path[0]] { atPath[0] += weight }
                    if model.tagClasses[b] == model.tagClasses[path[1]] { atPath[1] += weight }
                    if model.tagClasses[c] == model.tagClasses[path[2]] { atPath[2] += weight }
                }
            }
        }
        for step in 0..<3 {
            #expect(abs(Double(confidence[step]) - atPath[step] / total) < 1e-4, "unit \(step)")
        }
    }
}
