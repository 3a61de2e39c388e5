import ChatWire
import AirlockTestSupport
import Testing

@testable import QwenEmulator

/// The pure parts, without a server: marker parsing, fault resolution, stream scripts and request validation.
@Suite("Emulator logic")
struct ScriptingTests {
    @Test("fault markers are found, parsed and stripped")
    func markers() {
        #expect(FaultMarker.first(in: "hi [[fault:rate_limit]] there")?.name == "rate_limit")
        #expect(FaultMarker.first(in: "hi [[fault:server_error:3]]")?.count == "3")
        #expect(FaultMarker.first(in: "no marker [[fault:unclosed") == nil)
        #expect(FaultMarker.stripped("hello [[fault:refusal]] world") == "hello  world")
        #expect(FaultMarker.stripped("[[fault:timeout]]") == "")
        #expect(FaultMarker.stripped("plain") == "plain")
    }

    @Test("a forced fault beats the header, the header beats a marker; defaults limit retry_after to one")
    func resolution() throws {
        let forced = try FaultDirective.resolve(
            forced: "unavailable", headerName: "rate_limit", headerCount: nil, lastUserText: "[[fault:refusal]]"
        ).get()
        #expect(forced == FaultDirective(fault: .unavailable, limit: nil))
        let header = try FaultDirective.resolve(
            forced: nil, headerName: "rate_limit", headerCount: "2", lastUserText: "[[fault:refusal]]"
        ).get()
        #expect(header == FaultDirective(fault: .rateLimit, limit: 2))
        let marker = try FaultDirective.resolve(
            forced: nil, headerName: nil, headerCount: nil, lastUserText: "x [[fault:rate_limit_retry_after]]"
        ).get()
        #expect(marker == FaultDirective(fault: .rateLimitRetryAfter, limit: 1))
        let none = try FaultDirective.resolve(forced: nil, headerName: nil, headerCount: nil, lastUserText: "x").get()
        #expect(none == nil)
        #expect(throws: QwenAPIError.self) {
            try FaultDirective.resolve(forced: nil, headerName: "nope", headerCount: nil, lastUserText: nil).get()
        }
        #expect(throws: QwenAPIError.self) {
            try FaultDirective.resolve(forced: nil, headerName: "timeout", headerCount: "-1", lastUserText: nil).get()
        }
    }

    @Test("fault counts are kept per fault and prompt")
    func admission() {
        let state = EmulatorState()
        let directive = FaultDirective(fault: .serverError, limit: 2)
        #expect(
            [
                state.admit(directive, prompt: "a"), state.admit(directive, prompt: "a"),
                state.admit(directive, prompt: "a"),
            ] == [true, true, false])
        #expect(state.admit(directive, prompt: "b"))
        #expect(state.admit(FaultDirective(fault: .rateLimit, limit: 2), prompt: "a"))
        state.resetFaultCounts()
        #expect(state.admit(directive, prompt: "a"))
    }

    @Test("stream scripts cut where a mid-stream fault says, never past the content")
    func scripts() {
        var request = ChatRequest(
            model: "qwen-plus", messages: [.init(role: "user", text: "hi")], stream: true, includeUsage: true,
            enableThinking: false, thinkingBudget: nil, maxTokens: 2, choiceCount: 1)
        var configuration = EmulatorConfiguration()
        configuration.answerTokens = 10
        let completion = ChatCompletion(request: request, configuration: configuration, source: .composed)

        let normal = StreamScript(completion: completion, includeUsage: true, ending: .normal).steps
        #expect(
            normal == [
                .role(choice: 0), .content(choice: 0, position: 0), .content(choice: 0, position: 1),
                .finish(choice: 0), .usage, .done,
            ])
        let cut = StreamScript(completion: completion, includeUsage: true, ending: .disconnect(afterTokens: 3)).steps
        #expect(
            cut == [.role(choice: 0), .content(choice: 0, position: 0), .content(choice: 0, position: 1), .disconnect])

        request.maxTokens = nil
        let long = ChatCompletion(request: request, configuration: configuration, source: .composed)
        let filtered = StreamScript(
            completion: long, includeUsage: false, ending: .errorEvent(.outputInspectionFailed, afterTokens: 3)
        ).steps
        #expect(filtered.count == 5)
        #expect(filtered.last == .errorEvent(.outputInspectionFailed))
        let malformed = StreamScript(completion: long, includeUsage: false, ending: .malformed(afterTokens: 1)).steps
        #expect(malformed.suffix(2) == [.malformedEvent, .done])
    }

    @Test("content parts are joined; tool-call turns may omit content")
    func contentParts() throws {
        let body = #"""
            {"model":"qwen-plus","messages":[
              {"role":"assistant","content":null,"tool_calls":[]},
              {"role":"user","content":[{"type":"text","text":"one"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"two"}]}
            ]}
            """#
        let request = try ChatRequest.parse(Array(body.utf8)).get()
        #expect(request.lastUserText == "one\ntwo")
        #expect(request.messages.count == 2)
    }

    @Test("token estimates count CJK characters and words")
    func tokenEstimate() {
        #expect(TokenEstimate.count("hello world") == 2)
        #expect(TokenEstimate.count("你好世界") == 4)
        #expect(TokenEstimate.count("it's 42!") == 5)  // it, ', s, 42, !
    }

    @Test("the JSON writer escapes what it must")
    func jsonEscaping() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("text", "quote \" backslash \\ newline \n tab \t bell \u{07} 中文")
        writer.nullMember("none")
        writer.endObject()
        let parsed = try JSONValue.parse(writer.bytes)
        #expect(parsed["text"]?.stringValue == "quote \" backslash \\ newline \n tab \t bell \u{07} 中文")
        #expect(parsed["none"] == JSONValue.null)
    }
}
