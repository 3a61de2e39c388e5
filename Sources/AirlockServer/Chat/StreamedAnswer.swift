import ChatWire
import Inspection
import Outcomes
import SemanticCache
import Upstream

/// One streamed chat answer, followed one SSE event at a time: each event is parsed once (strictly: an event that is
/// not valid JSON stops the stream as `failure_malformed`, it is never passed on uninspected), and that one parse
/// drives everything the stream needs: the outcome, the output rules on every choice's `content`,
/// `reasoning_content` and tool-call arguments (held back only while a pattern may still match, placeholders
/// restored), and the answer assembled for the cache (output rules applied, placeholders kept).
///
/// A value-type state machine without I/O: the route feeds it events and writes what it returns; when the answer is
/// complete it asks for the model-based checks (`.judge`), which the route runs and hands back with `judged(_:)`.
/// The output scanners it holds are reference types used only from the stream's own task.
struct StreamedAnswer {
    enum Step: Equatable {
        /// Write these bytes (possibly none) and read on.
        case send([UInt8])
        /// The answer is complete: run the model-based checks on `answer` (output rules applied, placeholders
        /// kept), then call `judged(_:)`. `complete` is false when the answer outgrew what is kept and `answer` is
        /// only its opening.
        case judge(answer: String, complete: Bool)
        /// Stop reading the upstream: write these bytes, then call `finish`.
        case stop([UInt8])
    }

    /// How the stream ended, once the upstream is done (or was stopped).
    struct Ending {
        /// The last bytes for the client: anything still held back, an error event, the outcome comment, `[DONE]`.
        var tail: [UInt8]
        var outcome: Outcome
        /// What the upstream target did, for its circuit breaker (`ok` when Airlock's own policy stopped it).
        var upstreamOutcome: Outcome
        /// The error code for the log line, if the stream did not end cleanly.
        var error: String?
        var blockedBy: [String]?
        /// The answer to store: a clean `ok` stream only (finish reason and `[DONE]`, no error event).
        var completion: CachedCompletion?
        /// The usage upstream reported (Airlock always asks for it), whether or not the client saw it.
        var usage: TokenUsage? = nil
    }

    /// Output inspection: the prompt's rule set and placeholders.
    struct Inspection: Sendable {
        let ruleSet: RuleSet
        let tokens: TokenizationMap
        let maxHoldbackBytes: Int
    }

    /// One tool call of choice 0 as assembled so far.
    private struct ToolCallParts {
        var id: String?
        var type: String?
        var name = ""
        var arguments = ""
    }

    private enum Field: Hashable {
        case content, reasoning
        case toolArguments(Int)
    }

    private struct ScannerKey: Hashable {
        var choice: Int
        var field: Field
    }

    /// Choices in order; within one, reasoning, content, then tool calls by index.
    private static func order(_ a: ScannerKey, _ b: ScannerKey) -> Bool {
        func rank(_ field: Field) -> Int {
            switch field {
            case .reasoning: -2
            case .content: -1
            case .toolArguments(let index): index
            }
        }
        return (a.choice, rank(a.field)) < (b.choice, rank(b.field))
    }

    private let classifier: OutcomeClassifier
    private let inspection: Inspection?
    private let assembles: Bool

    private(set) var sawDone = false
    private(set) var finishReason: String?
    private(set) var errorOutcome: Outcome?
    private(set) var malformed = false
    private(set) var blockedBy: [String]?
    private var refusalByRules = false
    private var judging = false
    private var pending: [UInt8] = []

    private var scanners: [ScannerKey: OutputScanner] = [:]
    /// Per choice, the answer's text: as the model sent it, or with the output rules applied and placeholders kept
    /// when inspecting.
    private var content: [Int: String] = [:]
    private var reasoning = ""
    private var toolCalls: [Int: ToolCallParts] = [:]
    /// The model upstream named in its chunks ("" until one did).
    private(set) var model = ""
    private var fingerprint: String?
    private var usage: TokenUsage?
    private let passesUsage: Bool
    private var lastChunk: (id: JSONValue?, created: JSONValue?, model: JSONValue?) = (nil, nil, nil)

    /// What one stream may make Airlock keep: choices and tool calls by index, and the answer's text.
    static let maxChoices = 64
    static let maxToolCalls = 128
    private let maxKeptBytes: Int
    private var keptBytes = 0
    /// The answer outgrew `maxKeptBytes`: it still streams (and every byte is still scanned), but it is not stored,
    /// and the model-based checks are told they see only its opening.
    private(set) var truncated = false
    /// An upstream event outgrew the framer's bound.
    private(set) var eventTooLarge = false
    /// A choice or tool-call index out of range.
    private var indexOutOfRange = false

    /// Deltas whose text (answer or reasoning) went out non-empty: the pump times the first and the gaps.
    private(set) var textChunksSent = 0
    private(set) var findings: [Finding] = []
    private(set) var failures: [RuleFailure] = []
    private(set) var inspectionTime: Duration = .zero

    /// `assembles`: keep what the cache needs (reasoning, tool calls, usage) besides the content. `passesUsage`: the
    /// client asked for usage (`stream_options.include_usage`); when it did not, the usage Airlock asked upstream for
    /// is read and kept from the client.
    init(
        classifier: OutcomeClassifier, inspection: Inspection?, assembles: Bool, passesUsage: Bool = true,
        maxKeptBytes: Int = 8 << 20
    ) {
        self.passesUsage = passesUsage
        self.maxKeptBytes = maxKeptBytes
        self.classifier = classifier
        self.inspection = inspection
        self.assembles = assembles
    }

    /// The first choice's answer so far (output rules applied and placeholders kept, when inspecting).
    var answer: String { content[0] ?? content.sorted { $0.key < $1.key }.first?.value ?? "" }

    /// Whether the stream ended with both a finish reason and `[DONE]`, and no error: the only streams stored.
    var endedCleanly: Bool {
        sawDone && finishReason != nil && errorOutcome == nil && !malformed && blockedBy == nil && !truncated
    }

    /// The framer gave up on an event larger than its bound: the stream stops as `failure_malformed`.
    mutating func eventOverflowed() {
        eventTooLarge = true
        malformed = true
    }

    /// The outcome as things stand.
    var outcome: Outcome {
        if let blockedBy { return .blockedOutput(rule: blockedBy.first ?? "unknown") }
        if let errorOutcome { return errorOutcome }
        if malformed { return .failureMalformed }
        guard sawDone, finishReason != nil else { return .failureStreamCut }
        if refusalByRules { return .refusalModel }
        // Thinking mode can decline in its reasoning and leave the answer empty.
        let text = answer.isEmpty ? reasoning : answer
        if !text.isEmpty && classifier.refusalDetector.isRefusal(text) { return .refusalModel }
        return .ok
    }

    // MARK: - Events

    /// Takes one whole SSE event (as `SSEFramer` cut it).
    mutating func feed(event: [UInt8]) -> Step {
        guard blockedBy == nil, !malformed, !judging else { return .stop([]) }
        guard let data = SSEFramer.data(of: event) else { return .send(event) }
        if data.elementsEqual("[DONE]".utf8) { return done(event: event) }
        guard case .object(var chunk)? = try? JSONValue.parse(data) else {
            malformed = true
            return .stop([])
        }
        if let error = chunk["error"], error != .null {
            errorOutcome = classifier.classifyError(status: 200, error: error)
            return .send(event)
        }
        if case .string(let name)? = chunk["model"] { model = name }
        if assembles, case .string(let value)? = chunk["system_fingerprint"] { fingerprint = value }
        var usageRemoved = false
        if let value = TokenUsage(json: chunk["usage"]) {
            usage = value
            if !passesUsage {
                // The client did not ask for usage: it sees the stream it would have seen from Qwen, without it.
                guard case .array(let choices)? = chunk["choices"], !choices.isEmpty else { return .send([]) }
                chunk["usage"] = nil
                usageRemoved = true
            }
        }
        guard case .array(var choices)? = chunk["choices"] else { return .send(event) }
        lastChunk = (chunk["id"], chunk["created"], chunk["model"])
        var changed = false
        for (position, rawChoice) in choices.enumerated() {
            guard case .object(var choice) = rawChoice else { continue }
            let index = choice["index"]?.numberValue?.int ?? position
            guard (0..<Self.maxChoices).contains(index) else {
                indexOutOfRange = true
                malformed = true
                return .stop([])
            }
            let finished: Bool
            if case .string(let reason)? = choice["finish_reason"] {
                finishReason = reason
                finished = true
            } else {
                finished = false
            }
            var choiceChanged = false
            // A finish without a delta still releases what the choice's scanners hold.
            if var delta = choice["delta"]?.objectValue ?? (finished && inspection != nil ? [:] : nil) {
                switch inspect(delta: &delta, choice: index, finished: finished) {
                case .blocked(let rules):
                    blockedBy = rules
                    return .stop([])
                case .outOfRange:
                    indexOutOfRange = true
                    malformed = true
                    return .stop([])
                case .changed:
                    choice["delta"] = .object(delta)
                    choiceChanged = true
                case .unchanged:
                    break
                }
            }
            if choiceChanged {
                choices[position] = .object(choice)
                changed = true
            }
        }
        guard changed || usageRemoved else { return .send(event) }
        chunk["choices"] = .array(choices)
        return .send(Self.event(.object(chunk)))
    }

    /// The model-based checks' verdict on the complete answer (see `.judge`).
    mutating func judged(_ models: OutputInspection, took duration: Duration) -> Step {
        judging = false
        inspectionTime += duration
        findings += models.findings
        failures += models.failures
        if case .block(let rules) = models.decision {
            blockedBy = rules
            pending = []
            return .stop([])
        }
        refusalByRules = models.refusal != nil
        let bytes = pending + Self.outcomeComment(outcome) + Array("data: [DONE]\n\n".utf8)
        pending = []
        return .send(bytes)
    }

    /// The upstream is done (ended, failed with `transport`, or was stopped): the last bytes and the outcome.
    /// `shuttingDown`: Airlock cut the stream because shutdown's drain time ran out.
    mutating func finish(transport: UpstreamError?, shuttingDown: Bool = false) -> Ending {
        // What was held back is released before any error: the client has the answer up to the break.
        var held: [UInt8] = []
        if !sawDone, blockedBy == nil, !judging, case .send(let bytes) = flushAll() { held = bytes }
        if let blockedBy {
            let error = ChatCompletionsRoute.blockedOutputError(blockedBy)
            let outcome = Outcome.blockedOutput(rule: blockedBy.first ?? "unknown")
            return Ending(
                tail: Array("data: ".utf8) + error.body + Array("\n\n".utf8) + Self.outcomeComment(outcome)
                    + Array("data: [DONE]\n\n".utf8),
                outcome: outcome, upstreamOutcome: .ok, error: "blocked_output", blockedBy: blockedBy, completion: nil,
                usage: usage)
        }
        var outcome = self.outcome
        if let transport, transport.code.isTimeout, errorOutcome == nil, !sawDone { outcome = .failureTimeout }
        var tail = held
        var errorCode: String?
        if !sawDone {
            if errorOutcome == nil {
                let error =
                    shuttingDown
                    ? ChatCompletionsRoute.shuttingDownError
                    : eventTooLarge
                    ? ChatCompletionsRoute.eventTooLargeError
                    : indexOutOfRange
                        ? ChatCompletionsRoute.indexOutOfRangeError
                        : ChatCompletionsRoute.streamError(for: outcome, transport: transport)
                errorCode = error.code
                tail += Array("data: ".utf8) + error.body + Array("\n\n".utf8)
            }
            tail += Self.outcomeComment(outcome)
        }
        var completion: CachedCompletion?
        if outcome == .ok, endedCleanly, assembles, let finishReason {
            completion = CachedCompletion(
                model: model, content: content[0] ?? "", reasoningContent: reasoning.isEmpty ? nil : reasoning,
                toolCallsJSON: toolCallsJSON, finishReason: finishReason, usage: usage, systemFingerprint: fingerprint)
        }
        return Ending(
            tail: tail, outcome: outcome, upstreamOutcome: outcome, error: errorCode, blockedBy: nil,
            completion: completion, usage: usage)
    }

    // MARK: - Inspection

    private enum DeltaResult {
        case unchanged, changed
        case blocked([String])
        case outOfRange
    }

    /// Runs one delta's texts through their scanners (or just records them), rewriting the delta where the text
    /// changed. `finished`: the choice's last delta, so its scanners release everything.
    private mutating func inspect(delta: inout [String: JSONValue], choice: Int, finished: Bool) -> DeltaResult {
        var changed = false
        // Reasoning ends where the answer starts: release its held tail before the first answer text.
        let answerStarts = !(delta["content"]?.stringValue?.isEmpty ?? true)
        for (name, field) in [("reasoning_content", Field.reasoning), ("content", Field.content)] {
            let original = delta[name]?.stringValue
            let closes = finished || (field == .reasoning && answerStarts)
            switch pass(original, key: ScannerKey(choice: choice, field: field), closes: closes) {
            case .blocked(let rules):
                return .blocked(rules)
            case .text(let sent, let kept):
                append(kept, to: field, choice: choice)
                if !sent.isEmpty { textChunksSent += 1 }
                if sent != (original ?? "") && !(original == nil && sent.isEmpty) {
                    delta[name] = .string(sent)
                    changed = true
                }
            }
        }
        var seenCalls: Set<Int> = []
        if case .array(var calls)? = delta["tool_calls"] {
            var callsChanged = false
            for (position, rawCall) in calls.enumerated() {
                guard case .object(var call) = rawCall else { continue }
                let callIndex = call["index"]?.numberValue?.int ?? position
                guard (0..<Self.maxToolCalls).contains(callIndex) else { return .outOfRange }
                seenCalls.insert(callIndex)
                if choice == 0 && assembles {
                    var parts = toolCalls[callIndex] ?? ToolCallParts()
                    if case .string(let id)? = call["id"] { parts.id = id }
                    if case .string(let type)? = call["type"] { parts.type = type }
                    if case .string(let name)? = call["function"]?["name"] { parts.name += name }
                    toolCalls[callIndex] = parts
                }
                guard case .object(var function)? = call["function"] else { continue }
                let original = function["arguments"]?.stringValue
                switch pass(original, key: ScannerKey(choice: choice, field: .toolArguments(callIndex)), closes: finished) {
                case .blocked(let rules):
                    return .blocked(rules)
                case .text(let sent, let kept):
                    append(kept, to: .toolArguments(callIndex), choice: choice)
                    if sent != (original ?? "") && !(original == nil && sent.isEmpty) {
                        function["arguments"] = .string(sent)
                        call["function"] = .object(function)
                        calls[position] = .object(call)
                        callsChanged = true
                    }
                }
            }
            if callsChanged {
                delta["tool_calls"] = .array(calls)
                changed = true
            }
        }
        if finished, inspection != nil {
            // Calls that were not in this last delta release what their scanners hold in an added entry.
            var added: [JSONValue] = []
            for key in scanners.keys.sorted(by: Self.order) where key.choice == choice {
                guard case .toolArguments(let callIndex) = key.field, !seenCalls.contains(callIndex) else { continue }
                switch pass(nil, key: key, closes: true) {
                case .blocked(let rules):
                    return .blocked(rules)
                case .text(let sent, let kept):
                    append(kept, to: key.field, choice: choice)
                    guard !sent.isEmpty else { continue }
                    added.append(
                        .object([
                            "index": .number(JSONNumber(callIndex)), "function": .object(["arguments": .string(sent)]),
                        ]))
                }
            }
            if !added.isEmpty {
                delta["tool_calls"] = .array((delta["tool_calls"]?.arrayValue ?? []) + added)
                changed = true
            }
        }
        return changed ? .changed : .unchanged
    }

    private enum Passed {
        /// `sent` goes to the client; `kept` (placeholders not restored) is what the answer is assembled from.
        case text(sent: String, kept: String)
        case blocked([String])
    }

    /// One text through its scanner; without inspection, the text as it came.
    private mutating func pass(_ text: String?, key: ScannerKey, closes: Bool) -> Passed {
        guard let inspection else { return .text(sent: text ?? "", kept: text ?? "") }
        let started = ContinuousClock.now
        defer { inspectionTime += ContinuousClock.now - started }
        var sent = ""
        var kept = ""
        if let text, !text.isEmpty {
            let step = scanner(key, inspection).feed(text)
            if let rules = note(step) { return .blocked(rules) }
            sent = step.text
            kept = step.unrestoredText
        }
        if closes, let scanner = scanners[key] {
            let step = scanner.finish()
            if let rules = note(step) { return .blocked(rules) }
            sent += step.text
            kept += step.unrestoredText
        }
        return .text(sent: sent, kept: kept)
    }

    private mutating func append(_ text: String, to field: Field, choice: Int) {
        guard !text.isEmpty, !truncated else { return }
        // The first choice's reasoning is kept even when not assembling: refusal detection reads it when the answer
        // is empty.
        let kept = field == .content || (choice == 0 && (assembles || field == .reasoning)) ? text.utf8.count : 0
        if keptBytes + kept > maxKeptBytes {
            truncated = true
            return
        }
        keptBytes += kept
        switch field {
        case .content:
            content[choice, default: ""] += text
        case .reasoning:
            if choice == 0 { reasoning += text }
        case .toolArguments(let call):
            if choice == 0 && assembles { toolCalls[call, default: ToolCallParts()].arguments += text }
        }
    }

    private mutating func scanner(_ key: ScannerKey, _ inspection: Inspection) -> OutputScanner {
        if let scanner = scanners[key] { return scanner }
        let scanner = inspection.ruleSet.makeOutputScanner(
            tokens: inspection.tokens, maxHoldbackBytes: inspection.maxHoldbackBytes)
        scanners[key] = scanner
        return scanner
    }

    /// Keeps the step's findings and failures; returns the blocking rules if it blocked.
    private mutating func note(_ step: OutputScanner.Step) -> [String]? {
        findings += step.findings
        failures += step.failures
        return step.blockedBy
    }

    /// `[DONE]`: release what is held; then the outcome comment and `[DONE]`, after the model-based checks when
    /// there are rules.
    private mutating func done(event: [UInt8]) -> Step {
        sawDone = true
        var bytes: [UInt8] = []
        switch flushAll() {
        case .stop:
            return .stop([])
        case .send(let held):
            bytes = held
        case .judge:
            break
        }
        if inspection != nil {
            judging = true
            pending = bytes
            return .judge(answer: answer, complete: !truncated)
        }
        return .send(bytes + Self.outcomeComment(outcome) + event)
    }

    /// Releases whatever every scanner still holds, as one extra chunk event (no bytes when nothing is held).
    private mutating func flushAll() -> Step {
        guard inspection != nil, !scanners.isEmpty else { return .send([]) }
        var deltas: [Int: [String: JSONValue]] = [:]
        var calls: [Int: [JSONValue]] = [:]
        for key in scanners.keys.sorted(by: Self.order) {
            guard let scanner = scanners[key] else { continue }
            let step = scanner.finish()
            if let rules = note(step) {
                blockedBy = rules
                return .stop([])
            }
            append(step.unrestoredText, to: key.field, choice: key.choice)
            guard !step.text.isEmpty else { continue }
            switch key.field {
            case .content: deltas[key.choice, default: [:]]["content"] = .string(step.text)
            case .reasoning: deltas[key.choice, default: [:]]["reasoning_content"] = .string(step.text)
            case .toolArguments(let call):
                calls[key.choice, default: []].append(
                    .object(["index": .number(JSONNumber(call)), "function": .object(["arguments": .string(step.text)])]))
            }
        }
        for (choice, list) in calls { deltas[choice, default: [:]]["tool_calls"] = .array(list) }
        guard !deltas.isEmpty else { return .send([]) }
        let choices: [JSONValue] = deltas.keys.sorted().map { choice in
            .object(["index": .number(JSONNumber(choice)), "delta": .object(deltas[choice] ?? [:]), "finish_reason": .null])
        }
        var chunk: [String: JSONValue] = ["object": .string("chat.completion.chunk"), "choices": .array(choices)]
        if let id = lastChunk.id { chunk["id"] = id }
        if let created = lastChunk.created { chunk["created"] = created }
        if let model = lastChunk.model { chunk["model"] = model }
        return .send(Self.event(.object(chunk)))
    }

    // MARK: - Wire helpers

    static func event(_ value: JSONValue) -> [UInt8] {
        Array("data: ".utf8) + value.encoded() + Array("\n\n".utf8)
    }

    static func outcomeComment(_ outcome: Outcome) -> [UInt8] {
        Array(": x-airlock-outcome: \(outcome.description)\n\n".utf8)
    }

    private var toolCallsJSON: String? {
        guard !toolCalls.isEmpty else { return nil }
        let calls: [JSONValue] = toolCalls.keys.sorted().map { index in
            let call = toolCalls[index] ?? ToolCallParts()
            return .object([
                "id": .string(call.id ?? ""), "type": .string(call.type ?? "function"),
                "function": .object(["name": .string(call.name), "arguments": .string(call.arguments)]),
            ])
        }
        return JSONValue.array(calls).canonicalText
    }
}
