/// One RESP2 reply, copied out of hiredis's reply tree.
public enum RedisReply: Sendable, Hashable {
    /// A bulk string: arbitrary bytes.
    case bulkString([UInt8])
    /// A simple status such as `OK` or `QUEUED`.
    case status(String)
    case integer(Int64)
    case array([RedisReply])
    /// The null bulk string or null array.
    case null
    /// An error reply (`ERR …`, `WRONGTYPE …`, `NOSCRIPT …`).
    case error(String)

    /// The bytes of a bulk string or status; nil otherwise.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .status(let text): Array(text.utf8)
        default: nil
        }
    }

    /// A bulk string or status decoded as UTF-8 (invalid sequences repaired); nil otherwise.
    public var string: String? {
        switch self {
        case .bulkString(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    /// An integer reply, or a bulk string holding a decimal integer (as `HGET` returns counters); nil otherwise.
    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .bulkString(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    public var array: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The error text of an error reply; nil otherwise.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    /// Throws `serverError` for an error reply, otherwise returns the reply unchanged.
    public func checked() throws(RedisError) -> RedisReply {
        if case .error(let message) = self { throw RedisError(.serverError, message) }
        return self
    }

    /// A flat `[field, value, field, value …]` array (as `HGETALL` answers) as a dictionary of bytes.
    public var fieldMap: [String: [UInt8]]? {
        guard let elements = array, elements.count % 2 == 0 else { return nil }
        var map: [String: [UInt8]] = [:]
        map.reserveCapacity(elements.count / 2)
        var index = 0
        while index < elements.count {
            guard let field = elements[index].string, let value = elements[index + 1].bytes else { return nil }
            map[field] = value
            index += 2
        }
        return map
    }
}
