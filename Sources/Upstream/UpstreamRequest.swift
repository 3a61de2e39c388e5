/// Timeouts for one upstream transfer. `nil` means "no limit" for that phase.
public struct UpstreamTimeouts: Sendable, Equatable {
    /// TCP (and TLS) connect.
    public var connect: Duration
    /// From the start of the transfer to the first response byte.
    public var firstByte: Duration?
    /// Longest silence between two body chunks once the response has started.
    public var idle: Duration?
    /// The whole transfer, body included.
    public var total: Duration?

    public init(connect: Duration, firstByte: Duration?, idle: Duration?, total: Duration?) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.total = total
    }

    /// Connect 5 s, first byte 120 s (a non-streamed answer arrives whole), idle 60 s, total 600 s.
    public static let `default` = UpstreamTimeouts(
        connect: .seconds(5), firstByte: .seconds(120), idle: .seconds(60), total: .seconds(600))
}

/// One HTTP request to an upstream.
public struct UpstreamRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Overrides the client's default timeouts for this request.
    public var timeouts: UpstreamTimeouts?

    public init(
        method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = [],
        timeouts: UpstreamTimeouts? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeouts = timeouts
    }
}

/// The head of an upstream response, and its body as an async sequence of chunks.
public struct UpstreamResponse: Sendable {
    public let status: Int
    /// Header names are lower-cased; order is kept.
    public let headers: [(String, String)]
    /// The negotiated HTTP version ("1.1", "2").
    public let httpVersion: String
    public let body: UpstreamBody

    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.0 == lowered }?.1
    }

    /// Reads the whole body. Throws `responseTooLarge` past `maxBytes` (and aborts the transfer).
    public func collect(upTo maxBytes: Int) async throws -> [UInt8] {
        var result: [UInt8] = []
        for try await chunk in body {
            if result.count + chunk.count > maxBytes {
                body.cancel()
                throw UpstreamError(.responseTooLarge, "upstream response exceeds \(maxBytes) bytes")
            }
            result.append(contentsOf: chunk)
        }
        return result
    }

    /// Aborts the transfer if it is still running. Safe to call more than once.
    public func cancel() { body.cancel() }
}

/// A response received whole (see `UpstreamClient.send`).
public struct UpstreamCompleteResponse: Sendable {
    public let status: Int
    /// Header names are lower-cased; order is kept.
    public let headers: [(String, String)]
    public let httpVersion: String
    public let body: [UInt8]

    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.0 == lowered }?.1
    }
}
