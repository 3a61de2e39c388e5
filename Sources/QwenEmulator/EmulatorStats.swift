/// What the emulator has received and how its streams ended, for tests to assert on.
public struct EmulatorStats: Sendable, Equatable {
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
    /// The `Authorization` header of the last API request.
    public var lastAuthorization: String? = nil
    /// The headers of the last API request, names lower-cased, repeated fields joined with ", ".
    public var lastRequestHeaders: [String: String] = [:]

    public init() {}
}
