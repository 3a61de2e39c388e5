import CPCRE2

/// One match: byte ranges into the subject.
public struct PatternMatch: Sendable, Hashable {
    /// The whole match. For a partial match, the part of the subject that matched before it ran out.
    public var range: Range<Int>
    /// Capturing groups 1…n; nil where a group did not take part.
    public var groups: [Range<Int>?]
    /// The name of the last `(*MARK:name)` passed on the path that matched, if any.
    public var mark: String?
    /// The subject ended while the pattern could still have matched more (see `PatternMatcher.Mode.partialHard`).
    public var isPartial: Bool

    public init(range: Range<Int>, groups: [Range<Int>?] = [], mark: String? = nil, isPartial: Bool = false) {
        self.range = range
        self.groups = groups
        self.mark = mark
        self.isPartial = isPartial
    }
}

/// Per-thread matching state for one `Pattern`: owns the PCRE2 match data. Make one per call or per thread; it is
/// deliberately not Sendable.
public final class PatternMatcher {
    public enum Mode: Sendable {
        /// Only complete matches.
        case complete
        /// PCRE2_PARTIAL_HARD: if the subject ends while a match is still possible (including a complete match that
        /// could be extended), report a partial match starting where it began. For text that arrives in pieces.
        case partialHard
    }

    public let pattern: Pattern
    private let matchData: OpaquePointer

    public init(_ pattern: Pattern) {
        self.pattern = pattern
        // Allocation failure here means the process is out of memory; PCRE2 offers no way to continue.
        guard let data = pcre2_match_data_create_from_pattern_8(pattern.code, nil) else {
            fatalError("pcre2_match_data_create_from_pattern failed: out of memory")
        }
        self.matchData = data
    }

    deinit { pcre2_match_data_free_8(matchData) }

    /// Calls `body` with the UTF-8 bytes of `text`, without copying where the string is contiguous.
    public func withUTF8<R>(
        _ text: String, _ body: (UnsafeBufferPointer<UInt8>) throws(PatternError) -> R
    ) throws(PatternError) -> R {
        var text = text
        let result: Result<R, PatternError> = text.withUTF8 { bytes in
            do throws(PatternError) { return .success(try body(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The first match at or after byte `offset` of `subject`. With `anchored`, only a match starting exactly there.
    /// Bytes before `offset` are visible to lookbehinds.
    public func match(
        _ subject: UnsafeBufferPointer<UInt8>, from offset: Int = 0, mode: Mode = .complete, anchored: Bool = false
    ) throws(PatternError) -> PatternMatch? {
        guard offset >= 0, offset <= subject.count else {
            throw PatternError(.invalidOffset, "start offset \(offset) outside a subject of \(subject.count) bytes")
        }
        var options: UInt32 = 0
        if anchored { options |= PCRE2_ANCHORED }
        if mode == .partialHard { options |= PCRE2_PARTIAL_HARD }
        // An empty buffer may have no base address; PCRE2 needs a valid pointer even for zero length.
        let empty: [UInt8] = [0]
        var rc = empty.withUnsafeBufferPointer { fallback in
            pcre2_match_8(
                pattern.code, subject.baseAddress ?? fallback.baseAddress, subject.count, offset, options, matchData,
                pattern.matchContext)
        }
        if rc == PCRE2_ERROR_JIT_STACKLIMIT {
            // The JIT's default 32 KiB stack ran out; the interpreter works on the heap, within the heap limit.
            rc = empty.withUnsafeBufferPointer { fallback in
                pcre2_match_8(
                    pattern.code, subject.baseAddress ?? fallback.baseAddress, subject.count, offset,
                    options | PCRE2_NO_JIT, matchData, pattern.matchContext)
            }
        }
        if rc == PCRE2_ERROR_NOMATCH { return nil }
        if rc == PCRE2_ERROR_PARTIAL {
            let ovector = pcre2_get_ovector_pointer_8(matchData)!
            return PatternMatch(range: ovector[0]..<max(ovector[0], ovector[1]), isPartial: true)
        }
        if rc < 0 { throw Self.matchError(rc) }
        return readMatch(groupsSet: Int(rc))
    }

    /// Every non-overlapping complete match from `offset` on, left to right.
    public func allMatches(_ subject: UnsafeBufferPointer<UInt8>, from offset: Int = 0) throws(PatternError)
        -> [PatternMatch]
    {
        var results: [PatternMatch] = []
        var position = offset
        while position <= subject.count, let found = try match(subject, from: position) {
            results.append(found)
            if found.range.upperBound > found.range.lowerBound {
                position = found.range.upperBound
            } else {
                position = Self.nextCharacter(after: found.range.upperBound, in: subject)
            }
        }
        return results
    }

    /// The byte offset of the character after the one starting at `offset` (skips UTF-8 continuation bytes).
    public static func nextCharacter(after offset: Int, in subject: UnsafeBufferPointer<UInt8>) -> Int {
        var next = offset + 1
        while next < subject.count, subject[next] & 0xC0 == 0x80 { next += 1 }
        return next
    }

    private func readMatch(groupsSet: Int) -> PatternMatch {
        let ovector = pcre2_get_ovector_pointer_8(matchData)!
        let unset = airlock_pcre2_unset()
        var groups: [Range<Int>?] = []
        if pattern.captureGroupCount > 0 {
            groups.reserveCapacity(pattern.captureGroupCount)
            for group in 1...pattern.captureGroupCount {
                let start = ovector[2 * group]
                let end = ovector[2 * group + 1]
                // rc counts groups up to the highest one set; later groups are stale in the ovector.
                if group < groupsSet, start != unset, end != unset, start <= end {
                    groups.append(start..<end)
                } else {
                    groups.append(nil)
                }
            }
        }
        var mark: String?
        if let pointer = pcre2_get_mark_8(matchData) {
            mark = String(cString: pointer)
        }
        let start = ovector[0]
        let end = ovector[1]
        // `\K` can put the start after the end; report an empty match at the end then.
        return PatternMatch(range: min(start, end)..<end, groups: groups, mark: mark)
    }

    static func matchError(_ rc: Int32) -> PatternError {
        let message = Pattern.errorMessage(rc)
        switch rc {
        case PCRE2_ERROR_MATCHLIMIT:
            return PatternError(.matchLimitExceeded, message, nativeCode: Int(rc))
        case PCRE2_ERROR_DEPTHLIMIT, PCRE2_ERROR_HEAPLIMIT, PCRE2_ERROR_JIT_STACKLIMIT:
            return PatternError(.depthLimitExceeded, message, nativeCode: Int(rc))
        case PCRE2_ERROR_NOMEMORY:
            return PatternError(.outOfMemory, message, nativeCode: Int(rc))
        case PCRE2_ERROR_BADOFFSET, PCRE2_ERROR_BADUTFOFFSET:
            return PatternError(.invalidOffset, message, nativeCode: Int(rc))
        default:
            return PatternError(.matchFailed, message, nativeCode: Int(rc))
        }
    }
}
