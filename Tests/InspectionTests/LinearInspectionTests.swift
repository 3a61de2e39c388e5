import AirlockTestSupport
import Foundation
import Testing

@testable import Inspection

/// Inspection work grows with the text, not with the square of the number of findings.
@Suite struct LinearInspectionTests {
    static let pack = """
        pack: overlap
        description: Overlapping rules with priorities.
        rules:
          - id: email
            description: e-mail addresses
            kind: regex
            entity: EMAIL
            patterns: ['[a-z0-9.]+@[a-z0-9]+\\.com']
            action: tokenize
            priority: 10
            examples: {match: ["a@b.com"]}
          - id: domain
            description: a domain, inside an address or not
            kind: regex
            entity: DOMAIN
            patterns: ['[a-z0-9]+\\.com']
            action: mask
            examples: {match: ["b.com"]}
        """

    @Test func manyOverlappingFindingsResolveByPriorityAndEveryValueIsReplaced() async throws {
        let ruleSet = try await RuleSet.load(directory: try temporaryRules(["overlap.yaml": Self.pack]), logger: quietLogger())
        // 20,000 addresses (each also matching the lower-priority domain rule), and lone domains between them.
        let count = 20_000
        let text = (0..<count).map { "user\($0)@host\($0 % 7).com and site\($0).com" }.joined(separator: "; ")
        let inspection = ruleSet.inspectPromptPatterns(messages: [.init(role: "user", content: text)])
        let out = inspection.messages[0].content
        #expect(!out.contains("@"), "every address is tokenized")
        #expect(inspection.tokens.count == count)
        #expect(out.hasPrefix("<EMAIL_1> and "))
        #expect(!out.contains("site1.com"), "the lone domains are masked by the other rule")
        #expect(inspection.tokens.value(for: "<EMAIL_20000>") == "user19999@host0.com")
        // The report is capped; the count of what it leaves out is kept.
        #expect(inspection.findings.count == RuleSet.maxReportedFindings)
        #expect(inspection.findings.count + inspection.omittedFindings == 2 * count)
    }

    @Test func byteBitmapAgreesWithASet() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let size = Int.random(in: 1...700, using: &generator)
            var bitmap = ByteBitmap(count: size)
            var oracle = Set<Int>()
            for _ in 0..<200 {
                let start = Int.random(in: 0..<size, using: &generator)
                let end = Int.random(in: start...min(size, start + 150), using: &generator)
                let range = start..<end
                #expect(bitmap.anySet(range) == range.contains(where: oracle.contains))
                if Bool.random(using: &generator) {
                    bitmap.set(range)
                    oracle.formUnion(range)
                }
            }
        }
    }
}
