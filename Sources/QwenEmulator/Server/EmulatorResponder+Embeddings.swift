import Hummingbird

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension EmulatorResponder {
    /// `POST /embeddings`. Faults apply by header only (there is no user message to carry a marker).
    func embeddings(_ request: Request, context: Context, exchange: inout Exchange) async throws -> Response {
        state.update { $0.embeddingRequests += 1 }
        recordCaller(request)
        if let failure = authorizationFailure(request) { return errorResponse(failure, exchange: exchange) }

        let body: [UInt8]
        switch try await collectBody(request) {
        case .success(let bytes): body = bytes
        case .failure(let error): return errorResponse(error, exchange: exchange)
        }
        state.update { $0.remember(path: "/embeddings", body: body) }
        let embedding: EmbeddingRequest
        switch EmbeddingRequest.parse(body) {
        case .success(let parsed): embedding = parsed
        case .failure(let error): return errorResponse(error, exchange: exchange)
        }
        exchange.model = embedding.model

        let directive: FaultDirective?
        switch FaultDirective.resolve(
            forced: nil,
            headerName: request.headers[HeaderName.emulatorFault],
            headerCount: request.headers[HeaderName.emulatorFaultCount],
            lastUserText: nil)
        {
        case .success(let resolved): directive = resolved
        case .failure(let error): return errorResponse(error, exchange: exchange)
        }
        var fault: EmulatorFault?
        if let directive, state.admit(directive, prompt: embedding.inputs.joined(separator: "\u{1}")) {
            fault = directive.fault
            exchange.fault = directive.fault
            state.recordFaultServed(directive.fault)
        }

        try await hold(configuration.firstByteLatency, context: context)
        let id = UUID().uuidString.lowercased()

        switch fault {
        case nil, .refusal, .piiLeak:
            return jsonResponse(embedding.responseBody(id: id), exchange: exchange)
        case .inputFilter:
            return errorResponse(.inputInspectionFailed, exchange: exchange)
        case .outputFilter, .outputFilterMidstream:
            return errorResponse(.outputInspectionFailed, exchange: exchange)
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
            return errorResponse(.modelNotFound(embedding.model), exchange: exchange)
        case .timeout:
            try await holdForever(context: context)
        case .slowFirstByte:
            try await hold(slowFirstByteDelay(request), context: context)
            return jsonResponse(embedding.responseBody(id: id), exchange: exchange)
        case .disconnectMidstream:
            return truncatedResponse(embedding.responseBody(id: id), exchange: exchange)
        case .malformedJSON:
            let bytes = embedding.responseBody(id: id)
            return jsonResponse(Array(bytes.prefix(bytes.count * 3 / 5)), exchange: exchange)
        }
    }

    /// `GET /models`: the OpenAI list shape.
    func models(_ request: Request, exchange: Exchange) -> Response {
        state.update { $0.modelListRequests += 1 }
        recordCaller(request)
        if let failure = authorizationFailure(request) { return errorResponse(failure, exchange: exchange) }

        var json = JSONWriter(capacity: 2048)
        json.beginObject()
        json.member("object", "list")
        json.key("data")
        json.beginArray()
        for model in QwenModelCatalog.listedModels {
            json.beginObject()
            json.member("id", model)
            json.member("object", "model")
            json.member("created", Self.modelsCreated)
            json.member("owned_by", "system")
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return jsonResponse(json.bytes, exchange: exchange)
    }

    /// A fixed creation time, so the list is the same on every call.
    private static let modelsCreated = 1_735_689_600
}
