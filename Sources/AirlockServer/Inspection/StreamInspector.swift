import ChatWire
import Foundation
import Inspection

/// Inspects a streamed chat answer event by event: every choice's `content` and `reasoning_content` deltas go
/// through their own `OutputScanner` (held back only while a pattern may still be matching, placeholders restored),
/// and the event is re-encoded only when its text changed. One per stream, used from that stream's task.
final class StreamInspector {
    enum Step {
        /// Send these bytes (the event as received, or rewritten; possibly preceded by a flush event).
        case send([UInt8])
        /// A block rule matched: send nothing more of the answer.
        case blocked(rules: [String])
    }

    let ruleSet: RuleSet
    let tokens: TokenizationMap
    private let maxHoldbackBytes: Int
    private var scanners: [String: OutputScanner] = [:]
    /// Text released per choice (`content` only), output rules applied and placeholders kept: what the end-of-stream
    /// model checks read (a guard or remote embedder never receives the prompt's values).
    private(set) var releasedContent: [Int: String] = [:]
    private(set) var findings: [Finding] = []
    private(set) var failures: [RuleFailure] = []
    private(set) var inspectionTime: Duration = .zero
    private var lastChunk: (id: JSONValue?, created: JSONValue?, model: JSONValue?) = (nil, nil, nil)

    static let fields = ["reasoning_content", "content"]

    init(ruleSet: RuleSet, tokens: TokenizationMap, maxHoldbackBytes: Int) {
        self.ruleSet = ruleSet
        self.tokens = tokens
        self.maxHoldbackBytes = maxHoldbackBytes
    }

    /// What to send for one SSE event, given its `data` (nil for a comment or an event without data).
    func process(event: [UInt8], data: [UInt8]?) -> Step {
        let started = ContinuousClock.now
        defer { inspectionTime += ContinuousClock.now - started }
        guard let data else { return .send(event) }
        if data.elementsEqual("[DONE]".utf8) {
            // Anything still held (a stream that ended without finish_reason) goes out before [DONE].
            let flushed = flushAll()
            if case .blocked = flushed { return flushed }
            if case .send(let bytes) = flushed { return .send(bytes + event) }
            return .send(event)
        }
        guard case .object(var chunk)? = try? JSONValue.parse(data),
            case .array(var choices)? = chunk["choices"]
        else { return .send(event) }
        lastChunk = (chunk["id"], chunk["created"], chunk["model"])
        var changed = false
        for (position, rawChoice) in choices.enumerated() {
            guard case .object(var choice) = rawChoice else { continue }
            let index = choice["index"].flatMap { value -> Int? in
                if case .number(let number) = value { return number.int }
                return nil
            } ?? position
            let finished = choice["finish_reason"].map { $0 != .null } ?? false
            guard case .object(var delta)? = choice["delta"] else { continue }
            for field in Self.fields {
                let original = delta[field]?.stringValue
                var text = ""
                var unrestored = ""
                if let original, !original.isEmpty {
                    let step = scanner(index, field).feed(original)
                    if let rules = note(step) { return .blocked(rules: rules) }
                    text = step.text
                    unrestored = step.unrestoredText
                }
                // Reasoning ends where the answer starts: release its held tail before the first answer text.
                let closesReasoning =
                    field == "reasoning_content" && !(delta["content"]?.stringValue?.isEmpty ?? true)
                if finished || closesReasoning, let scanner = scanners[key(index, field)] {
                    let step = scanner.finish()
                    if let rules = note(step) { return .blocked(rules: rules) }
                    text += step.text
                    unrestored += step.unrestoredText
                }
                if field == "content" { releasedContent[index, default: ""] += unrestored }
                if text != (original ?? "") && !(original == nil && text.isEmpty) {
                    delta[field] = .string(text)
                    changed = true
                }
            }
            if changed {
                choice["delta"] = .object(delta)
                choices[position] = .object(choice)
            }
        }
        guard changed else { return .send(event) }
        chunk["choices"] = .array(choices)
        return .send(Self.event(.object(chunk)))
    }

    /// Releases whatever every scanner still holds, as one extra chunk event (empty when nothing is held).
    func flushAll() -> Step {
        var choices: [JSONValue] = []
        for (index, fieldScanners) in Dictionary(grouping: scanners, by: { $0.key.split(separator: "|")[0] })
            .sorted(by: { $0.key < $1.key })
        {
            var delta: [String: JSONValue] = [:]
            for (key, scanner) in fieldScanners {
                let step = scanner.finish()
                if let rules = note(step) { return .blocked(rules: rules) }
                guard !step.text.isEmpty else { continue }
                let field = String(key.split(separator: "|")[1])
                delta[field] = .string(step.text)
                if field == "content", let number = Int(index) {
                    releasedContent[number, default: ""] += step.unrestoredText
                }
            }
            if !delta.isEmpty, let number = Int(index) {
                choices.append(.object(["index": .number(JSONNumber(number)), "delta": .object(delta), "finish_reason": .null]))
            }
        }
        guard !choices.isEmpty else { return .send([]) }
        var chunk: [String: JSONValue] = ["object": .string("chat.completion.chunk"), "choices": .array(choices)]
        if let id = lastChunk.id { chunk["id"] = id }
        if let created = lastChunk.created { chunk["created"] = created }
        if let model = lastChunk.model { chunk["model"] = model }
        return .send(Self.event(.object(chunk)))
    }

    /// The first choice's answer, output rules applied and placeholders kept.
    var answer: String { releasedContent[0] ?? releasedContent.sorted { $0.key < $1.key }.first?.value ?? "" }

    private func key(_ index: Int, _ field: String) -> String { "\(index)|\(field)" }

    private func scanner(_ index: Int, _ field: String) -> OutputScanner {
        let key = key(index, field)
        if let scanner = scanners[key] { return scanner }
        let scanner = ruleSet.makeOutputScanner(tokens: tokens, maxHoldbackBytes: maxHoldbackBytes)
        scanners[key] = scanner
        return scanner
    }

    /// Keeps the step's findings and failures; returns the blocking rules if it blocked.
    private func note(_ step: OutputScanner.Step) -> [String]? {
        findings += step.findings
        failures += step.failures
        return step.blockedBy
    }

    static func event(_ value: JSONValue) -> [UInt8] {
        Array("data: ".utf8) + value.encoded() + Array("\n\n".utf8)
    }
}
