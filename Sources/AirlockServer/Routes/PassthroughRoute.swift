import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Upstream

/// Routes Airlock does not inspect (`/v1/embeddings`, `/v1/models`): forwarded with Airlock's credentials.
struct PassthroughRoute: Sendable {
    let upstream: UpstreamClient
    let call: UpstreamCall
    let path: String
    let name: String
    let maxRequestBytes: Int
    let maxResponseBytes: Int
    let logger: Logger

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        var record = RequestRecord(requestID: RequestID.make(from: request.headers[.requestID]), route: name)
        do {
            let method = request.method == .get ? "GET" : "POST"
            let bytes = method == "GET" ? [] : try await RequestBodyReader.read(request, limit: maxRequestBytes)
            let upstreamRequest = call.request(
                method: method, path: path, from: request, body: bytes, accept: "application/json",
                requestID: record.requestID)
            let sentAt = ContinuousClock.now
            let response: UpstreamCompleteResponse
            do {
                response = try await upstream.send(upstreamRequest, maxBodyBytes: maxResponseBytes)
                record.upstreamFirstByte = ContinuousClock.now - sentAt
            } catch let failure as UpstreamError {
                throw UpstreamCall.error(for: failure)
            }
            let body = response.body
            var headers = UpstreamCall.clientHeaders(from: response.headers)
            headers[.airlockRequestID] = record.requestID
            headers[.contentLength] = String(body.count)
            record.status = response.status
            record.upstreamStatus = response.status
            record.bytesOut = body.count
            record.log(to: logger)
            return Response(
                status: HTTPResponse.Status(code: response.status), headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        } catch let error as AirlockHTTPError {
            record.status = Int(error.status.code)
            record.error = error.code ?? error.type
            record.log(to: logger)
            var response = try error.response(from: request, context: context)
            response.headers[.airlockRequestID] = record.requestID
            return response
        }
    }
}
