import AirlockConfiguration
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Upstream

/// `POST /v1/chat/completions`: validate, forward, and hand the answer back: whole, or event by event for streams.
struct ChatCompletionsRoute: Sendable {
    let upstream: UpstreamClient
    let call: UpstreamCall
    let maxRequestBytes: Int
    let maxResponseBytes: Int
    let logger: Logger

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        var record = RequestRecord(
            requestID: RequestID.make(from: request.headers[.requestID]), route: "chat")
        do {
            let bytes = try await RequestBodyReader.read(request, limit: maxRequestBytes)
            let chat = try ChatRequest.parse(bytes)
            record.model = chat.model
            record.stream = chat.stream
            let upstreamRequest = call.request(
                method: "POST", path: "/chat/completions", from: request, body: bytes,
                accept: chat.stream ? "text/event-stream" : "application/json", requestID: record.requestID)
            let sentAt = ContinuousClock.now
            if chat.stream {
                let response: UpstreamResponse
                do {
                    response = try await upstream.execute(upstreamRequest)
                } catch let failure as UpstreamError {
                    throw UpstreamCall.error(for: failure)
                }
                record.upstreamStatus = response.status
                record.upstreamFirstByte = ContinuousClock.now - sentAt
                let isEventStream = response.header("content-type")?.hasPrefix("text/event-stream") ?? false
                if response.status == 200 && isEventStream {
                    return streamed(response, record: record)
                }
                // An error answer to a stream request is plain JSON: hand it over whole.
                do {
                    let body = try await response.collect(upTo: maxResponseBytes)
                    return whole(status: response.status, headers: response.headers, body: body, record: &record)
                } catch let failure as UpstreamError {
                    throw UpstreamCall.error(for: failure)
                }
            }
            let response: UpstreamCompleteResponse
            do {
                response = try await upstream.send(upstreamRequest, maxBodyBytes: maxResponseBytes)
            } catch let failure as UpstreamError {
                throw UpstreamCall.error(for: failure)
            }
            record.upstreamStatus = response.status
            record.upstreamFirstByte = ContinuousClock.now - sentAt
            return whole(status: response.status, headers: response.headers, body: response.body, record: &record)
        } catch let error as AirlockHTTPError {
            record.status = Int(error.status.code)
            record.error = error.code ?? error.type
            record.log(to: logger)
            var response = try error.response(from: request, context: context)
            response.headers[.airlockRequestID] = record.requestID
            return response
        }
    }

    private func whole(status: Int, headers upstreamHeaders: [(String, String)], body: [UInt8], record: inout RequestRecord)
        -> Response
    {
        var headers = UpstreamCall.clientHeaders(from: upstreamHeaders)
        headers[.airlockRequestID] = record.requestID
        headers[.contentLength] = String(body.count)
        record.status = status
        record.bytesOut = body.count
        record.log(to: logger)
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Passes server-sent events through one whole event at a time, as they arrive. Backpressure runs end to end:
    /// a slow client slows the writes, which stops the reads, which pauses the libcurl transfer.
    private func streamed(_ response: UpstreamResponse, record: RequestRecord) -> Response {
        var headers = UpstreamCall.clientHeaders(from: response.headers)
        headers[.airlockRequestID] = record.requestID
        headers[.cacheControl] = "no-cache"
        let logger = self.logger
        let body = ResponseBody { writer in
            var record = record
            record.status = 200
            var framer = SSEFramer()
            do {
                for try await chunk in response.body {
                    let events = framer.append(chunk)
                    if events.isEmpty { continue }
                    var buffers: [ByteBuffer] = []
                    buffers.reserveCapacity(events.count)
                    for event in events {
                        buffers.append(ByteBuffer(bytes: event))
                        record.bytesOut += event.count
                    }
                    try await writer.write(contentsOf: buffers)
                }
                if let rest = framer.finish() {
                    record.bytesOut += rest.count
                    try await writer.write(ByteBuffer(bytes: rest))
                }
            } catch let failure as UpstreamError where failure.code != .cancelled {
                // The head already went out as 200: say what happened as an SSE error event, then end.
                let error = UpstreamCall.error(for: failure)
                record.error = error.code
                let event = Array("data: ".utf8) + error.body + Array("\n\n".utf8)
                try? await writer.write(ByteBuffer(bytes: event))
            } catch {
                // The client went away: stop the upstream transfer too.
                response.cancel()
                record.error = "client_disconnected"
                record.log(to: logger)
                throw error
            }
            record.log(to: logger)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
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
