/// The one error type of the Patterns module.
public struct PatternError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, in a form callers can switch over; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }
        public var description: String { raw }

        /// The pattern does not compile; `offset` is the UTF-8 byte offset in the pattern where PCRE2 stopped.
        public static let compileFailed = Code("compile_failed")
        /// The match limit was reached: the pattern backtracks too much on this subject.
        public static let matchLimitExceeded = Code("match_limit_exceeded")
        /// The depth or heap limit was reached (interpreter only), or the JIT stack ran out.
        public static let depthLimitExceeded = Code("depth_limit_exceeded")
        /// PCRE2 could not allocate memory.
        public static let outOfMemory = Code("out_of_memory")
        /// Any other failure reported by `pcre2_match`; `nativeCode` holds PCRE2's error number.
        public static let matchFailed = Code("match_failed")
        /// A start offset outside the subject or not on a UTF-8 character boundary.
        public static let invalidOffset = Code("invalid_offset")

        /// The match was cut off by a resource limit rather than a fault in the pattern or subject.
        public var isLimit: Bool { self == .matchLimitExceeded || self == .depthLimitExceeded }
    }

    public var code: Code
    public var message: String
    /// For `compileFailed`: the byte offset in the pattern source.
    public var offset: Int?
    /// PCRE2's own error number.
    public var nativeCode: Int?

    public init(_ code: Code, _ message: String, offset: Int? = nil, nativeCode: Int? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
        self.nativeCode = nativeCode
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let offset { text += " at offset \(offset)" }
        if let nativeCode { text += " (pcre2 \(nativeCode))" }
        return text
    }
}
