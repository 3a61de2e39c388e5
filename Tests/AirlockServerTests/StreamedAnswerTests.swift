import AirlockTestSupport
import ChatWire
import Foundation
import Inspection
import Outcomes
import SemanticCache
import Testing

@testable import AirlockServer

/// The streamed path's state machine, fed events by hand: no I/O.
@Suite struct StreamedAnswerTests {
    static let pack = """
        pack: demo
        description: Demo output rules.
        rules:
          - id: demo-email
            description: E-mail addresses.
            kind: regex
            scope: both
            patterns: ['[a-z.]+@[a-z]+\\.com']
            entity: EMAIL
            action: tokenize
            examples:
              match: ["mail jane@example.com"]
              no_match: ["no address"]
          - id: demo-key
            description: A secret key in an answer stops it.
            kind: regex
            scope: output
            patterns: ['sk-[a-z0-9]{16}']
            action: block
            examples:
              match: ["sk-abcdefghij012345"]
              no_match: ["sk-short"]
        """

    /// The rule set and the prompt's placeholders (`jane.doe@example.com` is `<EMAIL_1>`).
    static func inspection() async throws -> StreamedAnswer.Inspection {
        let rules = try await RuleSet.load(
            directory: try AirlockHarness.rulesDirectory(["demo.yaml": pack]), logger: quietLogger)
        let prompt = await rules.inspectPrompt(messages: [
            InspectedMessage(role: "user", content: "Mail jane.doe@example.com please.")
        ])
        #expect(prompt.tokens.value(for: "<EMAIL_1>") == "jane.doe@example.com")
        return StreamedAnswer.Inspection(ruleSet: rules, tokens: prompt.tokens, maxHoldbackBytes: 1024)
    }

    static func event(_ json: String) -> [UInt8] { Array("data: \(json)\n\n".utf8) }
    static let done = Array("data: [DONE]\n\n".utf8)

    static func content(_ text: String, finish: String? = nil) -> [UInt8] {
        let reason = finish.map { #""\#($0)""# } ?? "null"
        let escaped = text.replacingOccurrences(of: "\"", with: "\\\"")
        return event(
            #"{"id":"c1","model":"qwen-plus","choices":[{"index":0,"delta":{"content":"\#(escaped)"},"finish_reason":\#(reason)}]}"#)
    }

    static func toolCall(_ arguments: String, id: String? = nil, name: String? = nil, finish: String? = nil) -> [UInt8] {
        let reason = finish.map { #""\#($0)""# } ?? "null"
        var function = #""arguments":"\#(arguments.replacingOccurrences(of: "\"", with: "\\\""))""#
        if let name { function = #""name":"\#(name)","# + function }
        let head = id.map { #""id":"\#($0)","type":"function","# } ?? ""
        return event(
            #"{"id":"c1","model":"qwen-plus","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,\#(head)"function":{\#(function)}}]},"finish_reason":\#(reason)}]}"#)
    }

    /// Feeds every event, judging with "nothing found" when asked; returns what the client got and the ending.
    static func run(_ answer: inout StreamedAnswer, _ events: [[UInt8]]) -> (sent: String, ending: StreamedAnswer.Ending) {
        var sent: [UInt8] = []
        for event in events {
            var step = answer.feed(event: event)
            if case .judge(let text, _) = step {
                step = answer.judged(
                    OutputInspection(
                        decision: .allow, text: text, isModified: false, findings: [], failures: [], refusal: nil),
                    took: .zero)
            }
            switch step {
            case .send(let bytes): sent += bytes
            case .stop(let bytes):
                sent += bytes
                let ending = answer.finish(transport: nil)
                return (String(decoding: sent + ending.tail, as: UTF8.self), ending)
            case .judge: Issue.record("judged twice")
            }
        }
        let ending = answer.finish(transport: nil)
        return (String(decoding: sent + ending.tail, as: UTF8.self), ending)
    }

    /// The client's text: every content delta (or tool-call arguments) joined.
    static func joined(_ sent: String, tools: Bool = false) -> String {
        sseEvents(Array(sent.utf8)).compactMap { $0 }.compactMap { event -> String? in
            guard let choices = event["choices"] as? [[String: Any]], let delta = choices.first?["delta"] as? [String: Any]
            else { return nil }
            if tools {
                return (delta["tool_calls"] as? [[String: Any]])?.compactMap {
                    ($0["function"] as? [String: Any])?["arguments"] as? String
                }.joined()
            }
            return delta["content"] as? String
        }.joined()
    }

    @Test func usageAirlockAskedForIsReadAndKeptFromAClientThatDidNotAskForIt() {
        let usage = #"{"id":"c1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":2}}}"#
        let events = [Self.content("Hi"), Self.content("!", finish: "stop"), Self.event(usage), Self.done]
        let expected = TokenUsage(promptTokens: 12, completionTokens: 3, cachedTokens: 8, reasoningTokens: 2)
        for assembles in [false, true] {
            var hidden = StreamedAnswer(
                classifier: OutcomeClassifier(), inspection: nil, assembles: assembles, passesUsage: false)
            let (sent, ending) = Self.run(&hidden, events)
            #expect(!sent.contains("usage"), "the client did not ask: \(sent)")
            #expect(Self.joined(sent) == "Hi!" && sent.hasSuffix("data: [DONE]\n\n"))
            #expect(ending.usage == expected && ending.outcome == .ok)
            if assembles { #expect(ending.completion?.usage == expected, "stored with the answer for its hits") }
            var shown = StreamedAnswer(
                classifier: OutcomeClassifier(), inspection: nil, assembles: assembles, passesUsage: true)
            let (passed, shownEnding) = Self.run(&shown, events)
            #expect(passed.contains(#""reasoning_tokens":2"#), "the client asked: the chunk as upstream sent it")
            #expect(shownEnding.usage == expected)
        }
        // Usage on a chunk that also carries a choice: only the field goes.
        let both = #"{"id":"c1","choices":[{"index":0,"delta":{"content":"Yo"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#
        var hidden = StreamedAnswer(classifier: OutcomeClassifier(), inspection: nil, assembles: false, passesUsage: false)
        let (sent, ending) = Self.run(&hidden, [Self.event(both), Self.done])
        #expect(!sent.contains("usage") && Self.joined(sent) == "Yo" && ending.usage?.totalTokens == 2)
    }

    @Test func outcomesOfEveryEnding() {
        func run(_ events: [String?]) -> StreamedAnswer.Ending {
            var answer = StreamedAnswer(classifier: OutcomeClassifier(), inspection: nil, assembles: true)
            return Self.run(&answer, events.map { $0.map(Self.event) ?? Array(": keep-alive\n\n".utf8) }).ending
        }
        let role = #"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#
        let token = #"{"choices":[{"index":0,"delta":{"content":"Hello"}}]}"#
        let finish = #"{"model":"qwen-plus","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}]}"#
        let usage = #"{"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}"#
        let clean = run([role, token, finish, usage, "[DONE]"])
        #expect(clean.outcome == .ok)
        #expect(clean.completion?.content == "Hello" && clean.completion?.usage?.totalTokens == 3)
        #expect(clean.completion?.model == "qwen-plus" && clean.completion?.finishReason == "stop")
        let cut = run([role, token])
        #expect(cut.outcome == .failureStreamCut && cut.completion == nil && cut.error == "stream_cut")
        #expect(run([role, token, "[DONE]"]).outcome == .failureStreamCut, "no finish_reason")
        let malformed = run([role, "{not json"])
        #expect(malformed.outcome == .failureMalformed && malformed.error == "upstream_malformed_response")
        // Strict: an event with a key twice is not read one way here and another way by the client.
        #expect(run([role, #"{"choices":[],"choices":[]}"#]).outcome == .failureMalformed)
        let filtered = run([
            role, token,
            #"{"error":{"code":"data_inspection_failed","message":"Output data may contain inappropriate content."}}"#,
        ])
        #expect(filtered.outcome == .refusalProviderOutput && filtered.completion == nil)
        let refusal = #"{"choices":[{"index":0,"delta":{"content":"I'm sorry, but I can't help with that."}}]}"#
        #expect(run([role, refusal, finish, "[DONE]"]).outcome == .refusalModel)
        // Thinking mode: declined in the reasoning, no answer; with an answer, the answer is what counts.
        let declinedThinking = #"{"choices":[{"index":0,"delta":{"reasoning_content":"I'm sorry, but I can't help with that."}}]}"#
        #expect(run([role, declinedThinking, finish, "[DONE]"]).outcome == .refusalModel)
        #expect(run([role, declinedThinking, token, finish, "[DONE]"]).outcome == .ok)
        var notAssembling = StreamedAnswer(classifier: OutcomeClassifier(), inspection: nil, assembles: false)
        let thinkingOnly = Self.run(&notAssembling, [role, declinedThinking, finish, "[DONE]"].map(Self.event)).ending
        #expect(thinkingOnly.outcome == .refusalModel, "the reasoning is kept for the judgement even when not cached")
        #expect(run([role, token, nil, finish, "[DONE]"]).outcome == .ok, "comments are ignored")
        // Out-of-range numbers never trap.
        #expect(run([#"{"choices":[{"index":1e300,"delta":{"content":"x"},"finish_reason":"stop"}]}"#, "[DONE]"]).outcome == .ok)
    }

    @Test func aMalformedEventIsNeverPassedOn() {
        var answer = StreamedAnswer(classifier: OutcomeClassifier(), inspection: nil, assembles: false)
        let (sent, ending) = Self.run(&answer, [Self.content("Hi"), Self.event("{broken"), Self.content("more")])
        #expect(!sent.contains("broken") && !sent.contains("more"))
        #expect(sent.contains("upstream_malformed_response") && sent.contains(": x-airlock-outcome: failure_malformed"))
        #expect(ending.upstreamOutcome == .failureMalformed)
    }

    @Test func theAnswerStoredHasRulesAppliedAndPlaceholdersKept() async throws {
        var answer = StreamedAnswer(classifier: OutcomeClassifier(), inspection: try await Self.inspection(), assembles: true)
        let (sent, ending) = Self.run(
            &answer,
            [Self.content("Sent to <EMA"), Self.content("IL_1> and bob@"), Self.content("example.com."),
             Self.content("", finish: "stop"), Self.done])
        #expect(Self.joined(sent) == "Sent to jane.doe@example.com and [EMAIL].")
        #expect(ending.outcome == .ok)
        #expect(ending.completion?.content == "Sent to <EMAIL_1> and [EMAIL].")
        #expect(sent.hasSuffix(": x-airlock-outcome: ok\n\ndata: [DONE]\n\n"))
    }

    @Test func toolCallArgumentsAreInspectedAndRestored() async throws {
        var answer = StreamedAnswer(classifier: OutcomeClassifier(), inspection: try await Self.inspection(), assembles: true)
        let (sent, ending) = Self.run(
            &answer,
            [Self.toolCall(#"{"to":"<EMAIL"#, id: "call_1", name: "send_mail"), Self.toolCall(#"_1>","cc":"bob@example.com"}"#),
             Self.toolCall("", finish: "tool_calls"), Self.done])
        #expect(Self.joined(sent, tools: true) == #"{"to":"jane.doe@example.com","cc":"[EMAIL]"}"#)
        #expect(ending.outcome == .ok)
        let stored = try #require(ending.completion?.toolCallsJSON)
        #expect(stored.contains(#"<EMAIL_1>"#) && !stored.contains("jane.doe") && stored.contains("send_mail"))
        #expect(stored.contains("call_1"))
    }

    @Test func aBlockRuleInToolCallArgumentsStopsTheAnswer() async throws {
        var answer = StreamedAnswer(classifier: OutcomeClassifier(), inspection: try await Self.inspection(), assembles: true)
        let (sent, ending) = Self.run(
            &answer,
            [Self.toolCall(#"{"key":"sk-abcdef"#, id: "call_1", name: "login"), Self.toolCall(#"ghij012345"}"#),
             Self.toolCall("", finish: "tool_calls"), Self.done])
        #expect(!sent.contains("sk-abcdef"))
        #expect(ending.outcome == .blockedOutput(rule: "demo-key") && ending.upstreamOutcome == .ok)
        #expect(sent.contains("blocked_output") && sent.hasSuffix("data: [DONE]\n\n"))
        #expect(ending.completion == nil)
    }

    @Test func theModelChecksReadTheAnswerWithPlaceholdersKept() async throws {
        var answer = StreamedAnswer(classifier: OutcomeClassifier(), inspection: try await Self.inspection(), assembles: false)
        _ = answer.feed(event: Self.content("Write to <EMAIL_1>", finish: "stop"))
        guard case .judge(let text, let complete) = answer.feed(event: Self.done) else {
            Issue.record("no judgement asked for")
            return
        }
        #expect(text == "Write to <EMAIL_1>")
        #expect(complete)
        // A block from the model checks stops the answer before [DONE].
        let step = answer.judged(
            OutputInspection(
                decision: .block(rules: ["demo-guard"]), text: text, isModified: false, findings: [], failures: [],
                refusal: nil), took: .zero)
        #expect(step == .stop([]))
        let ending = answer.finish(transport: nil)
        #expect(ending.outcome == .blockedOutput(rule: "demo-guard"))
    }

    @Test func aReplayedAnswerAssemblesBackToItself() {
        let completion = CachedCompletion(
            model: "qwen-plus", content: "Paris is the capital of France.", reasoningContent: "The user asks a fact.",
            finishReason: "stop", usage: .init(promptTokens: 12, completionTokens: 7, totalTokens: 19),
            systemFingerprint: "fp-1")
        var answer = StreamedAnswer(classifier: OutcomeClassifier(), inspection: nil, assembles: true)
        let events = CompletionReplay.sseEvents(completion, id: "c", created: 1, includeUsage: true, chunkCharacters: 5)
        #expect(Self.run(&answer, events).ending.completion == completion)
    }

    @Test func toolCallsRoundTripThroughTheCacheForm() {
        let calls = #"[{"function":{"arguments":"{\"city\":\"Paris\"}","name":"weather"},"id":"call_1","type":"function"}]"#
        let completion = CachedCompletion(model: "m", content: "", toolCallsJSON: calls, finishReason: "tool_calls")
        var answer = StreamedAnswer(classifier: OutcomeClassifier(), inspection: nil, assembles: true)
        let events = CompletionReplay.sseEvents(completion, id: "x", created: 1, includeUsage: false)
        let ending = Self.run(&answer, events).ending
        #expect(ending.completion?.toolCallsJSON == calls)
    }

    @Test func aWholeAnswersToolCallArgumentsAreInspectedAndRestored() async throws {
        let inspection = try await Self.inspection()
        let body = Array(
            #"{"object":"chat.completion","model":"qwen-plus","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function","function":{"name":"send_mail","arguments":"{\"to\":\"<EMAIL_1>\",\"cc\":\"bob@example.com\"}"}}]}}]}"#.utf8)
        let parsed = try #require(try JSONValue.parse(body).objectValue)
        let policy = ChatCompletionsRoute.PromptPolicy(ruleSet: inspection.ruleSet, tokens: inspection.tokens, messages: [])
        let result = await WholeAnswerInspection.inspect(parsed, body: body, policy: policy)
        let client = String(decoding: result.clientBody, as: UTF8.self)
        #expect(client.contains(#"jane.doe@example.com"#) && client.contains("[EMAIL]") && !client.contains("bob@"))
        let stored = try #require(CachedCompletion(chatCompletion: result.stored))
        let calls = try #require(stored.toolCallsJSON)
        #expect(calls.contains("<EMAIL_1>") && !calls.contains("jane.doe") && !calls.contains("bob@"))
        // A hit puts this request's values back into the arguments too.
        let restored = stored.restoring(inspection.tokens)
        #expect(restored.toolCallsJSON?.contains("jane.doe@example.com") == true)

        let secret = Array(
            #"{"object":"chat.completion","model":"qwen-plus","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"login","arguments":"{\"key\":\"sk-abcdefghij012345\"}"}}]}}]}"#.utf8)
        let parsedSecret = try #require(try JSONValue.parse(secret).objectValue)
        let blocked = await WholeAnswerInspection.inspect(parsedSecret, body: secret, policy: policy)
        #expect(blocked.blockedBy == ["demo-key"])
    }

    @Test func indexesOutOfRangeStopTheStreamAndHugeNumbersNeverTrap() {
        func run(_ chunk: String) -> StreamedAnswer.Ending {
            var answer = StreamedAnswer(classifier: OutcomeClassifier(), inspection: nil, assembles: true)
            return Self.run(&answer, [Self.event(chunk), Self.done]).ending
        }
        // 1e300 is not an integer index: the choice's position stands in, as for a missing index.
        let huge = run(#"{"choices":[{"index":1e300,"delta":{"content":"Hi"},"finish_reason":"stop"}]}"#)
        #expect(huge.outcome == .ok && huge.completion?.content == "Hi")
        for chunk in [
            #"{"choices":[{"index":9223372036854775807,"delta":{"content":"Hi"}}]}"#,
            #"{"choices":[{"index":-1,"delta":{"content":"Hi"}}]}"#,
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":100000,"function":{"arguments":"{}"}}]}}]}"#,
        ] {
            let ending = run(chunk)
            #expect(ending.outcome == .failureMalformed, "\(chunk)")
            #expect(ending.error == "upstream_malformed_response")
            #expect(ending.completion == nil)
        }
    }

    @Test func anAnswerPastWhatIsKeptStreamsOnButIsNeitherStoredNorJudgedAsWhole() async throws {
        var answer = StreamedAnswer(
            classifier: OutcomeClassifier(), inspection: try await Self.inspection(), assembles: true, maxKeptBytes: 64)
        var sent = ""
        var judgedComplete: Bool?
        let events = (0..<10).map { _ in Self.content("0123456789 ") } + [Self.content("", finish: "stop"), Self.done]
        for event in events {
            var step = answer.feed(event: event)
            if case .judge(let text, let complete) = step {
                judgedComplete = complete
                #expect(text.utf8.count <= 64)
                step = answer.judged(
                    OutputInspection(decision: .allow, text: text, isModified: false, findings: [], failures: [], refusal: nil),
                    took: .zero)
            }
            if case .send(let bytes) = step { sent += String(decoding: bytes, as: UTF8.self) }
        }
        let ending = answer.finish(transport: nil)
        #expect(judgedComplete == false)
        #expect(Self.joined(sent) == String(repeating: "0123456789 ", count: 10), "the client gets the whole answer")
        #expect(ending.outcome == .ok)
        #expect(ending.completion == nil, "an answer Airlock did not keep whole is not stored")
    }

    @Test func anOversizedEventEndsTheStreamWithItsOwnError() {
        var answer = StreamedAnswer(classifier: OutcomeClassifier(), inspection: nil, assembles: true)
        _ = answer.feed(event: Self.content("Hello"))
        answer.eventOverflowed()
        let ending = answer.finish(transport: nil)
        #expect(ending.outcome == .failureMalformed)
        #expect(ending.error == "upstream_event_too_large")
        let tail = String(decoding: ending.tail, as: UTF8.self)
        #expect(tail.contains(#""code":"upstream_event_too_large""#))
        #expect(tail.hasSuffix("x-airlock-outcome: failure_malformed\n\n"))
    }
}
