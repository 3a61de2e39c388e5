import Hummingbird
import NIOCore
import ServiceLifecycle
import StreamPacing

extension EmulatorResponder {
    /// Chunks a stream writes before a mid-stream fault strikes.
    static let chunksBeforeMidstreamFault = 3

    /// `POST /chat/completions`.
    func chatCompletions(_ request: Request, context: Context, exchange: inout Exchange) async throws -> Response {
        state.update { $0.chatRequests += 1 }
        recordCaller(request)
        if let failure = authorizationFailure(request) { return errorResponse(failure, exchange: exchange) }

        let body: [UInt8]
        switch try await collectBody(request) {
        case .success(let bytes): body = bytes
        case .failure(let error): return errorResponse(error, exchange: exchange)
        }
        state.update {
            $0.lastChatRequestBody = body
            $0.remember(path: "/chat/completions", body: body)
        }

        let chat: ChatRequest
        switch ChatRequest.parse(body) {
        case .success(let parsed): chat = parsed
        case .failure(let error): return errorResponse(error, exchange: exchange)
        }
        exchange.model = chat.model
        exchange.stream = chat.stream

        let directive: FaultDirective?
        switch FaultDirective.resolve(
            forced: state.forcedFault,
            headerName: request.headers[HeaderName.emulatorFault],
            headerCount: request.headers[HeaderName.emulatorFaultCount],
            lastUserText: chat.lastUserText)
        {
        case .success(let resolved): directive = resolved
        case .failure(let error): return errorResponse(error, exchange: exchange)
        }

        let isGuardModel = QwenModelCatalog.isGuardModel(chat.model)
        guard isGuardModel || QwenModelCatalog.isChatModel(chat.model) else {
            return errorResponse(.modelNotFound(chat.model), exchange: exchange)
        }

        // A guard model's verdict is decided (and a misspelt `[[guard:…]]` rejected) before any fault or latency.
        var verdict: GuardJudgement?
        if isGuardModel {
            switch GuardJudge.judge(chat.messages) {
            case .success(let judged): verdict = judged
            case .failure(let error): return errorResponse(error, exchange: exchange)
            }
        }
        let natural = AnswerSource.natural(for: chat, verdict: verdict)

        var fault: EmulatorFault?
        if let directive, state.admit(directive, prompt: chat.lastUserText ?? "") {
            fault = directive.fault
            exchange.fault = directive.fault
            state.recordFaultServed(directive.fault)
        }

        try await hold(configuration.firstByteLatency, context: context)

        switch fault {
        case nil:
            return try await answer(chat, source: natural, ending: .normal, context: context, exchange: exchange)
        case .refusal:
            return try await answer(chat, source: .refusal, ending: .normal, context: context, exchange: exchange)
        case .piiLeak:
            return try await answer(chat, source: .piiLeak, ending: .normal, context: context, exchange: exchange)
        case .inputFilter:
            return errorResponse(.inputInspectionFailed, exchange: exchange)
        case .outputFilter:
            return errorResponse(.outputInspectionFailed, exchange: exchange)
        case .outputFilterMidstream:
            guard chat.stream else { return errorResponse(.outputInspectionFailed, exchange: exchange) }
            let ending = StreamScript.Ending.errorEvent(
                .outputInspectionFailed, afterTokens: Self.chunksBeforeMidstreamFault)
            return try await answer(chat, source: natural, ending: ending, context: context, exchange: exchange)
        case .rateLimit:
            return errorResponse(.rateLimited(retryAfterSeconds: nil), exchange: exchange)
        case .rateLimitRetryAfter:
            return errorResponse(.rateLimited(retryAfterSeconds: 1), exchange: exchange)
        case .serverError:
            return errorResponse(.internalError, exchange: exchange)
        case .unavailable:
            return errorResponse(.modelUnavailable, exchange: exchange)
        case .badKey:
            return errorResponse(.invalidAPIKey, exchange: exchange)
        case .unknownModel:
            return errorResponse(.modelNotFound(chat.model), exchange: exchange)
        case .timeout:
            try await holdForever(context: context)
        case .slowFirstByte:
            try await hold(slowFirstByteDelay(request), context: context)
            return try await answer(chat, source: natural, ending: .normal, context: context, exchange: exchange)
        case .disconnectMidstream:
            let ending = StreamScript.Ending.disconnect(afterTokens: Self.chunksBeforeMidstreamFault)
            return try await answer(chat, source: natural, ending: ending, context: context, exchange: exchange)
        case .malformedJSON:
            return try await answer(
                chat, source: natural, ending: .malformed(afterTokens: 1), context: context, exchange: exchange)
        }
    }

    /// `x-emulator-delay-ms` when given and valid, otherwise the configured delay.
    func slowFirstByteDelay(_ request: Request) -> Duration {
        if let text = request.headers[HeaderName.emulatorDelay], let milliseconds = Int(text.trimmingSpaces()),
            milliseconds >= 0
        {
            return .milliseconds(milliseconds)
        }
        return configuration.slowFirstByteDelay
    }

    /// A 200 answer with content from `source`, streamed or whole. Non-stream endings other than `.normal` reproduce
    /// the same failure on a whole body: `.disconnect` truncates it, `.malformed` makes it invalid JSON.
    private func answer(
        _ chat: ChatRequest, source: AnswerSource, ending: StreamScript.Ending, context: Context, exchange: Exchange
    ) async throws -> Response {
        let completion = ChatCompletion(request: chat, configuration: configuration, source: source)
        if chat.stream {
            let script = StreamScript(completion: completion, includeUsage: chat.includeUsage, ending: ending)
            let watch = await ConnectionWatchHandler.watch(of: context.channel)
            return streamResponse(
                completion: completion, script: script, watch: watch, channel: context.channel, exchange: exchange)
        }

        // A whole answer arrives only once every token has been generated.
        if let interval = configuration.tokenInterval {
            let tokens = completion.choices.map { $0.content.count + $0.reasoning.count }.max() ?? 0
            try await hold(interval * tokens, context: context)
        }
        let body = completion.responseBody()
        switch ending {
        case .normal, .errorEvent:
            return jsonResponse(body, exchange: exchange)
        case .disconnect:
            return truncatedResponse(body, exchange: exchange)
        case .malformed:
            return jsonResponse(Array(body.prefix(body.count * 3 / 5)), exchange: exchange)
        }
    }

    /// `text/event-stream`, one write per event as it is produced, paced by `tokensPerSecond`. A write that fails
    /// (or a client that left) ends the stream and counts it as aborted. Unpaced streams are paced by the connection's
    /// event loop instead, so that they never hold it (see ``PacedResponseBodyWriter``).
    private func streamResponse(
        completion: ChatCompletion, script: StreamScript, watch: ConnectionWatch?, channel: any Channel,
        exchange: Exchange
    ) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        headers[HeaderName.requestID] = exchange.requestID
        let state = self.state
        let interval = configuration.tokenInterval
        let requestID = exchange.requestID

        let body = ResponseBody.paced(on: channel) { writer in
            state.update { $0.streamsStarted += 1 }
            do {
                for step in script.steps {
                    // A graceful shutdown ends the stream (as a cut connection) instead of waiting for its last token.
                    if Task.isShuttingDownGracefully { throw CancellationError() }
                    if let interval, StreamScript.isPaced(step) {
                        try await cancelWhenGracefulShutdown {
                            if let watch {
                                try await watch.sleep(for: interval)
                            } else {
                                try await Task.sleep(for: interval)
                            }
                        }
                    }
                    if watch?.isClosed == true { throw EmulatorError(.clientDisconnected, "the client went away") }
                    let bytes: [UInt8]
                    switch step {
                    case .role(let choice):
                        bytes = completion.roleEvent(choice: choice)
                    case .reasoning(let choice, let position):
                        bytes = completion.reasoningEvent(
                            choice: choice, token: completion.choices[choice].reasoning[position])
                    case .content(let choice, let position):
                        bytes = completion.contentEvent(
                            choice: choice, token: completion.choices[choice].content[position])
                    case .finish(let choice):
                        bytes = completion.finishEvent(choice: choice)
                    case .usage:
                        bytes = completion.usageEvent()
                    case .done:
                        bytes = ChatCompletion.doneEvent
                    case .errorEvent(let error):
                        bytes = ChatCompletion.errorEvent(error, requestID: requestID)
                    case .malformedEvent:
                        bytes = StreamScript.malformedEventBytes
                    case .disconnect:
                        throw EmulatorError(.deliberateDisconnect, "disconnect_midstream closed the connection")
                    }
                    try await writer.write(ByteBuffer(bytes: bytes))
                }
                try await writer.finish(nil)
                state.update { $0.streamsCompleted += 1 }
            } catch let error as EmulatorError where error.code == .deliberateDisconnect {
                state.update { $0.streamsCutByFault += 1 }
                throw error
            } catch let error as CancellationError {
                // The emulator is shutting down; nobody went away.
                throw error
            } catch {
                state.update { $0.streamsAborted += 1 }
                throw error
            }
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
