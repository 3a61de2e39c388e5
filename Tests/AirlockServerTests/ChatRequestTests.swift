import AirlockTestSupport
import ChatWire
import HTTPTypes
import Testing

@testable import AirlockServer

@Suite struct ChatRequestTests {
    func parse(_ text: String) throws(AirlockHTTPError) -> ChatRequest {
        do {
            return try ChatRequest.parse(Array(text.utf8))
        } catch {
            throw AirlockHTTPError(error)
        }
    }

    func rejection(_ text: String) -> AirlockHTTPError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func acceptsQwenExtrasAndReadsFields() throws {
        let request = try parse(
            #"{"model":"qwen-plus","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true,"stream_options":{"include_usage":true},"enable_thinking":true,"top_k":5}"#
        )
        #expect(request.model == "qwen-plus")
        #expect(request.messages.count == 2)
        #expect(request.messages[1].text == "hi")
        #expect(request.stream)
        #expect(request.includeUsage)
        #expect(request.body["top_k"] == 5)
    }

    @Test func untypedTextPartsAreTextAndTheBodyIsEncodedFromTheParse() throws {
        let request = try parse(
            #"{"model":"qwen-plus","seed":1152921504606846977,"messages":[{"role":"user","name":"ann","content":[{"text":"a"},{"type":"text","text":"b"},{"image":"https://x/y.png"}]}]}"#
        )
        #expect(request.messages[0].text == "a\nb")
        #expect(request.messages[0].fields["name"] == "ann")
        let sent = String(decoding: request.encodedBody(), as: UTF8.self)
        #expect(
            sent
                == #"{"messages":[{"content":[{"text":"a"},{"text":"b","type":"text"},{"image":"https://x/y.png"}],"name":"ann","role":"user"}],"model":"qwen-plus","seed":1152921504606846977}"#
        )
        #expect(String(decoding: request.encodedBody(model: "qwen-flash"), as: UTF8.self).contains(#""model":"qwen-flash""#))
    }

    @Test func aStreamAlwaysAsksUpstreamForUsage() throws {
        for options in ["", #","stream_options":null"#, #","stream_options":{}"#, #","stream_options":{"include_usage":false}"#,
            #","stream_options":{"include_usage":true}"#]
        {
            let request = try parse(
                #"{"model":"qwen-plus","stream":true,"messages":[{"role":"user","content":"x"}]\#(options)}"#)
            #expect(request.includeUsage == options.contains("true"), "\(options)")
            let sent = try JSONValue.parse(request.encodedBody())
            #expect(sent["stream_options"] == .object(["include_usage": .bool(true)]), "\(options)")
        }
        // Not streamed: the body goes up as parsed, stream_options untouched.
        let whole = try parse(#"{"model":"qwen-plus","messages":[{"role":"user","content":"x"}]}"#)
        #expect(try JSONValue.parse(whole.encodedBody())["stream_options"] == nil)
    }

    @Test(arguments: [
        ("{not json", nil as String?, "invalid_json"),
        ("[1,2]", nil, "invalid_json"),
        (#"{"messages":[{"role":"user","content":"x"}]}"#, "model", "missing_required_parameter"),
        (#"{"model":7,"messages":[{"role":"user","content":"x"}]}"#, "model", "invalid_type"),
        (#"{"model":"qwen-plus"}"#, "messages", "missing_required_parameter"),
        (#"{"model":"qwen-plus","messages":"hi"}"#, "messages", "invalid_type"),
        (#"{"model":"qwen-plus","messages":[]}"#, "messages", "empty_array"),
        (#"{"model":"qwen-plus","messages":[{"role":"wizard","content":"x"}]}"#, "messages[0].role", "invalid_value"),
        (#"{"model":"qwen-plus","messages":[{"role":"user","content":5}]}"#, "messages[0].content", "invalid_type"),
        (#"{"model":"qwen-plus","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#, "stream", "invalid_type"),
        (#"{"model":"qwen-plus","model":"x","messages":[{"role":"user","content":"x"}]}"#, "model", "duplicate_key"),
        (#"{"model":"qwen-plus","messages":[{"role":"user","content":[{"type":"hologram"}]}]}"#,
         "messages[0].content[0].type", "unsupported_content_part"),
        (#"{"model":"qwen-plus","messages":[{"role":"user","content":[{"text":"a","image":"b"}]}]}"#,
         "messages[0].content[0]", "unsupported_content_part"),
        (#"{"model":"qwen-plus","messages":[{"role":"user","content":[7]}]}"#, "messages[0].content[0]", "invalid_type"),
        (#"{"model":"qwen-plus","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":true}"#,
         "stream_options", "invalid_type"),
        (#"{"model":"qwen-plus","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":"yes"}}"#,
         "stream_options.include_usage", "invalid_type"),
        (#"{"model":"qwen-plus","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"chunk_size":5}}"#,
         "stream_options.chunk_size", "unknown_parameter"),
    ])
    func rejectsWithParamAndCode(body: String, param: String?, code: String) throws {
        let error = try #require(rejection(body))
        #expect(error.status.code == 400)
        #expect(error.type == "invalid_request_error")
        #expect(error.param == param)
        #expect(error.code == code)
        let json = String(decoding: error.body, as: UTF8.self)
        #expect(json.hasPrefix(#"{"error":{"#))
        #expect(json.contains(#""type":"invalid_request_error""#))
    }

    @Test func limitsOnModelMessagesAndPartsAreClientErrors() throws {
        let limits = ChatRequest.Limits(maxModelLength: 16, maxMessages: 3, maxContentParts: 4)
        func code(_ body: String) -> (param: String?, code: String?)? {
            do {
                _ = try ChatRequest.parse(Array(body.utf8), limits: limits)
                return nil
            } catch {
                let http = AirlockHTTPError(error)
                #expect(http.status.code == 400)
                return (http.param, http.code)
            }
        }
        let message = #"{"role":"user","content":"x"}"#
        // Model: at most 16 bytes, no control or line-separator characters (a newline would forge log lines).
        #expect(code(#"{"model":"qwen-plus-16byte","messages":[\#(message)]}"#) == nil)
        #expect(code(#"{"model":"qwen-plus-17bytes","messages":[\#(message)]}"#)! == ("model", "string_above_max_length"))
        #expect(code(#"{"model":"qwen\nfake log","messages":[\#(message)]}"#)! == ("model", "invalid_value"))
        #expect(code(#"{"model":"qwen\u2028x","messages":[\#(message)]}"#)! == ("model", "invalid_value"))
        #expect(code(#"{"model":"qwen\u0000","messages":[\#(message)]}"#)! == ("model", "invalid_value"))
        // Messages: at most 3.
        let three = Array(repeating: message, count: 3).joined(separator: ",")
        let four = Array(repeating: message, count: 4).joined(separator: ",")
        #expect(code(#"{"model":"qwen-plus","messages":[\#(three)]}"#) == nil)
        #expect(code(#"{"model":"qwen-plus","messages":[\#(four)]}"#)! == ("messages", "array_above_max_length"))
        // Content parts: at most 4 across the request.
        let part = #"{"type":"text","text":"p"}"#
        let twoParts = #"{"role":"user","content":[\#(part),\#(part)]}"#
        let threeParts = #"{"role":"user","content":[\#(part),\#(part),\#(part)]}"#
        #expect(code(#"{"model":"qwen-plus","messages":[\#(twoParts),\#(twoParts)]}"#) == nil)
        #expect(
            code(#"{"model":"qwen-plus","messages":[\#(twoParts),\#(threeParts)]}"#)!
                == ("messages[1].content", "array_above_max_length"))
    }
}
