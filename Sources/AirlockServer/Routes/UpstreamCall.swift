import AirlockConfiguration
import HTTPTypes
import Hummingbird
import Upstream

/// How requests are turned into upstream requests: URL, credentials, forwarded headers, timeouts.
struct UpstreamCall: Sendable {
    let configuration: AirlockConfiguration.Upstream
    let timeouts: UpstreamTimeouts

    init(configuration: AirlockConfiguration.Upstream) {
        self.configuration = configuration
        self.timeouts = UpstreamTimeouts(
            connect: .milliseconds(configuration.connectTimeoutMilliseconds),
            firstByte: .milliseconds(configuration.firstByteTimeoutMilliseconds),
            idle: .milliseconds(configuration.idleTimeoutMilliseconds),
            total: .milliseconds(configuration.requestTimeoutMilliseconds))
    }

    func request(
        method: String, path: String, from request: Request, body: [UInt8], accept: String, requestID: String
    ) -> UpstreamRequest {
        var headers: [(String, String)] = [("Accept", accept), ("X-Request-Id", requestID)]
        if !body.isEmpty || method == "POST" { headers.append(("Content-Type", "application/json")) }
        switch configuration.auth {
        case .airlock:
            if let key = configuration.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        case .passthrough:
            if let authorization = request.headers[.authorization] { headers.append(("Authorization", authorization)) }
        }
        if !configuration.forwardHeaderPrefixes.isEmpty {
            for field in request.headers {
                let name = field.name.canonicalName
                if configuration.forwardHeaderPrefixes.contains(where: { name.hasPrefix($0) }) {
                    headers.append((name, field.value))
                }
            }
        }
        return UpstreamRequest(
            method: method, url: configuration.url + path, headers: headers, body: body, timeouts: timeouts)
    }

    /// The upstream response headers worth handing to the client.
    static func clientHeaders(from headers: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in headers {
            switch name {
            case "content-type", "retry-after", "x-request-id", "req-cost-time":
                if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
            default:
                if name.hasPrefix("x-dashscope-") || name.hasPrefix("x-ratelimit-"), let field = HTTPField.Name(name) {
                    fields.append(HTTPField(name: field, value: value))
                }
            }
        }
        return fields
    }

    /// Airlock's own answer when the upstream could not be used at all.
    static func error(for failure: UpstreamError) -> AirlockHTTPError {
        let code = failure.code
        if code.isTimeout {
            return AirlockHTTPError(
                status: .gatewayTimeout, message: "The upstream did not answer in time (\(code)).",
                type: "airlock_upstream_error", code: "upstream_\(code)")
        }
        if code == .responseTooLarge {
            return AirlockHTTPError(
                status: .badGateway, message: "The upstream response was larger than Airlock accepts.",
                type: "airlock_upstream_error", code: "upstream_response_too_large")
        }
        return AirlockHTTPError(
            status: .badGateway, message: "The upstream could not be reached or broke the connection (\(code)).",
            type: "airlock_upstream_error", code: "upstream_\(code)")
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("x-request-id")!
    static let airlockRequestID = HTTPField.Name("x-airlock-request-id")!
    static let airlockOutcome = HTTPField.Name("x-airlock-outcome")!
    static let airlockUpstream = HTTPField.Name("x-airlock-upstream")!
}
