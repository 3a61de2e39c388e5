/// The one error type of the Redis module.
public struct RedisError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong, in terms a caller can act on; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }

        /// The URL or configuration is malformed.
        public static let invalidConfiguration = Code(raw: "invalid_configuration")
        /// The TCP or unix-socket connection could not be made (refused, unreachable, connect timeout).
        public static let connectFailed = Code(raw: "connect_failed")
        /// AUTH or SELECT was refused.
        public static let authenticationFailed = Code(raw: "authentication_failed")
        /// Redis did not answer within the command timeout; the connection was discarded.
        public static let timeout = Code(raw: "timeout")
        /// The connection broke (EOF, reset) or the reply was not valid RESP; the connection was discarded.
        public static let connectionLost = Code(raw: "connection_lost")
        /// Redis is known to be unreachable and the next reconnect attempt is not due yet: failed without I/O.
        public static let unavailable = Code(raw: "unavailable")
        /// Redis answered with an error reply (`-ERR …`, `-WRONGTYPE …`).
        public static let serverError = Code(raw: "server_error")
        /// The reply had a type the caller did not expect.
        public static let unexpectedReply = Code(raw: "unexpected_reply")
        /// The client has been shut down.
        public static let shutdown = Code(raw: "shutdown")
    }

    public var code: Code
    public var message: String
    /// hiredis's `redisContext.err` (`REDIS_ERR_IO`, `REDIS_ERR_EOF`, …) when the error came from hiredis.
    public var nativeCode: Int?

    public init(_ code: Code, _ message: String, nativeCode: Int? = nil) {
        self.code = code
        self.message = message
        self.nativeCode = nativeCode
    }

    public var description: String {
        if let nativeCode { return "\(code): \(message) (hiredis \(nativeCode))" }
        return "\(code): \(message)"
    }

    /// Whether the failure says something about Redis's reachability rather than about the command.
    public var isConnectionFailure: Bool {
        code == .connectFailed || code == .timeout || code == .connectionLost || code == .unavailable
            || code == .authenticationFailed
    }
}
