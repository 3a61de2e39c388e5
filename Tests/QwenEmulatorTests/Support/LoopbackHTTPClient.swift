import AirlockTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A deliberately small HTTP/1.1 client over raw NIO: one connection per request, every body part seen as it
/// arrives, and full control over when the connection is dropped, which is what the emulator's faults need.
struct LoopbackHTTPClient {
    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        /// The response ended with its terminating part (`Content-Length` satisfied or the last chunk seen).
        var endedCleanly: Bool
        /// Arrival time of each body part, relative to when the request was sent.
        var partArrivals: [Duration]
        var elapsed: Duration

        var text: String { String(decoding: body, as: UTF8.self) }

        func header(_ name: String) -> String? { headers.first(name: name) }

        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                throw TestFailure("body is not a JSON object: \(text)")
            }
            return object
        }

        /// The `data:` payloads of an event stream, in order.
        var events: [String] {
            text.components(separatedBy: "\n\n").compactMap { block in
                guard block.hasPrefix("data:") else { return nil }
                return String(block.dropFirst(5)).trimmingCharacters(in: .whitespaces)
            }
        }
    }

    /// When to stop reading a response early and close the connection.
    enum Cutoff {
        case never
        case afterBodyParts(Int)
        case after(Duration)
    }

    let port: Int
    var apiKey: String? = "sk-test"

    func post(
        _ path: String, json: String, headers: [(String, String)] = [], cutoff: Cutoff = .never
    ) async throws -> Reply {
        try await send(method: .POST, path: path, body: Array(json.utf8), headers: headers, cutoff: cutoff)
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Reply {
        try await send(method: .GET, path: path, body: nil, headers: headers, cutoff: .never)
    }

    /// `POST /compatible-mode/v1/chat/completions` with one user message.
    func chat(
        _ prompt: String, model: String = "qwen-plus", extra: String = "", headers: [(String, String)] = [],
        cutoff: Cutoff = .never
    ) async throws -> Reply {
        let body = #"{"model":"\#(model)","messages":[{"role":"user","content":\#(jsonString(prompt))}]\#(extra)}"#
        return try await post("/compatible-mode/v1/chat/completions", json: body, headers: headers, cutoff: cutoff)
    }

    func send(
        method: HTTPMethod, path: String, body: [UInt8]?, headers extraHeaders: [(String, String)], cutoff: Cutoff
    ) async throws -> Reply {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }

        var headers = HTTPHeaders([("Host", "127.0.0.1:\(port)")])
        if let apiKey { headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        if let body {
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.count))
        }
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)

        let clock = ContinuousClock()
        let start = clock.now
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(.head(head))
            if let body { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            try await outbound.write(.end(nil))

            var reply = Reply(
                status: 0, headers: [:], body: [], endedCleanly: false, partArrivals: [], elapsed: .zero)
            do {
                for try await part in inbound {
                    switch part {
                    case .head(let responseHead):
                        reply.status = Int(responseHead.status.code)
                        reply.headers = responseHead.headers
                    case .body(let buffer):
                        reply.body.append(contentsOf: buffer.readableBytesView)
                        reply.partArrivals.append(clock.now - start)
                    case .end:
                        reply.endedCleanly = true
                    }
                    if reply.endedCleanly { break }
                    switch cutoff {
                    case .never: break
                    case .afterBodyParts(let count):
                        if reply.partArrivals.count >= count {
                            reply.elapsed = clock.now - start
                            return reply
                        }
                    case .after(let limit):
                        if clock.now - start >= limit {
                            reply.elapsed = clock.now - start
                            return reply
                        }
                    }
                }
            } catch {
                // A connection closed mid-body surfaces as a parser error: the reply stays `endedCleanly == false`.
            }
            reply.elapsed = clock.now - start
            return reply
        }
    }

    /// Sends a request, then hangs up after `wait` without reading anything, as a client whose timeout fired.
    func sendAndAbandon(path: String, json: String, headers extraHeaders: [(String, String)], after wait: Duration)
        async throws -> Bool
    {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let body = Array(json.utf8)
        var headers = HTTPHeaders([
            ("Host", "127.0.0.1:\(port)"), ("Authorization", "Bearer sk-test"), ("Content-Length", String(body.count)),
        ])
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(
                .head(HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers)))
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
            try await outbound.write(.end(nil))
            // Whether anything arrived while we waited.
            let receivedSomething = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    var iterator = inbound.makeAsyncIterator()
                    return try await iterator.next() != nil
                }
                group.addTask {
                    try await Task.sleep(for: wait)
                    return false
                }
                let first = try await group.next() ?? false
                group.cancelAll()
                return first
            }
            return receivedSomething
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A JSON string literal for `text`.
func jsonString(_ text: String) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: [text])) ?? Data("[\"\"]".utf8)
    let array = String(decoding: data, as: UTF8.self)
    return String(array.dropFirst().dropLast())
}

