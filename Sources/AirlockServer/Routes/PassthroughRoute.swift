import ChatWire
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Outcomes
import Upstream

/// Routes Airlock does not inspect (`/v1/embeddings`, `/v1/models`): forwarded with Airlock's credentials, through the
/// same retries, breakers and fallbacks as chat.
struct PassthroughRoute: Sendable {
    let router: UpstreamRouter
    let classifier: OutcomeClassifier
    let path: String
    let name: String
    let maxRequestBytes: Int
    let metrics: AirlockMetrics
    let logger: Logger

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        var record = RequestRecord(requestID: RequestID.make(from: request.headers[.requestID]), route: name)
        let scope = RequestScope(logger: logger, metrics: metrics)
        let method = request.method == .get ? "GET" : "POST"
        var bytes: [UInt8] = []
        if method != "GET" {
            let read = await Self.read(request, limit: maxRequestBytes)
            switch read {
            case .success(let body): bytes = body
            case .failure(let error):
                return try respond(
                    error: error, outcome: .invalidRequest, record: &record, scope: scope, request: request, context: context)
            }
        }
        let classifier = self.classifier
        let routed = await router.route(
            method: method, path: path, from: request, body: bytes, chat: nil, stream: false,
            requestID: record.requestID,
            classify: { status, body in
                // A passthrough answer is not read (embedding vectors can be large); only a failure is classified.
                Classified(
                    outcome: (200..<300).contains(status) ? .ok : classifier.classify(status: status, body: body),
                    json: nil)
            })
        record.target = routed.target.name
        record.attempts = routed.attempts
        record.upstreamFirstByte = routed.firstByte
        switch routed.result {
        case .whole(let status, let upstreamHeaders, let body, _, let outcome):
            var headers = UpstreamCall.clientHeaders(from: upstreamHeaders)
            headers[.airlockRequestID] = record.requestID
            headers[.airlockOutcome] = outcome.description
            headers[.airlockUpstream] = routed.target.name
            headers[.contentLength] = String(body.count)
            record.status = status
            record.upstreamStatus = status
            record.bytesOut = body.count
            record.outcome = outcome
            scope.finish(record)
            return Response(
                status: HTTPResponse.Status(code: status), headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        case .transport(let failure, let outcome):
            return try respond(
                error: UpstreamCall.error(for: failure), outcome: outcome, record: &record, scope: scope, request: request,
                context: context)
        case .circuitOpen, .stream:
            let error = AirlockHTTPError(
                status: .serviceUnavailable, message: "Every upstream target is failing.",
                type: "airlock_upstream_error", code: "circuit_open")
            return try respond(
                error: error, outcome: .failureCircuitOpen, record: &record, scope: scope, request: request, context: context)
        }
    }

    private static func read(_ request: Request, limit: Int) async -> Result<[UInt8], AirlockHTTPError> {
        do { return .success(try await RequestBodyReader.read(request, limit: limit)) } catch { return .failure(error) }
    }

    private func respond(
        error: AirlockHTTPError, outcome: Outcome, record: inout RequestRecord, scope: RequestScope,
        request: Request, context: some RequestContext
    ) throws -> Response {
        record.status = Int(error.status.code)
        record.error = error.code ?? error.type
        record.outcome = outcome
        scope.finish(record)
        var response = try error.response(from: request, context: context)
        response.headers[.airlockRequestID] = record.requestID
        response.headers[.airlockOutcome] = outcome.description
        return response
    }
}
