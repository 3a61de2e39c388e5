/// The one error type of the upstream module.
public struct UpstreamError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Extensible code: what went wrong, in terms a caller can act on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }

        /// TCP/TLS connect did not finish within the connect timeout.
        public static let connectTimeout = Code(raw: "connect_timeout")
        /// No response byte arrived within the first-byte timeout.
        public static let firstByteTimeout = Code(raw: "first_byte_timeout")
        /// The gap between two body chunks exceeded the idle timeout.
        public static let idleTimeout = Code(raw: "idle_timeout")
        /// The whole transfer exceeded the request timeout.
        public static let totalTimeout = Code(raw: "total_timeout")
        /// The upstream could not be reached (refused, DNS, unreachable).
        public static let connectFailed = Code(raw: "connect_failed")
        /// The connection broke after it was established (reset, closed early, partial body).
        public static let connectionLost = Code(raw: "connection_lost")
        /// TLS handshake or certificate verification failed.
        public static let tls = Code(raw: "tls")
        /// The transfer was cancelled by Airlock (the client went away, or the caller stopped reading).
        public static let cancelled = Code(raw: "cancelled")
        /// A response body exceeded the size the caller accepts.
        public static let responseTooLarge = Code(raw: "response_too_large")
        /// The request could not be set up (bad URL, libcurl refused an option).
        public static let invalidRequest = Code(raw: "invalid_request")
        /// The client is shut down.
        public static let shutdown = Code(raw: "shutdown")

        public var isTimeout: Bool {
            self == .connectTimeout || self == .firstByteTimeout || self == .idleTimeout || self == .totalTimeout
        }
    }

    public var code: Code
    public var message: String
    /// libcurl's `CURLcode`, when the error came from libcurl.
    public var curlCode: Int?

    public init(_ code: Code, _ message: String, curlCode: Int? = nil) {
        self.code = code
        self.message = message
        self.curlCode = curlCode
    }

    public var description: String {
        if let curlCode { return "\(code): \(message) (curl \(curlCode))" }
        return "\(code): \(message)"
    }
}
