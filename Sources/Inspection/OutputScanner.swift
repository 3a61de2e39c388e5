import Patterns

/// Inspects a streamed answer as it arrives. Text is released as soon as no pattern can still be matching it; only
/// a possible match in progress at the end of what has arrived is held back (at most `maxHoldbackBytes`, after
/// which the oldest held text is released). Output rules are applied (tokenize acts as redact), then the prompt's
/// placeholders are restored, including a placeholder split across chunks.
///
/// NER rules read whole sentences: text after the last sentence end (。！？；!?; a line break, or `.` before a space)
/// is held until its sentence ends, so that a name or an address split across chunks is read whole. The hold is
/// bounded like the patterns' one: once more than `maxHoldbackBytes` wait without a sentence end, everything held is
/// read and released, and only an entity touching the end of what has arrived stays held (it may go on); an entity
/// longer than the bound can be cut there.
///
/// One scanner per stream, used from one task; not Sendable. Regex rules only: semantic and guard rules need the
/// whole answer (`RuleSet.inspectOutput`).
public final class OutputScanner {
    /// What to do after one chunk.
    public struct Step: Sendable {
        /// Text to send to the client now (may be empty).
        public var text: String
        /// The same text with the output rules applied but the prompt's placeholders kept: what the model-based
        /// checks at the end read, and what a cache stores.
        public var unrestoredText: String = ""
        /// Findings in the text released by this step; ranges are UTF-8 byte offsets in the model's whole answer.
        public var findings: [Finding]
        public var failures: [RuleFailure]
        /// Set once a `block` rule matched (or a rule failed closed): send nothing more, end the stream with an
        /// error event and `[DONE]`.
        public var blockedBy: [String]?
    }

    public let ruleSet: RuleSet
    public let tokens: TokenizationMap
    public let maxHoldbackBytes: Int

    /// Unreleased model text, preceded by `contextCount` bytes already released and kept for lookbehinds and
    /// context words.
    private var buffer: [UInt8] = []
    private var contextCount = 0
    /// Model-text bytes before `buffer[contextCount]`.
    private var consumed = 0
    private var blockedBy: [String]?
    private var disabledRules: Set<String> = []
    private var finished = false
    private var openingBytes: [UInt8] = []
    private let contextKeep: Int
    /// Bytes the NER model has read so far (against `maxEntityBytes`).
    private var entityBytesRead = 0

    init(ruleSet: RuleSet, tokens: TokenizationMap, maxHoldbackBytes: Int) {
        self.ruleSet = ruleSet
        self.tokens = tokens
        self.maxHoldbackBytes = max(16, maxHoldbackBytes)
        let lookbehind = ruleSet.regexRules.map(\.pattern.maxLookbehind).max() ?? 0
        let context = ruleSet.regexRules.compactMap { $0.definition.context?.window }.max() ?? 0
        self.contextKeep = min(512, max(64, lookbehind * 4, context * 3))
    }

    /// Bytes received but not yet released.
    public var heldBackByteCount: Int { buffer.count - contextCount }

    /// Whether a block rule stopped the stream.
    public var isBlocked: Bool { blockedBy != nil }

    /// The first kilobyte of the model's answer as received (before rules), for refusal detection at the end.
    public var opening: String { String(decoding: openingBytes, as: UTF8.self) }

    /// Takes the next piece of the answer (for chat streams, a delta's `content`).
    public func feed(_ text: String) -> Step {
        guard blockedBy == nil, !finished else { return Step(text: "", findings: [], failures: [], blockedBy: blockedBy) }
        let bytes = Array(text.utf8)
        if openingBytes.count < 1024 { openingBytes += bytes.prefix(1024 - openingBytes.count) }
        buffer += bytes
        return process(final: false)
    }

    /// The answer ended: releases whatever is held, after a last complete scan.
    public func finish() -> Step {
        guard blockedBy == nil, !finished else { return Step(text: "", findings: [], failures: [], blockedBy: blockedBy) }
        let step = process(final: true)
        finished = true
        return step
    }

    private struct Edit {
        var range: Range<Int>
        var replacement: String
    }

    private func process(final: Bool) -> Step {
        let mode: PatternMatcher.Mode = final ? .complete : .partialHard
        let ruleSet = self.ruleSet
        let disabled = disabledRules
        let start = contextCount
        var step = Step(text: "", findings: [], failures: [], blockedBy: nil)
        var newlyDisabled: [String] = []
        var block: [String] = []
        let entityRules = ruleSet.outputNERRules.filter { !disabled.contains($0.id) }
        let safe: Int = buffer.withUnsafeBufferPointer { bytes in
            var result = ruleSet.scan(bytes, from: start, groups: ruleSet.inspectGroups, mode: mode) { rule in
                rule.definition.scope.coversOutput && !disabled.contains(rule.id)
            }
            for (rule, error) in result.failures {
                let failure = ruleSet.regexFailure(rule, error)
                step.failures.append(failure)
                if failure.mode == .closed { block.append(rule.id) } else { newlyDisabled.append(rule.id) }
            }
            if !entityRules.isEmpty {
                var end = final ? bytes.count : (Self.lastSentenceEnd(bytes, from: start) ?? start)
                let forced = !final && bytes.count - end > maxHoldbackBytes
                if forced { end = bytes.count }
                if end > start {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
                    let work = ruleSet.entityWork(text)
                    entityBytesRead += work
                    if entityBytesRead > ruleSet.configuration.maxEntityBytes {
                        let failed = ruleSet.entityBudgetFailures(entityRules, bytes: entityBytesRead)
                        step.failures += failed.failures
                        block += failed.blocking
                        newlyDisabled += entityRules.filter { $0.definition.onError == .open }.map(\.id)
                    } else if work > 0 {
                        var piece = text
                        let hits = piece.withUTF8 { ruleSet.entityHits(entityRules, text: text, bytes: $0) }
                        for var hit in hits {
                            hit.range = (hit.range.lowerBound + start)..<(hit.range.upperBound + start)
                            result.hits.append(hit)
                            // Touching the end of what has arrived: the name may go on in the next chunk.
                            if forced && hit.range.upperBound == bytes.count && hit.range.lowerBound > start {
                                result.hold(from: hit.range.lowerBound)
                            }
                        }
                    }
                }
                if end < bytes.count { result.hold(from: end) }
            }
            var restores: [Edit] = []
            if !tokens.isEmpty {
                let matcher = PatternMatcher(ruleSet.placeholderPattern)
                var position = start
                while position < bytes.count, let match = try? matcher.match(bytes, from: position, mode: mode) {
                    if match.isPartial {
                        result.hold(from: match.range.lowerBound)
                        break
                    }
                    let placeholder = String(decoding: UnsafeBufferPointer(rebasing: bytes[match.range]), as: UTF8.self)
                    if let value = tokens.value(for: placeholder) {
                        restores.append(Edit(range: match.range, replacement: value))
                    }
                    position = max(match.range.upperBound, match.range.lowerBound + 1)
                }
            }
            let blockHits = result.hits.filter { $0.rule.definition.action == .block }
            if !blockHits.isEmpty || !block.isEmpty {
                block += blockHits.map(\.rule.id)
                step.findings += blockHits.map { absolute(ruleSet.finding($0, messageIndex: nil)) }
                return start
            }

            var safe = final ? bytes.count : (result.holdFrom ?? bytes.count)
            if !final, bytes.count - safe > maxHoldbackBytes {
                safe = bytes.count - maxHoldbackBytes
                while safe < bytes.count, bytes[safe] & 0xC0 == 0x80 { safe += 1 }
            }
            // A finished match that runs past the release point is held whole, to be released with its edit.
            var moved = true
            while moved {
                moved = false
                for range in result.hits.map(\.range) + restores.map(\.range)
                where range.lowerBound < safe && range.upperBound > safe && range.lowerBound >= start {
                    safe = range.lowerBound
                    moved = true
                }
            }
            safe = max(safe, start)

            let released = result.hits.filter { $0.range.upperBound <= safe && $0.range.lowerBound >= start }
            let transforming = RegexScanResult(hits: released).transformingHits {
                $0.rule.definition.action.transformsText
            }
            var edits = restores.filter { $0.range.upperBound <= safe }
            var scratch = TokenizationMap()
            for hit in transforming where !edits.contains(where: { $0.range.overlaps(hit.range) }) {
                let original = String(decoding: UnsafeBufferPointer(rebasing: bytes[hit.range]), as: UTF8.self)
                let replacement = Replacement.text(
                    for: hit.rule.definition.action, label: hit.label, original: Substring(original),
                    tokens: &scratch, allowTokenize: false) ?? original
                edits.append(Edit(range: hit.range, replacement: replacement))
                step.findings.append(absolute(ruleSet.finding(hit, messageIndex: nil)))
            }
            for hit in released where hit.rule.definition.action == .flag {
                step.findings.append(absolute(ruleSet.finding(hit, messageIndex: nil)))
            }
            edits.sort { $0.range.lowerBound < $1.range.lowerBound }
            let restoreStarts = Set(restores.map(\.range.lowerBound))
            var text = ""
            var unrestored = ""
            var position = start
            for edit in edits where edit.range.lowerBound >= position {
                let between = String(
                    decoding: UnsafeBufferPointer(rebasing: bytes[position..<edit.range.lowerBound]), as: UTF8.self)
                text += between
                unrestored += between
                text += edit.replacement
                unrestored += restoreStarts.contains(edit.range.lowerBound)
                    ? String(decoding: UnsafeBufferPointer(rebasing: bytes[edit.range]), as: UTF8.self) : edit.replacement
                position = edit.range.upperBound
            }
            let tail = String(decoding: UnsafeBufferPointer(rebasing: bytes[position..<safe]), as: UTF8.self)
            step.text = text + tail
            step.unrestoredText = unrestored + tail
            return safe
        }
        disabledRules.formUnion(newlyDisabled)
        if !block.isEmpty {
            blockedBy = RuleSet.unique(block)
            step.blockedBy = blockedBy
            step.text = ""
            buffer.removeAll()
            contextCount = 0
            return step
        }
        // Keep a little released text in front for lookbehinds and context words.
        consumed += safe - contextCount
        let keepFrom = max(0, safe - contextKeep)
        buffer.removeFirst(keepFrom)
        contextCount = safe - keepFrom
        return step
    }

    /// Where the text after the last sentence end at or after `start` begins (nil if there is none): after 。！？；,
    /// their ASCII forms, a line break, or a `.` followed by a space or line break.
    static func lastSentenceEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = bytes.count - 1
        while index >= start {
            switch bytes[index] {
            case UInt8(ascii: "!"), UInt8(ascii: "?"), UInt8(ascii: ";"), UInt8(ascii: "\n"):
                return index + 1
            case UInt8(ascii: "."):
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: " ") || bytes[index + 1] == UInt8(ascii: "\n") {
                    return index + 1
                }
            case 0x82 where index >= start + 2 && bytes[index - 2] == 0xE3 && bytes[index - 1] == 0x80:  // 。
                return index + 1
            case 0x81, 0x9F, 0x9B:  // ！？；
                if index >= start + 2 && bytes[index - 2] == 0xEF && bytes[index - 1] == 0xBC { return index + 1 }
            default:
                break
            }
            index -= 1
        }
        return nil
    }

    /// A finding with its range moved from buffer offsets to offsets in the whole answer.
    private func absolute(_ finding: Finding) -> Finding {
        var finding = finding
        if let range = finding.range {
            let shift = consumed - contextCount
            finding.range = (range.lowerBound + shift)..<(range.upperBound + shift)
        }
        return finding
    }
}

extension RuleSet {
    /// A scanner for one streamed answer. Pass the prompt inspection's `tokens` so placeholders are restored.
    public func makeOutputScanner(tokens: TokenizationMap = .init(), maxHoldbackBytes: Int? = nil) -> OutputScanner {
        OutputScanner(
            ruleSet: self, tokens: tokens, maxHoldbackBytes: maxHoldbackBytes ?? configuration.maxHoldbackBytes)
    }
}
