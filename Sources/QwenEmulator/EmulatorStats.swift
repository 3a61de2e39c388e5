/// What the emulator has received and how its streams ended, for tests to assert on.
public struct EmulatorStats: Sendable, Equatable {
    public static func == (a: EmulatorStats, b: EmulatorStats) -> Bool {
        a.chatRequests == b.chatRequests && a.embeddingRequests == b.embeddingRequests
            && a.modelListRequests == b.modelListRequests && a.streamsStarted == b.streamsStarted
            && a.streamsCompleted == b.streamsCompleted && a.streamsAborted == b.streamsAborted
            && a.streamsCutByFault == b.streamsCutByFault && a.requestsAbandoned == b.requestsAbandoned
            && a.faultsServed == b.faultsServed && a.lastChatRequestBody == b.lastChatRequestBody
            && a.lastAuthorization == b.lastAuthorization && a.lastRequestHeaders == b.lastRequestHeaders
            && a.recentRequestBodies.map(\.path) == b.recentRequestBodies.map(\.path)
            && a.recentRequestBodies.map(\.body) == b.recentRequestBodies.map(\.body)
    }


    public var chatRequests: Int = 0
    public var embeddingRequests: Int = 0
    public var modelListRequests: Int = 0
    /// Streams whose response head was sent.
    public var streamsStarted: Int = 0
    /// Streams the emulator wrote to the end (`[DONE]`, or the end of the body after a mid-stream error event).
    public var streamsCompleted: Int = 0
    /// Streams whose client went away before the end: a write failed or the connection closed.
    public var streamsAborted: Int = 0
    /// Streams the emulator cut on purpose (`disconnect_midstream`).
    public var streamsCutByFault: Int = 0
    /// Requests whose client went away while the emulator was still holding the response head back (`timeout`,
    /// `slow_first_byte`, first-byte latency).
    public var requestsAbandoned: Int = 0
    /// Faults served, by name (`"rate_limit"`, …).
    public var faultsServed: [String: Int] = [:]
    /// The body of the last chat request, byte for byte.
    public var lastChatRequestBody: [UInt8]? = nil
    /// The bodies of the most recent chat and embedding requests (at most `recentBodiesKept`, oldest first), for tests
    /// that check what reached the endpoint.
    public var recentRequestBodies: [(path: String, body: [UInt8])] = []
    public static let recentBodiesKept = 256
    /// The `Authorization` header of the last API request.
    public var lastAuthorization: String? = nil
    /// The headers of the last API request, names lower-cased, repeated fields joined with ", ".
    public var lastRequestHeaders: [String: String] = [:]

    public init() {}
}

extension EmulatorStats {
    mutating func remember(path: String, body: [UInt8]) {
        recentRequestBodies.append((path, body))
        if recentRequestBodies.count > Self.recentBodiesKept { recentRequestBodies.removeFirst() }
    }
}
