import CPCRE2

/// A PCRE2 regular expression compiled once (UTF, UCP, invalid UTF-8 tolerated, JIT where available) and shared
/// read-only by any number of threads. Offsets in and out are UTF-8 byte offsets into the subject.
///
/// Matching state lives in a `PatternMatcher`, one per thread or call; the convenience methods here make one per call.
public final class Pattern: @unchecked Sendable {
    // Invariant that makes this Sendable: `code` and `matchContext` are created in `init`, never mutated afterwards,
    // and freed in `deinit`. PCRE2 documents a compiled (and JIT-compiled) pattern and a match context as read-only
    // during `pcre2_match`, so concurrent matches from several threads are safe. All per-match state (match data) is
    // owned by `PatternMatcher`, which is not Sendable.

    /// Compile options beyond the UTF, UCP and MATCH_INVALID_UTF that every pattern gets.
    public struct Options: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let caseInsensitive = Options(rawValue: PCRE2_CASELESS)
        public static let multiline = Options(rawValue: PCRE2_MULTILINE)
        public static let dotMatchesNewlines = Options(rawValue: PCRE2_DOTALL)
        /// Whitespace and `#` comments in the pattern are ignored.
        public static let extended = Options(rawValue: PCRE2_EXTENDED)
    }

    /// Work bounds per match, so that no subject can make a pattern run away.
    public struct Limits: Sendable, Hashable {
        /// `pcre2_set_match_limit`: backtracking steps, for JIT and interpreter. Default 200,000 (a few ms at worst).
        public var matchLimit: UInt32
        /// `pcre2_set_depth_limit`: backtracking depth, interpreter only. Default 10,000.
        public var depthLimit: UInt32
        /// `pcre2_set_heap_limit` in KiB, interpreter only. Default 16 MiB.
        public var heapLimitKiB: UInt32

        public init(matchLimit: UInt32 = 200_000, depthLimit: UInt32 = 10_000, heapLimitKiB: UInt32 = 16 * 1024) {
            self.matchLimit = matchLimit
            self.depthLimit = depthLimit
            self.heapLimitKiB = heapLimitKiB
        }
    }

    public let source: String
    public let options: Options
    public let limits: Limits
    /// Number of capturing groups.
    public let captureGroupCount: Int
    /// The longest lookbehind in the pattern, in characters (PCRE2_INFO_MAXLOOKBEHIND).
    public let maxLookbehind: Int
    /// Whether JIT compilation succeeded; otherwise the interpreter runs, within the same limits.
    public let isJITCompiled: Bool

    let code: OpaquePointer
    let matchContext: OpaquePointer

    public init(_ source: String, options: Options = [], limits: Limits = .init()) throws(PatternError) {
        var errorNumber: Int32 = 0
        var errorOffset: Int = 0
        let flags = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | options.rawValue
        let compiled: OpaquePointer? = source.utf8.withContiguousStorageIfAvailable { bytes in
            pcre2_compile_8(bytes.baseAddress, bytes.count, flags, &errorNumber, &errorOffset, nil)
        } ?? {
            let bytes = Array(source.utf8)
            return bytes.withUnsafeBufferPointer {
                pcre2_compile_8($0.baseAddress, $0.count, flags, &errorNumber, &errorOffset, nil)
            }
        }()
        guard let compiled else {
            throw PatternError(
                .compileFailed, Pattern.errorMessage(errorNumber), offset: errorOffset, nativeCode: Int(errorNumber))
        }
        guard let context = pcre2_match_context_create_8(nil) else {
            pcre2_code_free_8(compiled)
            throw PatternError(.outOfMemory, "cannot allocate a match context")
        }
        pcre2_set_match_limit_8(context, limits.matchLimit)
        pcre2_set_depth_limit_8(context, limits.depthLimit)
        pcre2_set_heap_limit_8(context, limits.heapLimitKiB)

        self.code = compiled
        self.matchContext = context
        self.source = source
        self.options = options
        self.limits = limits
        self.isJITCompiled = pcre2_jit_compile_8(compiled, PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD) == 0
        var captures: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &captures)
        self.captureGroupCount = Int(captures)
        var lookbehind: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_MAXLOOKBEHIND), &lookbehind)
        self.maxLookbehind = Int(lookbehind)
    }

    deinit {
        pcre2_match_context_free_8(matchContext)
        pcre2_code_free_8(code)
    }

    /// The first match at or after `offset` (a UTF-8 byte offset), or nil.
    public func firstMatch(in text: String, from offset: Int = 0) throws(PatternError) -> PatternMatch? {
        let matcher = PatternMatcher(self)
        return try matcher.withUTF8(text) { (subject) throws(PatternError) in
            try matcher.match(subject, from: offset)
        }
    }

    /// Whether the pattern matches anywhere in `text`.
    public func matches(_ text: String) throws(PatternError) -> Bool {
        try firstMatch(in: text) != nil
    }

    /// Every non-overlapping match, left to right.
    public func allMatches(in text: String) throws(PatternError) -> [PatternMatch] {
        let matcher = PatternMatcher(self)
        return try matcher.withUTF8(text) { (subject) throws(PatternError) in
            try matcher.allMatches(subject)
        }
    }

    static func errorMessage(_ number: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = buffer.withUnsafeMutableBufferPointer {
            pcre2_get_error_message_8(number, $0.baseAddress, $0.count)
        }
        guard length > 0 else { return "PCRE2 error \(number)" }
        return String(decoding: buffer[0..<Int(length)], as: UTF8.self)
    }
}
