import AirlockTestSupport
import Foundation
import Inspection
import Testing

@Suite struct RulePackLoadingTests {
    static let valid = """
        pack: demo
        description: A demo pack.
        rules:
          - id: demo-email
            description: email
            kind: regex
            entity: EMAIL
            patterns: ['[a-z]+@[a-z]+\\.com']
            action: redact
            examples: {match: ["a@b.com"], no_match: ["nothing"]}
        """

    @Test func brokenPackIsRejectedWithFileAndLine() throws {
        let broken = """
            pack: broken
            description: A broken pack.
            rules:
              - id: ok-rule
                description: fine
                kind: regex
                patterns: ['abc']
                action: flag
                examples: {match: ["abc"]}
              - id: bad-rule
                description: bad
                kind: regex
                patterns:
                  - 'fine'
                  - '(unclosed'
                action: redact
                examples: {match: ["fine"]}
              - id: bad-action
                description: bad action
                kind: regex
                patterns: ['x']
                action: obliterate
                examples: {match: ["x"]}
            """
        let directory = try temporaryRules(["10-broken.yaml": broken])
        let report = RuleSet.check(directory: directory)
        let file = directory + "/10-broken.yaml"
        #expect(report.errors.contains { $0.file == file && $0.line == 22 && $0.message.contains("action") })
        // The action error stops that rule; the pattern error is found when the directory compiles.
        var loadErrors: [InspectionError] = []
        do {
            _ = try RuleSet.parsePacks(directory: directory)
        } catch {
            loadErrors = error.errors
        }
        #expect(loadErrors.contains { $0.file == file && $0.line == 22 })

        let badPattern = try temporaryRules(["p.yaml": broken.replacingOccurrences(of: "action: obliterate", with: "action: flag")])
        let patternReport = RuleSet.check(directory: badPattern)
        let patternError = try #require(patternReport.errors.first { $0.code == .invalidPattern })
        #expect(patternError.file == badPattern + "/p.yaml")
        #expect(patternError.line == 15)
        #expect(patternError.ruleID == "bad-rule")
        #expect(patternError.description.hasPrefix(badPattern + "/p.yaml:15:"))
    }

    @Test func yamlSyntaxErrorsCarryTheirLine() throws {
        let directory = try temporaryRules(["a.yaml": "pack: x\nrules:\n  - id: [unclosed\n"])
        let report = RuleSet.check(directory: directory)
        let error = try #require(report.errors.first)
        #expect(error.file == directory + "/a.yaml")
        #expect((error.line ?? 0) >= 3)
    }

    @Test func unknownKeysAndMissingFieldsAreReported() throws {
        let text = """
            pack: demo
            rules:
              - id: r1
                kind: regex
                patterns: ['a']
                action: flag
                colour: blue
            """
        let directory = try temporaryRules(["d.yaml": text])
        let errors = RuleSet.check(directory: directory).errors
        #expect(errors.contains { $0.line == 7 && $0.message.contains("colour") })
        #expect(errors.contains { $0.line == 3 && $0.message.contains("description") })
        #expect(errors.contains { $0.message.contains("examples.match") })
    }

    @Test func duplicateIdsAcrossPacksAreRejected() async throws {
        let directory = try temporaryRules([
            "a.yaml": Self.valid, "b.yaml": Self.valid.replacingOccurrences(of: "pack: demo", with: "pack: demo2"),
        ])
        await #expect(throws: RuleLoadFailure.self) {
            _ = try await RuleSet.load(directory: directory, logger: quietLogger())
        }
    }

    @Test func versionFollowsTheRules() async throws {
        let a = try await RuleSet.load(directory: try temporaryRules(["a.yaml": Self.valid]), logger: quietLogger())
        let b = try await RuleSet.load(directory: try temporaryRules(["a.yaml": Self.valid]), logger: quietLogger())
        let changed = Self.valid.replacingOccurrences(of: "action: redact", with: "action: mask")
        let c = try await RuleSet.load(directory: try temporaryRules(["a.yaml": changed]), logger: quietLogger())
        #expect(a.version == b.version)
        #expect(a.version != c.version)
    }

    @Test func reloadSwapsOnSuccessAndKeepsTheOldSetOnABadFile() async throws {
        let directory = try temporaryRules(["a.yaml": Self.valid])
        let store = RuleSetStore(try await RuleSet.load(directory: directory, logger: quietLogger()), logger: quietLogger())
        let first = store.current.version
        try "pack: demo\nrules: [oops".write(toFile: directory + "/a.yaml", atomically: true, encoding: .utf8)
        let failed = await store.reload()
        guard case .failure(let failure) = failed else {
            Issue.record("a broken file must not load")
            return
        }
        #expect(failure.errors.first?.file == directory + "/a.yaml")
        #expect(store.current.version == first)
        #expect(store.failedReloadCount == 1)
        try Self.valid.replacingOccurrences(of: "action: redact", with: "action: mask")
            .write(toFile: directory + "/a.yaml", atomically: true, encoding: .utf8)
        let reloaded = await store.reload()
        #expect((try? reloaded.get()) != nil)
        #expect(store.current.version != first)
        #expect(store.reloadCount == 1)
    }
}
