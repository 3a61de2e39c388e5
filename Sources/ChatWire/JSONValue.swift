/// A JSON document as a value, read and written by this module's own parser and encoder (never through `Double` or
/// Foundation): numbers keep their exact text, so a `seed` of 2^60+1 goes upstream as it came; an object with a
/// key twice is refused instead of read one way here and another way upstream.
public enum JSONValue: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var numberValue: JSONNumber? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// A number that is a whole value and fits an `Int` (`5` and `5.0` both read 5); nil otherwise.
    public var integerValue: Int? {
        guard case .number(let number) = self else { return nil }
        if let exact = number.int { return exact }
        let double = number.double
        return double.isFinite ? Int(exactly: double) : nil
    }

    /// A number as the nearest `Double`.
    public var doubleValue: Double? {
        guard case .number(let number) = self else { return nil }
        return number.double
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }
}

/// A JSON number as written: its exact text (validated against RFC 8259's grammar), read as a number only on demand.
public struct JSONNumber: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let text: String

    /// `text` must be a JSON number; anything else is nil.
    public init?(_ text: String) {
        var parser = JSONParser(Array(text.utf8), limits: .init())
        guard case .number(let number)? = try? parser.parseDocument(), number.text == text else { return nil }
        self = number
    }

    init(validated text: String) { self.text = text }

    public init(_ value: Int) { self.text = String(value) }

    public var description: String { text }

    /// The value as a `Double` (the nearest one; exact for integers up to 2^53).
    public var double: Double { Double(text) ?? .nan }

    /// The value as an `Int` when it is a whole number written without fraction or exponent and fits.
    public var int: Int? { Int(text) }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(nilLiteral: ()) { self = .null }
}
