import AirlockTestSupport
import Foundation
import QwenEmulator
import Testing

@Suite("Embeddings and the model list")
struct EmbeddingsAndModelsTests {
    static let path = "/compatible-mode/v1/embeddings"

    @Test("embeddings have the OpenAI shape and are deterministic unit vectors")
    func embeddingShape() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.post(
                Self.path, json: #"{"model":"text-embedding-v4","input":["the cat sat","a dog ran"]}"#)
            #expect(reply.status == 200)
            let json = try reply.json()
            #expect(json["object"] as? String == "list")
            #expect(json["model"] as? String == "text-embedding-v4")
            let usage = try #require(json["usage"] as? [String: Any])
            #expect((usage["prompt_tokens"] as? Int ?? 0) > 0)
            #expect(usage["total_tokens"] as? Int == usage["prompt_tokens"] as? Int)

            let data = try #require(json["data"] as? [[String: Any]])
            #expect(data.compactMap { $0["index"] as? Int } == [0, 1])
            #expect(data.allSatisfy { $0["object"] as? String == "embedding" })
            let vectors = try data.map { try #require($0["embedding"] as? [Double]) }
            #expect(vectors.allSatisfy { $0.count == 1024 })
            for vector in vectors {
                let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
                #expect(abs(norm - 1) < 1e-3)
            }
            #expect(vectors[0] != vectors[1])

            let again = try await client.post(Self.path, json: #"{"model":"text-embedding-v4","input":"the cat sat"}"#)
            let single = try #require((try again.json()["data"] as? [[String: Any]])?.first?["embedding"] as? [Double])
            #expect(single == vectors[0])
            #expect(emulator.stats.embeddingRequests == 2)
        }
    }

    @Test("dimensions picks the vector size; base64 encoding packs little-endian floats")
    func dimensionsAndEncoding() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let floats = try await client.post(
                Self.path, json: #"{"model":"text-embedding-v3","input":"hello","dimensions":64}"#)
            let vector = try #require((try floats.json()["data"] as? [[String: Any]])?.first?["embedding"] as? [Double])
            #expect(vector.count == 64)

            let packed = try await client.post(
                Self.path,
                json: #"{"model":"text-embedding-v3","input":"hello","dimensions":64,"encoding_format":"base64"}"#)
            let text = try #require((try packed.json()["data"] as? [[String: Any]])?.first?["embedding"] as? String)
            let bytes = try #require(Data(base64Encoded: text))
            #expect(bytes.count == 64 * 4)
            let decoded = stride(from: 0, to: bytes.count, by: 4).map { offset -> Double in
                let bits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
                return Double(Float(bitPattern: bits))
            }
            for (a, b) in zip(decoded, vector) { #expect(abs(a - b) < 1e-6) }
        }
    }

    @Test("embedding requests are validated like Qwen's")
    func embeddingValidation() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let eleven = (0..<11).map { "\"text \($0)\"" }.joined(separator: ",")
            let cases: [(String, Int, String)] = [
                (#"{"model":"text-embedding-v4","input":[\#(eleven)]}"#, 400, "invalid_parameter_error"),
                (#"{"model":"text-embedding-v4","input":"x","dimensions":100}"#, 400, "invalid_parameter_error"),
                (#"{"model":"text-embedding-v3","input":"x","dimensions":2048}"#, 400, "invalid_parameter_error"),
                (#"{"model":"text-embedding-v4","input":""}"#, 400, "invalid_parameter_error"),
                (#"{"model":"text-embedding-v4"}"#, 400, "invalid_parameter_error"),
                (#"{"model":"text-embedding-v4","input":[1,2]}"#, 400, "invalid_parameter_error"),
                (#"{"model":"text-embedding-v9","input":"x"}"#, 404, "model_not_found"),
                ("nope", 400, "invalid_parameter_error"),
            ]
            for (body, status, code) in cases {
                let reply = try await client.post(Self.path, json: body)
                #expect(reply.status == status, "\(body)")
                #expect(try errorCode(of: reply) == code, "\(body)")
            }
            let ten = (0..<10).map { "\"text \($0)\"" }.joined(separator: ",")
            #expect(
                try await client.post(Self.path, json: #"{"model":"text-embedding-v4","input":[\#(ten)]}"#).status
                    == 200)
        }
    }

    @Test("header faults apply to embeddings too")
    func embeddingFaults() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let body = #"{"model":"text-embedding-v4","input":"x"}"#
            let limited = try await client.post(
                Self.path, json: body, headers: [("x-emulator-fault", "rate_limit_retry_after")])
            #expect(limited.status == 429)
            #expect(limited.header("retry-after") == "1")
            #expect(
                try await client.post(Self.path, json: body, headers: [("x-emulator-fault", "rate_limit_retry_after")])
                    .status == 200)
            #expect(
                try await client.post(Self.path, json: body, headers: [("x-emulator-fault", "server_error")]).status
                    == 500)
        }
    }

    @Test("GET /models lists Qwen's models in the OpenAI list shape")
    func modelList() async throws {
        try await QwenEmulator.withRunning { emulator, _ in
            let client = LoopbackHTTPClient(port: try await emulator.waitUntilListening())
            let reply = try await client.get("/compatible-mode/v1/models")
            #expect(reply.status == 200)
            let json = try reply.json()
            #expect(json["object"] as? String == "list")
            let data = try #require(json["data"] as? [[String: Any]])
            #expect(
                data.allSatisfy {
                    $0["object"] as? String == "model" && $0["created"] is Int && $0["owned_by"] is String
                })
            let ids = Set(data.compactMap { $0["id"] as? String })
            let expected: Set = [
                "qwen-plus", "qwen-max", "qwen-flash", "qwen-turbo", "qwen3-max", "qwen3.5-plus", "qwen3.5-flash",
                "qwen-plus-latest", "text-embedding-v4", "text-embedding-v3",
            ]
            #expect(expected.isSubset(of: ids))
            #expect(emulator.stats.modelListRequests == 1)

            let anonymous = try await LoopbackHTTPClient(port: client.port, apiKey: nil).get(
                "/compatible-mode/v1/models")
            #expect(anonymous.status == 401)
        }
    }
}
