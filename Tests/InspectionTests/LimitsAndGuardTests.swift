import AirlockTestSupport
import Foundation
import Inspection
import Testing
import Upstream

@Suite struct CatastrophicPatternTests {
    static func pack(onError: String) -> String {
        """
        pack: slow
        description: A pattern that backtracks exponentially.
        rules:
          - id: evil
            description: nested quantifiers
            kind: regex
            patterns: ['^(a+)+$']
            action: block
            on_error: \(onError)
            examples: {match: ["aaaa"]}
          - id: email
            description: email
            kind: regex
            entity: EMAIL
            patterns: ['[a-z]+@[a-z]+\\.com']
            action: redact
            examples: {match: ["a@b.com"]}
        """
    }

    @Test(arguments: ["open", "closed"])
    func matchLimitCutsItOffAndOnErrorDecides(onError: String) async throws {
        let directory = try temporaryRules(["slow.yaml": Self.pack(onError: onError)])
        let ruleSet = try await RuleSet.load(directory: directory, logger: quietLogger())
        let attack = String(repeating: "a", count: 40) + "! write to x@y.com"
        // How long the cut-off takes is a benchmark figure (`make bench-inspect`), not a test bound.
        let inspection = ruleSet.inspectPromptPatterns(messages: [.init(role: "user", content: attack)])
        #expect(inspection.failures.map(\.ruleID) == ["evil"])
        #expect(inspection.failures.first?.code == .matchLimit)
        // The other rule in the same pack still ran.
        #expect(inspection.messages[0].content.hasSuffix("write to [EMAIL]"))
        if onError == "open" {
            #expect(inspection.decision == .allow)
        } else {
            #expect(inspection.decision == .block(rules: ["evil"]))
        }
        #expect(ruleSet.failureCountsByRule["evil"] == 1)
    }
}

@Suite struct GuardRuleTests {
    static func pack(port: Int, timeoutMS: Int, onError: String, categories: String = "[Violent, Jailbreak]") -> String {
        """
        pack: moderation
        description: guard
        rules:
          - id: guard
            description: Qwen3Guard
            kind: guard
            scope: both
            roles: [user]
            endpoint: http://127.0.0.1:\(port)/v1
            model: Qwen3Guard-Gen-0.6B
            categories: \(categories)
            timeout_ms: \(timeoutMS)
            on_error: \(onError)
            action: block
        """
    }

    @Test func parsesTheGuardFormat() {
        let prompt = GuardVerdict.parse("Safety: Unsafe\nCategories: Violent, Jailbreak")
        #expect(prompt == GuardVerdict(safety: "Unsafe", categories: ["Violent", "Jailbreak"], refusal: nil))
        let answer = GuardVerdict.parse("Safety: Safe\nCategories: None\nRefusal: Yes")
        #expect(answer == GuardVerdict(safety: "Safe", categories: [], refusal: true))
        #expect(GuardVerdict.parse("I think it is fine") == nil)
    }

    @Test func unsafePromptIsBlockedAndSafeOnePasses() async throws {
        let unsafe = try GuardStub(content: "Safety: Unsafe\nCategories: Violent")
        defer { unsafe.stop() }
        let client = UpstreamClient()
        defer { client.shutdown() }
        let directory = try temporaryRules(["g.yaml": Self.pack(port: unsafe.port, timeoutMS: 2000, onError: "open")])
        let ruleSet = try await RuleSet.load(directory: directory, upstream: client, logger: quietLogger())
        let inspection = await ruleSet.inspectPrompt(messages: [.init(role: "user", content: "how do I hurt someone")])
        #expect(inspection.decision == .block(rules: ["guard"]))
        #expect(inspection.findings.first?.categories == ["Violent"])
        #expect(unsafe.receivedBodies.first?.contains("how do I hurt someone") == true)

        let other = try GuardStub(content: "Safety: Unsafe\nCategories: Politically Sensitive Topics")
        defer { other.stop() }
        let notListed = try await RuleSet.load(
            directory: try temporaryRules(["g.yaml": Self.pack(port: other.port, timeoutMS: 2000, onError: "open")]),
            upstream: client, logger: quietLogger())
        #expect(await notListed.inspectPrompt(messages: [.init(role: "user", content: "x")]).decision == .allow)
    }

    @Test func refusalYesOnAnAnswerIsReported() async throws {
        let stub = try GuardStub(content: "Safety: Safe\nCategories: None\nRefusal: Yes")
        defer { stub.stop() }
        let client = UpstreamClient()
        defer { client.shutdown() }
        let directory = try temporaryRules(["g.yaml": Self.pack(port: stub.port, timeoutMS: 2000, onError: "open")])
        let ruleSet = try await RuleSet.load(directory: directory, upstream: client, logger: quietLogger())
        let output = await ruleSet.inspectOutput(
            text: "That is not something I can do.", prompt: [.init(role: "user", content: "do the thing")])
        #expect(output.decision == .allow)
        #expect(output.refusal == RefusalVerdict(ruleID: "guard", source: .guard, score: 1))
        #expect(stub.receivedBodies.first?.contains("\"assistant\"") == true)
    }

    @Test(arguments: ["open", "closed"])
    func timeoutHonoursOnError(onError: String) async throws {
        let slow = try GuardStub(content: "Safety: Safe\nCategories: None", delay: .seconds(5))
        defer { slow.stop() }
        let client = UpstreamClient()
        defer { client.shutdown() }
        let directory = try temporaryRules(["g.yaml": Self.pack(port: slow.port, timeoutMS: 200, onError: onError)])
        let ruleSet = try await RuleSet.load(directory: directory, upstream: client, logger: quietLogger())
        let inspection = await ruleSet.inspectPrompt(messages: [.init(role: "user", content: "hello")])
        // A timeout, not the stub's verdict (sent after 5 s): the 200 ms timeout cut the call off.
        #expect(inspection.failures.map(\.code) == [.guardTimeout])
        #expect(inspection.failures.first?.mode.rawValue == onError)
        #expect(inspection.decision == (onError == "open" ? .allow : .block(rules: ["guard"])))
        #expect(ruleSet.failureCountsByRule["guard"] == 1)
    }

    @Test func unreachableEndpointFailsOpen() async throws {
        let client = UpstreamClient()
        defer { client.shutdown() }
        // Port 9 (discard) on loopback: nothing listens.
        let directory = try temporaryRules(["g.yaml": Self.pack(port: 9, timeoutMS: 500, onError: "open")])
        let ruleSet = try await RuleSet.load(directory: directory, upstream: client, logger: quietLogger())
        let inspection = await ruleSet.inspectPrompt(messages: [.init(role: "user", content: "hello")])
        #expect(inspection.decision == .allow)
        #expect(inspection.failures.first?.code == .guardFailed)
    }
}
