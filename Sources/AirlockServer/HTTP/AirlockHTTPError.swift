public import ChatWire
import Foundation
public import HTTPTypes
public import Hummingbird
import NIOCore

/// An error Airlock itself answers with, in the OpenAI error shape:
/// `{"error":{"message","type","param","code"}}`, plus `rules` for a policy block. Only the server module maps errors
/// to HTTP.
public struct AirlockHTTPError: Error, HTTPResponseError, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?
    /// The ids of the rules behind an `airlock_policy` error.
    public var rules: [String]?
    /// Seconds for a `Retry-After` header (load shed).
    public var retryAfterSeconds: Int?

    public init(
        status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil,
        rules: [String]? = nil
    ) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.rules = rules
    }

    /// A request body that is not a chat request Airlock accepts.
    public init(_ error: ChatRequestError) {
        self = .invalidRequest(error.message, param: error.param, code: error.code)
    }

    public static func invalidRequest(_ message: String, param: String?, code: String?) -> AirlockHTTPError {
        AirlockHTTPError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    public var headers: HTTPFields {
        var fields: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { fields[.retryAfter] = String(retryAfterSeconds) }
        return fields
    }

    /// Airlock's own pool for CPU-heavy work is full: the request is turned away at once rather than queued.
    public static let overloaded = {
        var error = AirlockHTTPError(
            status: .tooManyRequests,
            message: "Airlock is busy inspecting other requests; retry after the time in Retry-After.",
            type: "airlock_overloaded", code: "airlock_overloaded")
        error.retryAfterSeconds = 1
        return error
    }()

    public var body: [UInt8] {
        struct Envelope: Encodable {
            struct Body: Encodable {
                let message: String
                let type: String
                let param: String?
                let code: String?
                let rules: [String]?
                func encode(to encoder: any Encoder) throws {
                    var container = encoder.container(keyedBy: CodingKeys.self)
                    try container.encode(message, forKey: .message)
                    try container.encode(type, forKey: .type)
                    try container.encode(param, forKey: .param)
                    try container.encode(code, forKey: .code)
                    try container.encodeIfPresent(rules, forKey: .rules)
                }
                enum CodingKeys: String, CodingKey { case message, type, param, code, rules }
            }
            let error: Body
        }
        let envelope = Envelope(error: .init(message: message, type: type, param: param, code: code, rules: rules))
        return (try? Array(JSONEncoder().encode(envelope))) ?? Array(#"{"error":{"message":"internal error"}}"#.utf8)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        response.headers[.contentLength] = String(body.count)
        return response
    }
}
