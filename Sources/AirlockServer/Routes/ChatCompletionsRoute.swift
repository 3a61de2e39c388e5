import AirlockConfiguration
import FleetStats
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Outcomes
import SemanticCache
import Upstream

/// `POST /v1/chat/completions`: validate, route upstream, classify the outcome, and hand the answer back: whole, or
/// event by event for streams.
struct ChatCompletionsRoute: Sendable {
    let router: UpstreamRouter
    let classifier: OutcomeClassifier
    let cache: ChatCache?
    let maxRequestBytes: Int
    let metrics: AirlockMetrics
    let logger: Logger

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        var record = RequestRecord(requestID: RequestID.make(from: request.headers[.requestID]), route: "chat")
        let parsed = await Self.readAndParse(request, limit: maxRequestBytes)
        guard case .success(let (chat, bytes)) = parsed else {
            if case .failure(let error) = parsed {
                return try finish(
                    error: error, outcome: .invalidRequest, record: &record, request: request, context: context)
            }
            preconditionFailure("unreachable")
        }
        record.model = chat.model
        record.stream = chat.stream

        // The cache: look up before any upstream call; a hit is served from here.
        var storage: CacheStorage?
        if let cache, let key = cache.key(for: chat, request: request, rulesVersion: "") {
            let controls = cache.controls(request)
            var vector: [Float]?
            var state = "miss"
            if controls.lookup {
                switch await cache.cache.lookup(key, threshold: controls.threshold) {
                case .hit(let hit):
                    metrics.recordCacheLookup(result: "hit", layer: hit.layer.rawValue)
                    record.cache = .hit
                    record.outcome = .cacheHit
                    record.status = 200
                    let (headers, body) = ChatCache.replay(
                        hit, stream: chat.stream, includeUsage: chat.includeUsage, requestID: record.requestID)
                    var allHeaders = headers
                    allHeaders[.airlockRequestID] = record.requestID
                    allHeaders[.airlockOutcome] = Outcome.cacheHit.description
                    record.finish(logger: logger, metrics: metrics)
                    return Response(status: .ok, headers: allHeaders, body: body)
                case .miss(let missVector):
                    vector = missVector
                    metrics.recordCacheLookup(result: "miss", layer: "none")
                case .bypass:
                    state = "bypass"
                    metrics.recordCacheLookup(result: "bypass", layer: "none")
                }
            }
            record.cache = state == "bypass" ? .bypass : .miss
            storage = CacheStorage(
                cache: cache, key: key, vector: vector, ttl: controls.ttl, store: controls.store, state: state)
        }

        let classifier = self.classifier
        let routed = await router.route(
            method: "POST", path: "/chat/completions", from: request, body: bytes, chat: chat, stream: chat.stream,
            requestID: record.requestID, classify: { classifier.classify(status: $0, body: $1) })
        record.target = routed.target.name
        record.attempts = routed.attempts
        record.upstreamFirstByte = routed.firstByte
        switch routed.result {
        case .stream(let response):
            record.upstreamStatus = response.status
            return streamed(response, target: routed.target, record: record, storage: storage)
        case .circuitOpen:
            let error = AirlockHTTPError(
                status: .serviceUnavailable,
                message: "Every upstream target is failing; Airlock is not sending requests to them for now.",
                type: "airlock_upstream_error", code: "circuit_open")
            return try finish(
                error: error, outcome: .failureCircuitOpen, record: &record, request: request, context: context)
        case .transport(let failure, let outcome):
            return try finish(
                error: UpstreamCall.error(for: failure), outcome: outcome, record: &record, request: request,
                context: context)
        case .whole(let status, let headers, let body, let outcome):
            record.upstreamStatus = status
            if outcome == .failureMalformed && (200..<300).contains(status) {
                let error = AirlockHTTPError(
                    status: .badGateway, message: "The upstream answered with a body that is not a valid completion.",
                    type: "airlock_upstream_error", code: "upstream_malformed_response")
                return try finish(error: error, outcome: outcome, record: &record, request: request, context: context)
            }
            if outcome == .ok, let storage, storage.store, let completion = CachedCompletion(chatCompletionJSON: body) {
                storage.cache.storeInBackground(storage.key, completion: completion, vector: storage.vector, ttl: storage.ttl)
            }
            var response = whole(status: status, headers: headers, body: body, outcome: outcome, record: &record)
            if let storage { response.headers[.airlockCache] = storage.state }
            return response
        }
    }

    /// What a miss needs to store its answer afterwards.
    struct CacheStorage: Sendable {
        let cache: ChatCache
        let key: CacheKey
        let vector: [Float]?
        let ttl: Duration?
        let store: Bool
        let state: String
    }

    private static func readAndParse(_ request: Request, limit: Int) async -> Result<(ChatRequest, [UInt8]), AirlockHTTPError> {
        do {
            let bytes = try await RequestBodyReader.read(request, limit: limit)
            return .success((try ChatRequest.parse(bytes), bytes))
        } catch {
            return .failure(error)
        }
    }

    private func finish(
        error: AirlockHTTPError, outcome: Outcome, record: inout RequestRecord, request: Request,
        context: some RequestContext
    ) throws -> Response {
        record.status = Int(error.status.code)
        record.error = error.code ?? error.type
        record.outcome = outcome
        record.finish(logger: logger, metrics: metrics)
        var response = try error.response(from: request, context: context)
        response.headers[.airlockRequestID] = record.requestID
        response.headers[.airlockOutcome] = outcome.description
        if let target = record.target { response.headers[.airlockUpstream] = target }
        return response
    }

    private func whole(
        status: Int, headers upstreamHeaders: [(String, String)], body: [UInt8], outcome: Outcome,
        record: inout RequestRecord
    ) -> Response {
        var headers = UpstreamCall.clientHeaders(from: upstreamHeaders)
        headers[.airlockRequestID] = record.requestID
        headers[.airlockOutcome] = outcome.description
        if let target = record.target { headers[.airlockUpstream] = target }
        headers[.contentLength] = String(body.count)
        record.status = status
        record.bytesOut = body.count
        record.outcome = outcome
        record.finish(logger: logger, metrics: metrics)
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Passes server-sent events through one whole event at a time, as they arrive, and follows them to decide the
    /// outcome. The outcome goes out as an SSE comment (`: x-airlock-outcome: …`) before `[DONE]`, since the headers
    /// left long before it was known. A stream that breaks ends with a well-formed `data: {"error":…}` event.
    /// Backpressure runs end to end: a slow client slows the writes, which stops the reads, which pauses libcurl.
    private func streamed(
        _ response: UpstreamResponse, target: UpstreamTarget, record: RequestRecord, storage: CacheStorage?
    ) -> Response {
        var headers = UpstreamCall.clientHeaders(from: response.headers)
        if let storage { headers[.airlockCache] = storage.state }
        headers[.airlockRequestID] = record.requestID
        headers[.airlockUpstream] = target.name
        headers[.cacheControl] = "no-cache"
        let logger = self.logger
        let metrics = self.metrics
        let classifier = self.classifier
        let body = ResponseBody { writer in
            var record = record
            record.status = 200
            var framer = SSEFramer()
            var tracker = StreamOutcomeTracker(classifier: classifier)
            var assembler = storage?.store == true ? StreamedCompletionAssembler() : nil
            var transportFailure: UpstreamError?
            do {
                streaming: for try await chunk in response.body {
                    var buffers: [ByteBuffer] = []
                    for event in framer.append(chunk) {
                        let data = SSEFramer.data(of: event)
                        let wasMalformed = tracker.malformed
                        tracker.observe(data: data)
                        if let data { assembler?.consume(data: String(decoding: data, as: UTF8.self)) }
                        if tracker.malformed && !wasMalformed {
                            // Do not hand the client an event it cannot parse; end with an error instead.
                            response.cancel()
                            break streaming
                        }
                        if tracker.sawDone {
                            buffers.append(Self.outcomeComment(tracker.outcome()))
                        }
                        buffers.append(ByteBuffer(bytes: event))
                        record.bytesOut += event.count
                    }
                    if !buffers.isEmpty { try await writer.write(contentsOf: buffers) }
                }
            } catch let failure as UpstreamError where failure.code != .cancelled {
                transportFailure = failure
            } catch {
                // The client went away: stop the upstream transfer too.
                response.cancel()
                record.outcome = .failureStreamCut
                record.error = "client_disconnected"
                target.breaker.recordNeutral()
                record.finish(logger: logger, metrics: metrics)
                throw error
            }
            var outcome = tracker.outcome()
            if let transportFailure, transportFailure.code.isTimeout, tracker.errorOutcome == nil {
                outcome = .failureTimeout
            }
            if !tracker.sawDone {
                var tail: [ByteBuffer] = []
                if tracker.errorOutcome == nil {
                    let error = Self.streamError(for: outcome, transport: transportFailure)
                    record.error = error.code
                    tail.append(ByteBuffer(bytes: Array("data: ".utf8) + error.body + Array("\n\n".utf8)))
                }
                tail.append(Self.outcomeComment(outcome))
                try await writer.write(contentsOf: tail)
            }
            target.breaker.record(outcome)
            metrics.recordAttempt(target: target.name, outcome: outcome)
            // Only a clean `ok` stream is stored: finish_reason and [DONE] seen, no error event.
            if outcome == .ok, tracker.endedCleanly, let storage, let completion = assembler?.completion {
                storage.cache.storeInBackground(storage.key, completion: completion, vector: storage.vector, ttl: storage.ttl)
            }
            record.outcome = outcome
            record.finish(logger: logger, metrics: metrics)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    static func outcomeComment(_ outcome: Outcome) -> ByteBuffer {
        ByteBuffer(string: ": x-airlock-outcome: \(outcome.description)\n\n")
    }

    static func streamError(for outcome: Outcome, transport: UpstreamError?) -> AirlockHTTPError {
        switch outcome {
        case .failureMalformed:
            return AirlockHTTPError(
                status: .badGateway, message: "The upstream sent an event that is not valid JSON; the stream was stopped.",
                type: "airlock_upstream_error", code: "upstream_malformed_response")
        case .failureTimeout:
            return AirlockHTTPError(
                status: .gatewayTimeout, message: "The upstream stopped sending mid-stream.",
                type: "airlock_upstream_error", code: "upstream_idle_timeout")
        default:
            return AirlockHTTPError(
                status: .badGateway,
                message: "The upstream stream ended before it was complete (no finish_reason and [DONE]).",
                type: "airlock_upstream_error", code: "stream_cut")
        }
    }
}

/// Reads a request body up to a limit; too large is a 413 in the OpenAI error shape.
enum RequestBodyReader {
    static func read(_ request: Request, limit: Int) async throws(AirlockHTTPError) -> [UInt8] {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw tooLarge(limit)
        }
        do {
            var buffer = try await request.body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw tooLarge(limit)
        } catch {
            throw AirlockHTTPError(
                status: .badRequest, message: "The request body could not be read.", type: "invalid_request_error",
                code: "unreadable_body")
        }
    }

    static func tooLarge(_ limit: Int) -> AirlockHTTPError {
        AirlockHTTPError(
            status: .contentTooLarge, message: "The request body is larger than Airlock accepts (\(limit) bytes).",
            type: "invalid_request_error", param: nil, code: "request_too_large")
    }
}
