/// Per-request placeholders (`<EMAIL_1>`) and the values they stand for. The same value gets the same placeholder
/// within a request, so the upstream (and the cache) sees a stable prompt.
public struct TokenizationMap: Sendable, Hashable {
    private var valueByPlaceholder: [String: String] = [:]
    private var placeholderByValue: [String: String] = [:]
    private var counters: [String: Int] = [:]
    /// Placeholders in the order they were made.
    public private(set) var placeholders: [String] = []

    public init() {}

    public var isEmpty: Bool { placeholders.isEmpty }
    public var count: Int { placeholders.count }

    /// The value behind a placeholder such as `<EMAIL_1>`.
    public func value(for placeholder: String) -> String? { valueByPlaceholder[placeholder] }

    /// The placeholder for `value` under `label`, made on first use.
    public mutating func placeholder(for value: String, label: String) -> String {
        let key = label + "\u{0}" + value
        if let existing = placeholderByValue[key] { return existing }
        let number = (counters[label] ?? 0) + 1
        counters[label] = number
        let placeholder = "<\(label)_\(number)>"
        placeholderByValue[key] = placeholder
        valueByPlaceholder[placeholder] = value
        placeholders.append(placeholder)
        return placeholder
    }

    /// `text` with every known placeholder replaced by its value. For whole answers; streams restore through
    /// `OutputScanner`, which also handles a placeholder split across chunks.
    public func restore(in text: String) -> String {
        guard !isEmpty, text.utf8.contains(UInt8(ascii: "<")) else { return text }
        var output = ""
        output.reserveCapacity(text.utf8.count)
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "<") {
            output += rest[..<open]
            let tail = rest[open...]
            if let close = tail.firstIndex(of: ">"),
                let value = valueByPlaceholder[String(tail[...close])]
            {
                output += value
                rest = tail[tail.index(after: close)...]
            } else {
                output += "<"
                rest = tail.dropFirst()
            }
        }
        output += rest
        return output
    }
}

/// How a finding changes the text.
enum Replacement {
    static func text(for action: RuleAction, label: String, original: Substring, tokens: inout TokenizationMap,
        allowTokenize: Bool) -> String?
    {
        switch action {
        case .flag, .block: return nil
        case .redact: return "[\(label)]"
        case .tokenize:
            return allowTokenize ? tokens.placeholder(for: String(original), label: label) : "[\(label)]"
        case .mask: return mask(original)
        }
    }

    /// Letters and digits hidden but the last four; separators kept so the shape stays readable.
    static func mask(_ original: Substring) -> String {
        let alphanumerics = original.reduce(0) { $0 + ($1.isLetter || $1.isNumber ? 1 : 0) }
        var toHide = max(0, alphanumerics - 4)
        var result = ""
        for character in original {
            if toHide > 0, character.isLetter || character.isNumber {
                result.append("*")
                toHide -= 1
            } else {
                result.append(character)
            }
        }
        return result
    }
}
