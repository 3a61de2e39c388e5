import AirlockTestSupport
import Foundation
import QwenEmulator
import Testing

@Suite("Chat completions, non-streaming")
struct ChatCompletionTests {
    @Test("the response has Qwen's exact shape")
    func responseShape() async throws {
        try await QwenEmulator.withRunning { emulator, baseURL in
            #expect(baseURL.hasPrefix("http://127.0.0.1:") && baseURL.hasSuffix("/compatible-mode/v1"))
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat("What is the capital of France?")
            #expect(reply.status == 200)
            #expect(reply.header("content-type") == "application/json")

            let json = try reply.json()
            #expect(Set(json.keys) == ["id", "object", "created", "model", "choices", "usage", "system_fingerprint"])
            let id = try #require(json["id"] as? String)
            #expect(id.hasPrefix("chatcmpl-"))
            #expect(UUID(uuidString: String(id.dropFirst("chatcmpl-".count))) != nil)
            #expect(json["object"] as? String == "chat.completion")
            #expect(json["model"] as? String == "qwen-plus")
            let created = try #require(json["created"] as? Int)
            #expect(abs(created - Int(Date().timeIntervalSince1970)) < 60)

            let choices = try #require(json["choices"] as? [[String: Any]])
            #expect(choices.count == 1)
            let choice = try #require(choices.first)
            #expect(choice["index"] as? Int == 0)
            #expect(choice["finish_reason"] as? String == "stop")
            #expect(choice["logprobs"] is NSNull)
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            let content = try #require(message["content"] as? String)
            #expect(content.split(separator: " ").count == 24)
            #expect(content.hasSuffix("."))

            let usage = try #require(json["usage"] as? [String: Any])
            let prompt = try #require(usage["prompt_tokens"] as? Int)
            let completion = try #require(usage["completion_tokens"] as? Int)
            #expect(prompt > 0)
            #expect(completion == 24)
            #expect(usage["total_tokens"] as? Int == prompt + completion)
            let details = try #require(usage["prompt_tokens_details"] as? [String: Any])
            #expect(details["cached_tokens"] as? Int == 0)
        }
    }

    @Test("answers are derived from the last user message and stable across calls")
    func deterministicAnswers() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let first = try await content(of: client.chat("Tell me about tides"))
            let again = try await content(of: client.chat("Tell me about tides"))
            let other = try await content(of: client.chat("Tell me about volcanoes"))
            #expect(first == again)
            #expect(first != other)

            // Only the last user message matters, so earlier turns do not change the answer.
            let body = #"""
                {"model":"qwen-max","messages":[{"role":"system","content":"Be brief."},
                {"role":"user","content":"earlier"},{"role":"assistant","content":"ok"},
                {"role":"user","content":"Tell me about tides"}]}
                """#
            let withHistory = try await client.post("/compatible-mode/v1/chat/completions", json: body)
            #expect(try content(of: withHistory) == first)
        }
    }

    @Test("a prompt in Chinese gets an answer in Chinese characters")
    func chineseAnswer() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let answer = try await content(of: client.chat("请介绍一下杭州"))
            #expect(answer.count == 25)  // 24 characters and the closing 。
            #expect(answer.hasSuffix("。"))
            #expect(answer.unicodeScalars.allSatisfy { (0x4E00...0x9FFF).contains($0.value) || $0 == "。" })
        }
    }

    @Test("max_tokens truncates the answer with finish_reason length")
    func maxTokens() async throws {
        var configuration = EmulatorConfiguration()
        configuration.answerTokens = 10
        try await QwenEmulator.withRunning(configuration) { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let json = try await client.chat("Explain caching", extra: #","max_tokens":4"#).json()
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "length")
            let text = try #require((choice["message"] as? [String: Any])?["content"] as? String)
            #expect(text.split(separator: " ").count == 4)
            #expect((json["usage"] as? [String: Any])?["completion_tokens"] as? Int == 4)

            let full = try await client.chat("Explain caching", extra: #","max_tokens":10"#).json()
            let fullChoice = try #require((full["choices"] as? [[String: Any]])?.first)
            #expect(fullChoice["finish_reason"] as? String == "stop")
        }
    }

    @Test("n returns that many choices, and n outside 1...4 is a 400")
    func multipleChoices() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let json = try await client.chat("Name a colour", extra: #","n":3"#).json()
            let choices = try #require(json["choices"] as? [[String: Any]])
            #expect(choices.compactMap { $0["index"] as? Int } == [0, 1, 2])
            let texts = choices.compactMap { ($0["message"] as? [String: Any])?["content"] as? String }
            #expect(Set(texts).count == 3)
            #expect((json["usage"] as? [String: Any])?["completion_tokens"] as? Int == 72)

            for n in ["0", "5", "1.5", "\"2\""] {
                let reply = try await client.chat("Name a colour", extra: #","n":\#(n)"#)
                #expect(reply.status == 400, "n = \(n)")
                #expect(try errorCode(of: reply) == "invalid_parameter_error")
            }
        }
    }

    @Test("malformed requests get Qwen's 400 invalid_parameter_error and the server keeps serving")
    func validation() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let path = "/compatible-mode/v1/chat/completions"
            let cases: [(String, String)] = [
                ("{not json", "unparseable"),
                (#"{"model":"qwen-plus"}"#, "missing messages"),
                (#"{"model":"qwen-plus","messages":[]}"#, "empty messages"),
                (#"{"model":"qwen-plus","messages":"hi"}"#, "mistyped messages"),
                (#"{"messages":[{"role":"user","content":"hi"}]}"#, "missing model"),
                (#"{"model":7,"messages":[{"role":"user","content":"hi"}]}"#, "mistyped model"),
                (#"{"model":"qwen-plus","messages":[{"role":"wizard","content":"hi"}]}"#, "unknown role"),
                (
                    #"{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}],"stream":"yes"}"#,
                    "mistyped stream"
                ),
                (#"{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}],"max_tokens":0}"#, "max_tokens 0"),
                (
                    #"{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}],"temperature":2.5}"#,
                    "temperature"
                ),
                (
                    #"{"model":"qwen-plus","messages":[{"role":"user","content":"hi"}],"enable_thinking":true}"#,
                    "thinking without stream"
                ),
                ("[1,2,3]", "not an object"),
            ]
            for (body, label) in cases {
                let reply = try await client.post(path, json: body)
                #expect(reply.status == 400, "\(label)")
                let json = try reply.json()
                let error = try #require(json["error"] as? [String: Any], "\(label)")
                #expect(error["code"] as? String == "invalid_parameter_error", "\(label)")
                #expect(error["type"] as? String == "invalid_request_error", "\(label)")
                #expect(error["message"] is String, "\(label)")
                #expect(error.keys.contains("param"), "\(label)")
                #expect(UUID(uuidString: json["request_id"] as? String ?? "") != nil, "\(label)")
            }
            #expect(try await client.chat("still there?").status == 200)
        }
    }

    @Test("known models, -latest and dated snapshots are served; others are 404 model_not_found")
    func models() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            for model in [
                "qwen-plus", "qwen-max", "qwen-flash", "qwen-turbo", "qwen3-max", "qwen3.5-plus", "qwen3.5-flash",
                "qwen-plus-latest", "qwen3.5-flash-latest", "qwen-plus-2025-09-11", "qwen3-max-2025-09-23",
            ] {
                let reply = try await client.chat("hi", model: model)
                #expect(reply.status == 200, "\(model)")
                #expect(try reply.json()["model"] as? String == model)
            }
            for model in ["gpt-4o", "qwen-plus-2025-13-01", "qwen-plus-newest", "qwen", "text-embedding-v4"] {
                let reply = try await client.chat("hi", model: model)
                #expect(reply.status == 404, "\(model)")
                #expect(try errorCode(of: reply) == "model_not_found", "\(model)")
            }
        }
    }

    @Test("a missing or wrong key is 401 invalid_api_key")
    func authentication() async throws {
        var configuration = EmulatorConfiguration()
        configuration.apiKey = "sk-right"
        try await QwenEmulator.withRunning(configuration) { emulator, _ in
            let port = try await emulator.waitUntilListening()
            let anonymous = try await LoopbackHTTPClient(port: port, apiKey: nil).chat("hi")
            #expect(anonymous.status == 401)
            #expect(try errorCode(of: anonymous) == "invalid_api_key")
            let wrong = try await LoopbackHTTPClient(port: port, apiKey: "sk-wrong").chat("hi")
            #expect(wrong.status == 401)
            #expect(try errorCode(of: wrong) == "invalid_api_key")
            let right = try await LoopbackHTTPClient(port: port, apiKey: "sk-right").chat("hi")
            #expect(right.status == 200)
        }
        // Without a configured key any bearer key passes, but a missing header still fails.
        try await QwenEmulator.withRunning { emulator, _ in
            let port = try await emulator.waitUntilListening()
            #expect(try await LoopbackHTTPClient(port: port, apiKey: "anything").chat("hi").status == 200)
            #expect(try await LoopbackHTTPClient(port: port, apiKey: nil).chat("hi").status == 401)
        }
    }

    @Test("the emulator records exactly what it received")
    func recordsRequests() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let body = #"{"model":"qwen-plus","messages":[{"role":"user","content":"record me"}],"seed":7}"#
            let reply = try await client.post(
                "/compatible-mode/v1/chat/completions", json: body, headers: [("X-Trace", "abc")])
            #expect(reply.status == 200)
            let stats = emulator.stats
            #expect(stats.chatRequests == 1)
            #expect(stats.lastChatRequestBody == Array(body.utf8))
            #expect(stats.lastAuthorization == "Bearer sk-test")
            #expect(stats.lastRequestHeaders["x-trace"] == "abc")
            #expect(stats.lastRequestHeaders["content-type"] == "application/json")

            emulator.resetStats()
            #expect(emulator.stats == EmulatorStats())
        }
    }

    @Test("the configured first-byte latency delays the answer")
    func firstByteLatency() async throws {
        var configuration = EmulatorConfiguration()
        configuration.firstByteLatency = .milliseconds(250)
        try await QwenEmulator.withRunning(configuration) { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.chat("slow please")
            #expect(reply.status == 200)
            #expect(reply.elapsed >= .milliseconds(250))
        }
    }

    @Test("unknown paths and wrong methods get OpenAI-style errors")
    func unknownRoutes() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let missing = try await client.get("/compatible-mode/v1/completions/legacy")
            #expect(missing.status == 404)
            #expect(try errorCode(of: missing) == "not_found")
            let outside = try await client.get("/v1/chat/completions")
            #expect(outside.status == 404)
            let wrongMethod = try await client.get("/compatible-mode/v1/chat/completions")
            #expect(wrongMethod.status == 405)
            #expect(try errorCode(of: wrongMethod) == "method_not_allowed")
        }
    }
}

func content(of reply: LoopbackHTTPClient.Reply) throws -> String {
    let json = try reply.json()
    let choice = try #require((json["choices"] as? [[String: Any]])?.first, "no choices in \(reply.text)")
    return try #require((choice["message"] as? [String: Any])?["content"] as? String)
}

func errorCode(of reply: LoopbackHTTPClient.Reply) throws -> String? {
    (try reply.json()["error"] as? [String: Any])?["code"] as? String
}
