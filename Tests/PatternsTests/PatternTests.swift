import Foundation
import Patterns
import Testing

@Suite struct PatternTests {
    @Test func matchesReportUTF8ByteOffsets() throws {
        let pattern = try Pattern(#"[0-9]{3}"#)
        let match = try #require(try pattern.firstMatch(in: "号码é123"))
        // "号码" is 6 bytes, "é" 2 bytes.
        #expect(match.range == 8..<11)
        #expect(pattern.isJITCompiled)
    }

    @Test func unicodePropertiesAndCaseFolding() throws {
        let pattern = try Pattern(#"\bstraße\b"#, options: .caseInsensitive)
        #expect(try pattern.matches("die STRASSE oder Straße"))
        let word = try Pattern(#"\w+"#)
        #expect(try word.firstMatch(in: "身份证")?.range == 0..<9)
    }

    @Test func compileErrorCarriesOffset() {
        #expect {
            _ = try Pattern("abc(def")
        } throws: { error in
            guard let error = error as? PatternError else { return false }
            return error.code == .compileFailed && error.offset == 7 && !error.message.isEmpty
        }
    }

    @Test func allMatchesAreNonOverlappingAndAdvancePastEmptyMatches() throws {
        let pattern = try Pattern(#"a*"#)
        let matches = try pattern.allMatches(in: "baab")
        #expect(matches.map(\.range) == [0..<0, 1..<3, 3..<3, 4..<4])
    }

    @Test func capturesAndMarks() throws {
        let pattern = try Pattern(#"(?:(*MARK:mail)(\w+)@(\w+)|(*MARK:num)([0-9]+))"#)
        let mail = try #require(try pattern.firstMatch(in: "to bob@host"))
        #expect(mail.mark == "mail")
        #expect(mail.groups[0] == 3..<6)
        #expect(mail.groups[2] == nil)
        let number = try #require(try pattern.firstMatch(in: "x 42"))
        #expect(number.mark == "num")
        #expect(number.groups[2] == 2..<4)
    }

    @Test func invalidUTF8IsToleratedInTheSubject() throws {
        let pattern = try Pattern(#"[0-9]+"#)
        let bytes: [UInt8] = [0xFF, 0xFE, 0x31, 0x32, 0xC3]
        let matcher = PatternMatcher(pattern)
        let match = try bytes.withUnsafeBufferPointer { try matcher.match($0) }
        #expect(match?.range == 2..<4)
    }

    @Test func partialHardReportsWhereAPossibleMatchBegins() throws {
        let pattern = try Pattern(#"[0-9]{4} [0-9]{4}"#)
        let matcher = PatternMatcher(pattern)
        let subject = Array("card 4111 11".utf8)
        let partial = try subject.withUnsafeBufferPointer { try matcher.match($0, mode: .partialHard) }
        #expect(partial?.isPartial == true)
        #expect(partial?.range.lowerBound == 5)
        // A complete match that could still grow is partial too.
        let grows = try Pattern(#"[0-9]+"#)
        let growing = try Array("id 123".utf8).withUnsafeBufferPointer {
            try PatternMatcher(grows).match($0, mode: .partialHard)
        }
        #expect(growing?.isPartial == true)
    }

    @Test func anchoredMatchSeesLookbehindContext() throws {
        let pattern = try Pattern(#"(?<![0-9])[0-9]{3}"#)
        let matcher = PatternMatcher(pattern)
        let subject = Array("1234 567".utf8)
        let inside = try subject.withUnsafeBufferPointer { try matcher.match($0, from: 1, anchored: true) }
        #expect(inside == nil)
        let after = try subject.withUnsafeBufferPointer { try matcher.match($0, from: 5, anchored: true) }
        #expect(after?.range == 5..<8)
    }

    @Test func catastrophicBacktrackingIsCutOffByTheMatchLimit() throws {
        let pattern = try Pattern(#"^(a+)+$"#)
        let subject = String(repeating: "a", count: 40) + "!"
        // A hang would never get here; how fast the limit strikes is measured by `make bench-inspect`.
        #expect {
            _ = try pattern.firstMatch(in: subject)
        } throws: { error in
            (error as? PatternError)?.code == .matchLimitExceeded
        }
    }

    @Test func interpreterLimitsHoldWithoutJIT() throws {
        let pattern = try Pattern(#"(?:(a|aa)+)+$"#, limits: .init(matchLimit: 10_000))
        let subject = String(repeating: "a", count: 60) + "b"
        #expect(throws: PatternError.self) { _ = try pattern.firstMatch(in: subject) }
    }

    @Test func sharedAcrossThreads() async throws {
        let pattern = try Pattern(#"[a-z]+@[a-z]+\.com"#)
        let text = String(repeating: "write to ann@example.com or ", count: 50)
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 { group.addTask { try pattern.allMatches(in: text).count } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(counts == Array(repeating: 50, count: 8))
    }
}
