/// The one error type of the SemanticCache module. Lookups and stores never throw it (they fail open); it comes
/// from administrative calls such as `delete`.
public struct SemanticCacheError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }

        /// Redis failed or timed out.
        public static let redisFailure = Code(raw: "redis_failure")
        /// The configuration cannot work.
        public static let invalidConfiguration = Code(raw: "invalid_configuration")
    }

    public var code: Code
    public var message: String
    /// The Redis error code (`RedisError.Code.description`), when Redis was the cause.
    public var nativeCode: String?

    public init(_ code: Code, _ message: String, nativeCode: String? = nil) {
        self.code = code
        self.message = message
        self.nativeCode = nativeCode
    }

    public var description: String {
        if let nativeCode { return "\(code): \(message) (\(nativeCode))" }
        return "\(code): \(message)"
    }
}
