/// A failure the emulator reproduces on demand, by the request header `x-emulator-fault: NAME`, by a marker
/// `[[fault:NAME]]` (or `[[fault:NAME:N]]`) in the last user message, or for every chat request through
/// ``QwenEmulator/setForcedFault(_:)-(EmulatorFault?)``.
public enum EmulatorFault: String, Sendable, CaseIterable, Hashable {
    /// 400 `data_inspection_failed`, "Input data may contain inappropriate content."
    case inputFilter = "input_filter"
    /// 400 `data_inspection_failed`, "Output data may contain inappropriate content.", before any byte of a stream.
    case outputFilter = "output_filter"
    /// Stream: 200, a few chunks, then a `data: {"error":{…"code":"data_inspection_failed"}}` event and the end of
    /// the body without `[DONE]`. Non-stream: like ``outputFilter``.
    case outputFilterMidstream = "output_filter_midstream"
    /// 429 `limit_requests`, no `Retry-After`.
    case rateLimit = "rate_limit"
    /// 429 `limit_requests` with `Retry-After: 1`; by default only the first call, so the retry succeeds.
    case rateLimitRetryAfter = "rate_limit_retry_after"
    /// 500 `internal_error`.
    case serverError = "server_error"
    /// 503 `ModelUnavailable`.
    case unavailable = "unavailable"
    /// Accepts the request and never answers until the client goes away (capped, then the connection is closed).
    case timeout = "timeout"
    /// Holds the response head for `slowFirstByteDelay` (or `x-emulator-delay-ms`), then answers normally.
    case slowFirstByte = "slow_first_byte"
    /// Stream: a few chunks, then the connection is closed without `[DONE]`. Non-stream: the connection is closed
    /// part-way through a body whose `Content-Length` promised more.
    case disconnectMidstream = "disconnect_midstream"
    /// 200 with a body that is not JSON; in a stream, a `data: {not json` event.
    case malformedJSON = "malformed_json"
    /// 401 `invalid_api_key`.
    case badKey = "bad_key"
    /// 404 `model_not_found`.
    case unknownModel = "unknown_model"
    /// A 200 answer in which the model declines, in Chinese when the prompt is.
    case refusal = "refusal"
    /// A 200 answer that leaks personal data the prompt never contained, for testing output-side redaction:
    /// `Sure. The customer's card is 4111 1111 1111 1111, their email is jane.doe@example.com and their phone is
    /// +1 415 555 0100.`, split into word tokens (so a stream delivers the card number over several chunks). Embeddings
    /// answer normally.
    case piiLeak = "pii_leak"

    /// How many requests per (fault, last user message) get the fault when the request does not say.
    /// `nil` means every request.
    public var defaultLimit: Int? {
        self == .rateLimitRetryAfter ? 1 : nil
    }
}

/// A fault asked for by one request, before the per-prompt count decides whether it applies.
struct FaultDirective: Sendable, Equatable {
    var fault: EmulatorFault
    /// Apply to the first `limit` matching requests only; `nil` for every request.
    var limit: Int?
}

/// `[[fault:NAME]]` / `[[fault:NAME:N]]` markers inside message text.
enum FaultMarker {
    static let opening = "[[fault:"
    static let closing = "]]"

    /// The first marker in `text`, as written (`name`, optional count text). `nil` when there is none.
    static func first(in text: String) -> (name: String, count: String?)? {
        guard let start = text.firstRange(of: opening),
            let end = text[start.upperBound...].firstRange(of: closing)
        else { return nil }
        let body = text[start.upperBound..<end.lowerBound]
        let parts = body.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = parts.first.map { String($0).trimmingSpaces() } ?? ""
        let count = parts.count > 1 ? String(parts[1]).trimmingSpaces() : nil
        return (name, count)
    }

    /// `text` without any markers, so that an answer does not depend on which fault was asked for.
    static func stripped(_ text: String) -> String {
        text.contains(opening) ? MarkerText.strippedAll(text) : text
    }
}

extension String {
    func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
