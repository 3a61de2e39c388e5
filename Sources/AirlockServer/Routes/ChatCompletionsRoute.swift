import AirlockConfiguration
import ChatWire
import FleetStats
import HTTPTypes
import Hummingbird
import Inspection
import Logging
import NIOCore
import Outcomes
import Prometheus
import SemanticCache
import ServiceLifecycle
import StreamPacing
import Upstream

/// `POST /v1/chat/completions`: validate, route upstream, classify the outcome, and hand the answer back: whole, or
/// event by event for streams.
struct ChatCompletionsRoute: Sendable {
    let router: UpstreamRouter
    let classifier: OutcomeClassifier
    let cache: ChatCache?
    let maxRequestBytes: Int
    /// Where parsing and inspection of large bodies run (never on the event loops); full means shed.
    let pool: WorkPool
    let requestLimits: ChatRequest.Limits
    let metrics: AirlockMetrics
    /// The rule set to inspect with; nil runs without inspection.
    let rules: RuleSetStore?
    /// Prices answers; nil (`pricing.enabled: false`): no usage accounting.
    let prices: PriceBook?
    /// `cache.trust_tenant_header`: the deployment names tenants in `x-airlock-tenant` (spend is split by it).
    var trustsTenantHeader = false
    let maxHoldbackBytes: Int
    /// Largest single SSE event accepted from the upstream.
    let maxUpstreamEventBytes: Int
    /// How long a stream may go on once graceful shutdown begins.
    let drainTimeout: Duration
    let logger: Logger

    func handle(_ request: Request, context: AirlockRequestContext) async throws -> Response {
        var record = RequestRecord(requestID: RequestID.make(from: request.headers[.requestID]), route: "chat")
        // Records the outcome, metrics, log line and ledger entry once, whichever way the request ends.
        let scope = RequestScope(logger: logger, metrics: metrics)
        if trustsTenantHeader, let tenant = request.headers[.airlockTenant], !tenant.isEmpty {
            record.tenant = tenant
        }
        let requestBytes: [UInt8]
        do {
            requestBytes = try await RequestBodyReader.read(request, limit: maxRequestBytes)
        } catch {
            return try finish(
                error: error, outcome: .invalidRequest, record: &record, scope: scope, request: request, context: context)
        }
        let limits = requestLimits
        guard let parsed = await heavy(requestBytes.count, { Self.parse(requestBytes, limits: limits) }) else {
            return try shed(record: &record, scope: scope, request: request, context: context)
        }
        guard case .success(let parsedChat) = parsed else {
            if case .failure(let error) = parsed {
                return try finish(
                    error: error, outcome: .invalidRequest, record: &record, scope: scope, request: request, context: context)
            }
            preconditionFailure("unreachable")
        }
        record.model = parsedChat.model
        record.stream = parsedChat.stream
        var chat = parsedChat

        // Inspection of the prompt, before the cache and before any upstream call.
        var policy: PromptPolicy?
        if let ruleSet = rules?.current {
            let (texts, sources) = chat.inspectedTexts()
            let started = ContinuousClock.now
            // A network NER model's work goes to the pool however short the text: model time never runs on an event
            // loop; the English model's linear work runs inline only for a short prompt. (What the models would read
            // is a scan, done only for a text short enough to run inline.)
            let bytes = texts.reduce(0) { $0 + $1.content.utf8.count }
            var size = bytes
            if bytes <= Self.inlineWorkBytes {
                switch ruleSet.promptEntityWork(texts) {
                case .network: size = Int.max
                case .linear where bytes > Self.inlineEntityBytes: size = Int.max
                case .linear, .none: break
                }
            }
            guard let inspection = await heavy(size, { await ruleSet.inspectPrompt(messages: texts) }) else {
                return try shed(record: &record, scope: scope, request: request, context: context)
            }
            metrics.inspection.recordDuration(scope: "prompt", ContinuousClock.now - started)
            metrics.inspection.record(findings: inspection.findings, scope: "prompt")
            metrics.inspection.record(failures: inspection.failures)
            record.rules += inspection.findings.map(\.ruleID) + inspection.failures.map(\.ruleID)
            if case .block(let blocking) = inspection.decision {
                let rule = blocking.first ?? "unknown"
                metrics.inspection.recordBlock(rule: rule, scope: "prompt")
                record.rules = RuleSet.uniqueIDs(blocking + record.rules)
                if let prices {
                    // The prompt's input cost, estimated from its length (the model never counted it).
                    let text = texts.map(\.content).joined(separator: "\n")
                    record.avoided(
                        prices.estimatedInput(text, model: chat.model, host: router.primaryHost),
                        reason: "blocked_prompt_estimate")
                }
                let error = AirlockHTTPError(
                    status: .badRequest,
                    message: "Airlock's policy blocked this prompt (\(Self.ruleList(blocking))).",
                    type: "airlock_policy", code: "blocked_prompt", rules: blocking)
                return try finish(
                    error: error, outcome: .blockedPrompt(rule: rule), record: &record, scope: scope, request: request,
                    context: context)
            }
            if inspection.isModified {
                chat = chat.replacingTexts(inspection.messages, sources: sources)
            }
            policy = PromptPolicy(ruleSet: ruleSet, tokens: inspection.tokens, messages: inspection.messages)
        }

        // The cache: look up before any upstream call; a hit is served from here.
        var storage: CacheStorage?
        if let cache, let key = cache.key(for: chat, request: request, rulesVersion: policy?.ruleSet.version ?? "") {
            let controls = cache.controls(request)
            var vector: [Float]?
            var state = "miss"
            if controls.lookup {
                // Embedding the key tokenizes its text: a long one is CPU work for the pool, not the event loop.
                let lookupCache = cache.cache
                let threshold = controls.threshold
                guard
                    let looked = await heavy(
                        key.text.utf8.count, { await lookupCache.lookup(key, threshold: threshold) })
                else {
                    return try shed(record: &record, scope: scope, request: request, context: context)
                }
                switch looked {
                case .hit(var hit):
                    metrics.recordCacheLookup(result: "hit", layer: hit.layer.rawValue)
                    // Stored answers hold placeholders; this request's values go back in.
                    if let policy { hit.entry.completion = hit.entry.completion.restoring(policy.tokens) }
                    record.cache = .hit
                    record.outcome = .cacheHit
                    record.status = 200
                    // What the hit saved: the stored answer's usage at today's rates, at the primary target.
                    if let usage = hit.entry.completion.usage, let prices {
                        let model = hit.entry.completion.model.isEmpty ? chat.model : hit.entry.completion.model
                        record.avoided(prices.price(usage, model: model, host: router.primaryHost), reason: "cache_hit")
                    }
                    let (headers, body) = ChatCache.replay(
                        hit, stream: chat.stream, includeUsage: chat.includeUsage, requestID: record.requestID)
                    var allHeaders = headers
                    allHeaders[.airlockRequestID] = record.requestID
                    allHeaders[.airlockOutcome] = Outcome.cacheHit.description
                    record.recordOverhead(metrics)
                    scope.finish(record)
                    return Response(status: .ok, headers: allHeaders, body: body)
                case .miss(let missVector):
                    vector = missVector
                    let judged = cache.cache.configuration.semanticScripts.contains(key.script)
                    metrics.recordCacheLookup(result: "miss", layer: judged ? "none" : "exact_only")
                case .bypass:
                    state = "bypass"
                    metrics.recordCacheLookup(result: "bypass", layer: "none")
                }
            }
            record.cache = state == "bypass" ? .bypass : .miss
            storage = CacheStorage(
                cache: cache, key: key, vector: vector, ttl: controls.ttl, store: controls.store, state: state)
        }

        // What goes upstream is encoded from the parsed (and possibly rewritten) request: the bytes the client sent
        // are never forwarded as they are, so nothing Airlock did not read can reach the model.
        let bytes = chat.encodedBody()
        let classifier = self.classifier
        let routeStarted = ContinuousClock.now
        let routed = await router.route(
            method: "POST", path: "/chat/completions", from: request, body: bytes, chat: chat, stream: chat.stream,
            requestID: record.requestID,
            classify: { status, body in
                // Parsed once, strictly, here: the outcome, the inspection and the cache all read this value.
                let json = body.isEmpty ? nil : try? JSONValue.parse(body)
                return Classified(outcome: classifier.classify(status: status, json: json), json: json)
            })
        record.upstreamTime = ContinuousClock.now - routeStarted
        record.target = routed.target.name
        record.attempts = routed.attempts
        // A fallback that serves another model produced this answer: it is stored under that model, never under the
        // one asked for.
        if let produced = routed.target.model, produced != chat.model, var moved = storage {
            if let cache, let key = cache.key(
                for: chat, request: request, rulesVersion: policy?.ruleSet.version ?? "", model: produced)
            {
                moved.key = key
            } else {
                moved.store = false
            }
            storage = moved
        }
        record.upstreamFirstByte = routed.firstByte
        switch routed.result {
        case .stream(let response):
            record.upstreamStatus = response.status
            return streamed(
                response, chat: chat, target: routed.target, record: record, scope: scope, storage: storage,
                policy: policy, channel: context.channel)
        case .circuitOpen:
            let error = AirlockHTTPError(
                status: .serviceUnavailable,
                message: "Every upstream target is failing; Airlock is not sending requests to them for now.",
                type: "airlock_upstream_error", code: "circuit_open")
            return try finish(
                error: error, outcome: .failureCircuitOpen, record: &record, scope: scope, request: request, context: context)
        case .transport(let failure, let outcome):
            return try finish(
                error: UpstreamCall.error(for: failure), outcome: outcome, record: &record, scope: scope, request: request,
                context: context)
        case .whole(let status, let headers, var body, let json, var outcome):
            record.upstreamStatus = status
            // A successful answer was parsed once, strictly; what did not parse is never passed on uninspected.
            var answer: [String: JSONValue]?
            if (200..<300).contains(status) {
                if case .object(let object)? = json { answer = object } else { outcome = .failureMalformed }
            }
            // Paid for whatever becomes of it (blocked, refused): counted in tokens and money.
            if let prices, let answer, let usage = TokenUsage(json: answer["usage"]) {
                let model = answer["model"]?.stringValue ?? routed.target.model ?? chat.model
                record.spend(usage, prices.price(usage, model: model, host: routed.target.host))
            }
            if outcome == .failureMalformed && (200..<300).contains(status) {
                let error = AirlockHTTPError(
                    status: .badGateway, message: "The upstream answered with a body that is not a valid completion.",
                    type: "airlock_upstream_error", code: "upstream_malformed_response")
                return try finish(error: error, outcome: outcome, record: &record, scope: scope, request: request, context: context)
            }
            var stored = answer
            if let policy, let parsed = answer, outcome == .ok || outcome == .refusalModel {
                let started = ContinuousClock.now
                let answerBody = body
                // An answer already paid for is never shed: it waits for a pool thread instead.
                let cost = policy.ruleSet.outputNeedsEntityModel ? Int.max : body.count
                let inspected = await heavyAnswer(cost) {
                    await WholeAnswerInspection.inspect(parsed, body: answerBody, policy: policy)
                }
                metrics.inspection.recordDuration(scope: "output", ContinuousClock.now - started)
                metrics.inspection.record(findings: inspected.findings, scope: "output")
                metrics.inspection.record(failures: inspected.failures)
                record.rules += inspected.findings.map(\.ruleID) + inspected.failures.map(\.ruleID)
                if let blocking = inspected.blockedBy {
                    let rule = blocking.first ?? "unknown"
                    metrics.inspection.recordBlock(rule: rule, scope: "output")
                    record.rules = RuleSet.uniqueIDs(blocking + record.rules)
                    return try finish(
                        error: Self.blockedOutputError(blocking), outcome: .blockedOutput(rule: rule), record: &record,
                        scope: scope, request: request, context: context)
                }
                body = inspected.clientBody
                stored = inspected.stored
                if inspected.refusal != nil && outcome == .ok { outcome = .refusalModel }
            }
            record.rules = RuleSet.uniqueIDs(record.rules)
            if outcome == .ok, let storage, storage.store, let stored,
                let completion = CachedCompletion(chatCompletion: stored)
            {
                storage.cache.storeInBackground(storage.key, completion: completion, vector: storage.vector, ttl: storage.ttl)
            }
            var response = whole(status: status, headers: headers, body: body, outcome: outcome, record: &record, scope: scope)
            if let storage { response.headers[.airlockCache] = storage.state }
            return response
        }
    }

    /// What prompt inspection leaves for the answer: the rule set it used (the same snapshot to the end of the
    /// request), the placeholders to restore, and the prompt as sent (for guard rules judging the answer).
    struct PromptPolicy: Sendable {
        let ruleSet: RuleSet
        let tokens: TokenizationMap
        let messages: [InspectedMessage]
    }

    static func ruleList(_ rules: [String]) -> String {
        (rules.count == 1 ? "rule " : "rules ") + rules.joined(separator: ", ")
    }

    static func blockedOutputError(_ rules: [String]) -> AirlockHTTPError {
        AirlockHTTPError(
            status: .badRequest,
            message: "Airlock's policy withheld the answer (\(ruleList(rules))).",
            type: "airlock_policy", code: "blocked_output", rules: rules)
    }

    /// What a miss needs to store its answer afterwards.
    struct CacheStorage: Sendable {
        let cache: ChatCache
        var key: CacheKey
        let vector: [Float]?
        let ttl: Duration?
        var store: Bool
        let state: String
    }

    /// Work on at most this many bytes runs inline; more goes to the work pool. A 16 KiB prompt costs well under a
    /// millisecond of regex, less than the hop to a pool thread and back would save anyone.
    static let inlineWorkBytes = 16 * 1024
    /// Largest prompt whose English NER work runs inline: about 0.9 ms of one core (bench-ner: 1.8 ms p50 for 2 KB).
    static let inlineEntityBytes = 1024

    /// Runs `body` inline when it concerns at most `inlineWorkBytes` bytes, else on the work pool; nil when the pool is
    /// full (the caller sheds the request).
    func heavy<T: Sendable>(_ bytes: Int, _ body: @Sendable () async -> T) async -> T? {
        if bytes <= Self.inlineWorkBytes { return await body() }
        do {
            return try await pool.run(body)
        } catch {
            metrics.recordShed()
            return nil
        }
    }

    /// Like `heavy`, for work on an answer the upstream already produced: admitted past the pool's bound, never shed.
    func heavyAnswer<T: Sendable>(_ bytes: Int, _ body: @Sendable () async -> T) async -> T {
        if bytes <= Self.inlineWorkBytes { return await body() }
        return await pool.runAdmitted(body)
    }

    private func shed(
        record: inout RequestRecord, scope: RequestScope, request: Request, context: some RequestContext
    ) throws -> Response {
        try finish(
            error: .overloaded, outcome: .failureRateLimited, record: &record, scope: scope, request: request,
            context: context)
    }

    private static func parse(_ bytes: [UInt8], limits: ChatRequest.Limits) -> Result<ChatRequest, AirlockHTTPError> {
        do {
            return .success(try ChatRequest.parse(bytes, limits: limits))
        } catch {
            return .failure(AirlockHTTPError(error))
        }
    }

    private func finish(
        error: AirlockHTTPError, outcome: Outcome, record: inout RequestRecord, scope: RequestScope, request: Request,
        context: some RequestContext
    ) throws -> Response {
        record.status = Int(error.status.code)
        record.error = error.code ?? error.type
        record.outcome = outcome
        record.recordOverhead(metrics)
        scope.finish(record)
        var response = try error.response(from: request, context: context)
        response.headers[.airlockRequestID] = record.requestID
        response.headers[.airlockOutcome] = outcome.description
        if let target = record.target { response.headers[.airlockUpstream] = target }
        return response
    }

    private func whole(
        status: Int, headers upstreamHeaders: [(String, String)], body: [UInt8], outcome: Outcome,
        record: inout RequestRecord, scope: RequestScope
    ) -> Response {
        var headers = UpstreamCall.clientHeaders(from: upstreamHeaders)
        headers[.airlockRequestID] = record.requestID
        headers[.airlockOutcome] = outcome.description
        if let target = record.target { headers[.airlockUpstream] = target }
        headers[.contentLength] = String(body.count)
        record.status = status
        record.bytesOut = body.count
        record.outcome = outcome
        record.recordOverhead(metrics)
        scope.finish(record)
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Passes server-sent events through one whole event at a time, as they arrive, through one `StreamedAnswer`
    /// (outcome, output rules, the answer for the cache). The outcome goes out as an SSE comment
    /// (`: x-airlock-outcome: …`) before `[DONE]`, since the headers left long before it was known. A stream that
    /// breaks ends with a well-formed `data: {"error":…}` event. Backpressure runs end to end: a slow client slows the
    /// writes, which stops the reads, which pauses libcurl.
    private func streamed(
        _ response: UpstreamResponse, chat: ChatRequest, target: UpstreamTarget, record: RequestRecord,
        scope: RequestScope, storage: CacheStorage?, policy: PromptPolicy?, channel: any Channel
    ) -> Response {
        var headers = UpstreamCall.clientHeaders(from: response.headers)
        if let storage { headers[.airlockCache] = storage.state }
        headers[.airlockRequestID] = record.requestID
        headers[.airlockUpstream] = target.name
        headers[.cacheControl] = "no-cache"
        let metrics = self.metrics
        let router = self.router
        let inspection = policy.map { policy in
            StreamedAnswer.Inspection(
                ruleSet: policy.ruleSet, tokens: policy.tokens, maxHoldbackBytes: self.maxHoldbackBytes)
        }
        var headRecord = record
        headRecord.status = 200
        headRecord.recordOverhead(metrics)
        scope.hold(headRecord)
        let classifier = self.classifier
        let assembles = storage?.store == true
        let passesUsage = chat.includeUsage
        let requestedModel = target.model ?? chat.model
        let prices = self.prices
        let maxEventBytes = self.maxUpstreamEventBytes
        let drainTimeout = self.drainTimeout
        let time = router.time
        // The stream is pumped (framed, parsed, scanned, written) from the work pool's threads, never from an event
        // loop: NIO runs its task queue until it is empty before it looks at sockets again, so a pump on the loop
        // that always has the next chunk at hand (an unpaced upstream) kept every other connection on that loop,
        // `/healthz` included, waiting for the whole stream (14.5 s for three 87 MB streams). Writes are paced by the
        // connection's event loop, so a fast upstream never queues more than a window ahead of other clients.
        let pool = self.pool
        let pump: @Sendable (inout PacedResponseBodyWriter) async throws -> Void = { [headRecord] writer in
            var record = headRecord
            var answer = StreamedAnswer(
                classifier: classifier, inspection: inspection, assembles: assembles, passesUsage: passesUsage)
            var textChunksTimed = 0
            var lastText: ContinuousClock.Instant?
            var framer = SSEFramer(maxEventBytes: maxEventBytes)
            var transportFailure: UpstreamError?
            var clientGone: (any Error)?
            var shutdownCut = false
            // On graceful shutdown the stream gets `drainTimeout` to finish; then the upstream transfer is cancelled
            // and the stream ends with an error event.
            let drain = StreamDrain(timeout: drainTimeout, time: time) { response.cancel() }
            defer { drain.end() }
            do {
              try await withGracefulShutdownHandler {
                reading: for try await chunk in response.body {
                    var buffers: [ByteBuffer] = []
                    var stop = false
                    let events = framer.append(chunk)
                    for event in events {
                        var step = answer.feed(event: event)
                        if case .judge(let text, let complete) = step, let policy {
                            // The answer is complete: the model-based rules and refusal detection judge it whole.
                            let started = ContinuousClock.now
                            let models = await heavyAnswer(text.utf8.count) {
                                await policy.ruleSet.inspectOutputModels(
                                    text: text, prompt: policy.messages, complete: complete)
                            }
                            step = answer.judged(models, took: ContinuousClock.now - started)
                        }
                        switch step {
                        case .send(let bytes):
                            if !bytes.isEmpty { buffers.append(ByteBuffer(bytes: bytes)) }
                            record.bytesOut += bytes.count
                        case .stop(let bytes):
                            if !bytes.isEmpty { buffers.append(ByteBuffer(bytes: bytes)) }
                            record.bytesOut += bytes.count
                            stop = true
                        case .judge:
                            stop = true
                        }
                        if stop { break }
                    }
                    if framer.overflowed && !stop {
                        answer.eventOverflowed()
                        stop = true
                    }
                    if !buffers.isEmpty { try await writer.write(contentsOf: buffers) }
                    if answer.textChunksSent > textChunksTimed {
                        // Answer text reached the client: time to the first, and the gaps after it.
                        let now = ContinuousClock.now
                        if let lastText {
                            metrics.spend.timeBetweenTokens.record(now - lastText)
                        } else {
                            metrics.spend.timeToFirstToken.record(now - record.startedAt)
                        }
                        lastText = now
                        textChunksTimed = answer.textChunksSent
                    }
                    if stop {
                        response.cancel()
                        break reading
                    }
                }
              } onGracefulShutdown: {
                drain.begin()
              }
            } catch let failure as UpstreamError where failure.code == .cancelled && drain.didCut {
                shutdownCut = true
            } catch let failure as UpstreamError where failure.code != .cancelled {
                transportFailure = failure
            } catch {
                // The client went away: stop the upstream transfer too.
                response.cancel()
                clientGone = error
            }
            if inspection != nil {
                metrics.inspection.recordDuration(scope: "output", answer.inspectionTime)
                metrics.inspection.record(findings: answer.findings, scope: "output")
                metrics.inspection.record(failures: answer.failures)
                record.rules += answer.findings.map(\.ruleID) + answer.failures.map(\.ruleID)
            }
            if let clientGone {
                router.settle(target, neutral: true)
                record.outcome = .failureStreamCut
                record.error = "client_disconnected"
                record.rules = RuleSet.uniqueIDs(record.rules)
                scope.finish(record)
                throw clientGone
            }
            let ending = answer.finish(transport: transportFailure, shuttingDown: shutdownCut)
            if let prices, let usage = ending.usage {
                let model = answer.model.isEmpty ? requestedModel : answer.model
                record.spend(usage, prices.price(usage, model: model, host: target.host))
            }
            if let blockedBy = ending.blockedBy {
                // The upstream did nothing wrong; Airlock's policy stopped the answer.
                metrics.inspection.recordBlock(rule: blockedBy.first ?? "unknown", scope: "output")
                record.rules = blockedBy + record.rules
            }
            if shutdownCut {
                router.settle(target, neutral: true)  // Airlock cut it; the target did nothing wrong
            } else {
                router.settle(target, outcome: ending.upstreamOutcome)
            }
            if let completion = ending.completion, let storage {
                storage.cache.storeInBackground(
                    storage.key, completion: completion, vector: storage.vector, ttl: storage.ttl)
            }
            record.rules = RuleSet.uniqueIDs(record.rules)
            record.outcome = ending.outcome
            if let error = ending.error { record.error = error }
            record.bytesOut += ending.tail.count
            do {
                if !ending.tail.isEmpty { try await writer.write(ByteBuffer(bytes: ending.tail)) }
                try await writer.finish(nil)
            } catch {
                record.outcome = .failureStreamCut
                record.error = "client_disconnected"
                scope.finish(record)
                throw error
            }
            scope.finish(record)
        }
        let body = ResponseBody.paced(on: channel) { writer in
            try await pool.pinned { try await pump(&writer) }
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    static let shuttingDownError = AirlockHTTPError(
        status: .serviceUnavailable,
        message: "Airlock is shutting down and the answer did not finish within its drain time; retry the request.",
        type: "airlock_upstream_error", code: "airlock_shutting_down")

    static let eventTooLargeError = AirlockHTTPError(
        status: .badGateway, message: "The upstream sent an event larger than Airlock accepts; the stream was stopped.",
        type: "airlock_upstream_error", code: "upstream_event_too_large")

    static let indexOutOfRangeError = AirlockHTTPError(
        status: .badGateway,
        message: "The upstream sent a choice or tool-call index out of range; the stream was stopped.",
        type: "airlock_upstream_error", code: "upstream_malformed_response")

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
