/// The one error type of the configuration module: names the key, the value, where it came from, and what was expected.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }
        public static let unreadableFile = Code(raw: "unreadable_file")
        public static let invalidYAML = Code(raw: "invalid_yaml")
        public static let unknownKey = Code(raw: "unknown_key")
        public static let invalidValue = Code(raw: "invalid_value")
        public static let missingValue = Code(raw: "missing_value")
    }

    public var code: Code
    public var key: String?
    public var value: String?
    public var source: String?
    public var expected: String?
    public var message: String?

    public init(
        _ code: Code, key: String? = nil, value: String? = nil, source: String? = nil, expected: String? = nil,
        message: String? = nil
    ) {
        self.code = code
        self.key = key
        self.value = value
        self.source = source
        self.expected = expected
        self.message = message
    }

    public var description: String {
        var parts: [String] = []
        if let source { parts.append(source) }
        if let key { parts.append(key) }
        var text = "configuration error"
        if !parts.isEmpty { text += " (\(parts.joined(separator: ": ")))" }
        if let value { text += ": got '\(value)'" }
        if let expected { text += "; expected \(expected)" }
        if let message { text += (value == nil && expected == nil ? ": " : "; ") + message }
        return text
    }
}
