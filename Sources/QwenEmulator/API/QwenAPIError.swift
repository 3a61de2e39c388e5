/// An error answer in Qwen's compatible-mode shape:
/// `{"error":{"message","type","param","code"},"request_id":"<uuid>"}`.
struct QwenAPIError: Error, Sendable, Equatable {
    var status: Int
    var code: String
    var type: String
    var message: String
    var param: String?
    /// Seconds for a `Retry-After` header; Qwen does not always send one, so this is `nil` unless a fault asks.
    var retryAfterSeconds: Int?

    func body(requestID: String) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.key("error")
        writeErrorObject(into: &json)
        json.member("request_id", requestID)
        json.endObject()
        return json.bytes
    }

    /// The error object alone, as it appears inside a stream event.
    func writeErrorObject(into json: inout JSONWriter) {
        json.beginObject()
        json.member("message", message)
        json.member("type", type)
        json.member("param", param)
        json.member("code", code)
        json.endObject()
    }
}

extension QwenAPIError {
    static let inputInspectionFailed = QwenAPIError(
        status: 400, code: "data_inspection_failed", type: "data_inspection_failed",
        message: "Input data may contain inappropriate content.")

    static let outputInspectionFailed = QwenAPIError(
        status: 400, code: "data_inspection_failed", type: "data_inspection_failed",
        message: "Output data may contain inappropriate content.")

    static func invalidParameter(_ message: String, param: String? = nil) -> QwenAPIError {
        QwenAPIError(
            status: 400, code: "invalid_parameter_error", type: "invalid_request_error", message: message, param: param)
    }

    static let missingAPIKey = QwenAPIError(
        status: 401, code: "invalid_api_key", type: "invalid_request_error",
        message:
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
    )

    static let invalidAPIKey = QwenAPIError(
        status: 401, code: "invalid_api_key", type: "invalid_request_error",
        message:
            "Incorrect API key provided. For details, see: https://help.aliyun.com/zh/model-studio/error-code#apikey-error"
    )

    static func modelNotFound(_ model: String) -> QwenAPIError {
        QwenAPIError(
            status: 404, code: "model_not_found", type: "invalid_request_error",
            message: "The model `\(model)` does not exist or you do not have access to it.", param: "model")
    }

    static func rateLimited(retryAfterSeconds: Int?) -> QwenAPIError {
        QwenAPIError(
            status: 429, code: "limit_requests", type: "limit_requests",
            message: "Requests rate limit exceeded, please try again later.", retryAfterSeconds: retryAfterSeconds)
    }

    static let internalError = QwenAPIError(
        status: 500, code: "internal_error", type: "internal_error",
        message: "An internal error has occured, please try again later or contact service support.")

    static let modelUnavailable = QwenAPIError(
        status: 503, code: "ModelUnavailable", type: "ModelUnavailable",
        message: "Model is unavailable, please try again later.")

    static func notFound(path: String) -> QwenAPIError {
        QwenAPIError(
            status: 404, code: "not_found", type: "invalid_request_error",
            message: "The requested resource `\(path)` was not found.")
    }

    static func methodNotAllowed(method: String, path: String) -> QwenAPIError {
        QwenAPIError(
            status: 405, code: "method_not_allowed", type: "invalid_request_error",
            message: "Method \(method) is not allowed on `\(path)`.")
    }
}
