import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The request context: Hummingbird's core storage plus the connection, which the emulator needs to notice a client
/// that went away and to close a connection on purpose.
struct EmulatorRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// Routes requests under `/compatible-mode/v1` as Qwen's compatible mode does. Every answer, errors included, is
/// built here; nothing is left to Hummingbird's default error mapping.
struct EmulatorResponder: HTTPResponder {
    typealias Context = EmulatorRequestContext

    static let basePath = "/compatible-mode/v1"

    let configuration: EmulatorConfiguration
    let state: EmulatorState
    let logger: Logger

    func respond(to request: Request, context: Context) async throws -> Response {
        var exchange = Exchange(requestID: UUID().uuidString.lowercased(), start: .now)
        var path = request.uri.path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }

        do {
            let response = try await route(request, path: path, context: context, exchange: &exchange)
            log(request, path: path, status: response.status.code, exchange: exchange)
            return response
        } catch {
            // The connection is being closed on purpose or the client left; there is no answer to give.
            log(request, path: path, status: nil, exchange: exchange, error: error)
            throw error
        }
    }

    private func route(
        _ request: Request, path: String, context: Context, exchange: inout Exchange
    ) async throws -> Response {
        switch path {
        case Self.basePath + "/chat/completions":
            guard request.method == .post else { return methodNotAllowed(request, path: path, exchange: exchange) }
            return try await chatCompletions(request, context: context, exchange: &exchange)
        case Self.basePath + "/embeddings":
            guard request.method == .post else { return methodNotAllowed(request, path: path, exchange: exchange) }
            return try await embeddings(request, context: context, exchange: &exchange)
        case Self.basePath + "/models":
            guard request.method == .get else { return methodNotAllowed(request, path: path, exchange: exchange) }
            return models(request, exchange: exchange)
        case "/_emulator/requests":
            guard request.method == .get else { return methodNotAllowed(request, path: path, exchange: exchange) }
            return recentRequests(exchange: exchange)
        default:
            return errorResponse(.notFound(path: path), exchange: exchange)
        }
    }

    /// `GET /_emulator/requests`: the bodies of the most recent chat and embedding requests, oldest first, as
    /// `{"requests": [{"path", "body"}]}` (each body as the text it was): for tests of what reached the model, such
    /// as placeholders instead of names. Not part of Qwen's API.
    private func recentRequests(exchange: Exchange) -> Response {
        let entries = state.stats.recentRequestBodies.map { entry -> String in
            "{\"path\":\(Self.jsonString(entry.path)),\"body\":\(Self.jsonString(String(decoding: entry.body, as: UTF8.self)))}"
        }
        return jsonResponse(Array("{\"requests\":[\(entries.joined(separator: ","))]}".utf8), exchange: exchange)
    }

    /// `text` as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private func methodNotAllowed(_ request: Request, path: String, exchange: Exchange) -> Response {
        errorResponse(.methodNotAllowed(method: request.method.rawValue, path: path), exchange: exchange)
    }

    // MARK: Shared steps

    /// Records who called and with which headers; every API route does this first.
    func recordCaller(_ request: Request) {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            if let existing = headers[name] {
                headers[name] = existing + ", " + field.value
            } else {
                headers[name] = field.value
            }
        }
        let authorization = request.headers[.authorization]
        state.update { stats in
            stats.lastRequestHeaders = headers
            stats.lastAuthorization = authorization
        }
    }

    /// Qwen's bearer-key check: a missing key and a wrong one are both 401 `invalid_api_key`.
    func authorizationFailure(_ request: Request) -> QwenAPIError? {
        guard let header = request.headers[.authorization] else { return .missingAPIKey }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .missingAPIKey }
        let key = String(parts[1]).trimmingSpaces()
        guard !key.isEmpty else { return .missingAPIKey }
        if let expected = configuration.apiKey, key != expected { return .invalidAPIKey }
        return nil
    }

    /// The request body, or Qwen's 400 when it is larger than the emulator accepts.
    func collectBody(_ request: Request) async throws -> Result<[UInt8], QwenAPIError> {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: configuration.maxRequestBodyBytes)
            return .success(Array(buffer.readableBytesView))
        } catch let error as HTTPError where error.status == .contentTooLarge {
            return .failure(
                .invalidParameter(
                    "Range of input length should be [1, \(configuration.maxRequestBodyBytes)] bytes.", param: "input"))
        }
    }

    /// Holds the response back for `duration`. If the client goes away meanwhile, counts the request as abandoned
    /// and ends it. A graceful shutdown ends the wait too, so that a `timeout` fault cannot keep the emulator alive.
    func hold(_ duration: Duration, context: Context) async throws {
        guard duration > .zero else { return }
        let watch = await ConnectionWatchHandler.watch(of: context.channel)
        do {
            try await cancelWhenGracefulShutdown {
                if let watch { try await watch.sleep(for: duration) } else { try await Task.sleep(for: duration) }
            }
        } catch let error as EmulatorError where error.code == .clientDisconnected {
            state.update { $0.requestsAbandoned += 1 }
            context.channel.close(promise: nil)
            throw error
        } catch {
            // Shutting down: close instead of answering with something Qwen would not send.
            context.channel.close(promise: nil)
            throw error
        }
    }

    /// The `timeout` fault: never answer; return only when the client gives up (or the cap passes).
    func holdForever(context: Context) async throws -> Never {
        try await hold(configuration.timeoutFaultCap, context: context)
        context.channel.close(promise: nil)
        throw EmulatorError(.timeoutFaultExpired, "the timeout fault held the request for its whole cap")
    }

    // MARK: Responses

    func jsonResponse(status: Int = 200, _ bytes: [UInt8], exchange: Exchange) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[HeaderName.requestID] = exchange.requestID
        return Response(
            status: Self.status(status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func errorResponse(_ error: QwenAPIError, exchange: Exchange) -> Response {
        var response = jsonResponse(status: error.status, error.body(requestID: exchange.requestID), exchange: exchange)
        if let seconds = error.retryAfterSeconds {
            response.headers[.retryAfter] = String(seconds)
        }
        return response
    }

    /// A 200 JSON answer whose body stops half-way and whose connection then closes: `Content-Length` promises the
    /// whole body, so the client sees a truncated transfer, as when an upstream dies mid-answer.
    func truncatedResponse(_ bytes: [UInt8], exchange: Exchange) -> Response {
        let sent = Array(bytes.prefix(max(bytes.count / 2, 1)))
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[HeaderName.requestID] = exchange.requestID
        let body = ResponseBody(contentLength: bytes.count) { writer in
            try await writer.write(ByteBuffer(bytes: sent))
            throw EmulatorError(.deliberateDisconnect, "disconnect_midstream closed the connection")
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    static func status(_ code: Int) -> HTTPResponse.Status {
        switch code {
        case 200: return .ok
        case 400: return .badRequest
        case 401: return .unauthorized
        case 404: return .notFound
        case 405: return .methodNotAllowed
        case 413: return .contentTooLarge
        case 429: return .tooManyRequests
        case 500: return .internalServerError
        case 503: return .serviceUnavailable
        default: return HTTPResponse.Status(code: code)
        }
    }

    // MARK: Logging

    /// One line per request: id, route, status, model, fault, duration. Never the prompt, the answer or a key.
    private func log(_ request: Request, path: String, status: Int?, exchange: Exchange, error: (any Error)? = nil) {
        var metadata: Logger.Metadata = [
            "request_id": .string(exchange.requestID),
            "method": .string(request.method.rawValue),
            "path": .string(path),
            "duration_ms": .stringConvertible(exchange.elapsedMilliseconds),
        ]
        if let status { metadata["status"] = .stringConvertible(status) }
        if let model = exchange.model { metadata["model"] = .string(model) }
        if let stream = exchange.stream { metadata["stream"] = .stringConvertible(stream) }
        if let fault = exchange.fault { metadata["fault"] = .string(fault.rawValue) }
        if let error { metadata["ended"] = .string("\(error)") }
        logger.info("request", metadata: metadata)
    }
}

/// What the responder learns about one request as it goes, for its log line.
struct Exchange: Sendable {
    let requestID: String
    let start: ContinuousClock.Instant
    var model: String?
    var stream: Bool?
    var fault: EmulatorFault?

    init(requestID: String, start: ContinuousClock.Instant) {
        self.requestID = requestID
        self.start = start
    }

    var elapsedMilliseconds: Double {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        return (Double(seconds) * 1_000 + Double(attoseconds) / 1e15).rounded(toPlaces: 3)
    }
}

extension Double {
    fileprivate func rounded(toPlaces places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (self * scale).rounded() / scale
    }
}

/// Header names that HTTPTypes has no constant for.
enum HeaderName {
    // Literal, valid header names: the initializer only fails on invalid tokens.
    static let requestID = HTTPFields.Element.Name("x-request-id")!
    static let emulatorFault = HTTPFields.Element.Name("x-emulator-fault")!
    static let emulatorFaultCount = HTTPFields.Element.Name("x-emulator-fault-count")!
    static let emulatorDelay = HTTPFields.Element.Name("x-emulator-delay-ms")!
}
