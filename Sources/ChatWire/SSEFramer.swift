/// Splits a server-sent-event byte stream into whole events, whatever the chunk boundaries.
///
/// An event ends at a blank line (`\n\n`, `\r\n\r\n`, or `\r\r`). Each event is returned with its terminator, so
/// forwarding the events one after another reproduces the input byte for byte.
///
/// An event longer than `maxEventBytes` is not buffered: the framer stops, sets `overflowed`, and returns no more events,
/// so an upstream that sends `data: ` and then an endless line costs bounded memory.
public struct SSEFramer: Sendable {
    private var buffer: [UInt8] = []
    private var scanFrom = 0
    public let maxEventBytes: Int
    /// An event grew past `maxEventBytes`; nothing more is framed.
    public private(set) var overflowed = false

    public init(maxEventBytes: Int = .max) {
        self.maxEventBytes = max(1, maxEventBytes)
    }

    /// Feeds bytes; returns the events completed by them.
    public mutating func append(_ bytes: some Sequence<UInt8>) -> [[UInt8]] {
        guard !overflowed else { return [] }
        buffer.append(contentsOf: bytes)
        var events: [[UInt8]] = []
        var start = 0
        var index = max(scanFrom, 1)
        while index < buffer.count {
            let byte = buffer[index]
            var end: Int?
            if byte == 0x0A {
                if buffer[index - 1] == 0x0A {
                    end = index + 1
                } else if index >= 3, buffer[index - 1] == 0x0D, buffer[index - 2] == 0x0A, buffer[index - 3] == 0x0D {
                    end = index + 1
                }
            } else if byte == 0x0D, buffer[index - 1] == 0x0D {
                end = index + 1
            }
            if let end, end - start > 0, index >= start + 1 {
                if end - start > maxEventBytes {
                    overflowed = true
                    buffer = []
                    scanFrom = 0
                    return events
                }
                events.append(Array(buffer[start..<end]))
                start = end
                index = end + 1
                continue
            }
            index += 1
        }
        if start > 0 {
            buffer.removeFirst(start)
        }
        scanFrom = buffer.count
        if buffer.count > maxEventBytes {
            overflowed = true
            buffer = []
            scanFrom = 0
        }
        return events
    }

    /// Whatever is left when the stream ends (an event missing its blank line).
    public mutating func finish() -> [UInt8]? {
        defer {
            buffer.removeAll()
            scanFrom = 0
        }
        return buffer.isEmpty ? nil : buffer
    }

    /// The `data:` payload of an event (lines joined by `\n`), with or without the space after the colon.
    public static func data(of event: [UInt8]) -> [UInt8]? {
        var payload: [UInt8]?
        var lineStart = 0
        func takeLine(_ line: ArraySlice<UInt8>) {
            let prefix: [UInt8] = Array("data:".utf8)
            guard line.starts(with: prefix) else { return }
            var value = line.dropFirst(prefix.count)
            if value.first == 0x20 { value = value.dropFirst() }
            if payload == nil { payload = Array(value) } else { payload!.append(0x0A); payload!.append(contentsOf: value) }
        }
        for index in event.indices where event[index] == 0x0A || event[index] == 0x0D {
            if index > lineStart { takeLine(event[lineStart..<index]) }
            lineStart = index + 1
        }
        if lineStart < event.count { takeLine(event[lineStart...]) }
        return payload
    }
}
