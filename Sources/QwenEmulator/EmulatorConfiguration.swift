/// How a ``QwenEmulator`` serves: where it listens, how fast it answers and which key it expects.
public struct EmulatorConfiguration: Sendable {
    /// Address to bind. Default `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// Port to bind; `0` picks an ephemeral port (read it back with ``QwenEmulator/waitUntilListening()``).
    public var port: Int = 0
    /// Delay before the response head (and so before the first chunk of a stream). Default zero.
    public var firstByteLatency: Duration = .zero
    /// Generation speed. `0` answers as fast as possible; otherwise each streamed token is paced at this rate, and a
    /// non-streaming answer arrives after the time its tokens would take, as with the real service.
    public var tokensPerSecond: Double = 0
    /// Tokens in a default answer; `max_tokens` below this truncates with `finish_reason: "length"`. Default 24.
    public var answerTokens: Int = 24
    /// `nil` accepts any bearer key (a missing `Authorization` header still gets 401); otherwise the key must match.
    public var apiKey: String? = nil
    /// How long the `slow_first_byte` fault holds the response head unless `x-emulator-delay-ms` says otherwise.
    public var slowFirstByteDelay: Duration = .seconds(3)
    /// Upper bound on how long the `timeout` fault holds a request whose client never goes away.
    public var timeoutFaultCap: Duration = .seconds(600)
    /// Largest request body accepted; bigger bodies get Qwen's 400 `invalid_parameter_error`.
    public var maxRequestBodyBytes: Int = 8 * 1024 * 1024

    public init() {}

    /// Delay between two streamed tokens, or `nil` when streaming as fast as possible.
    var tokenInterval: Duration? {
        guard tokensPerSecond > 0, tokensPerSecond.isFinite else { return nil }
        return .nanoseconds(Int64((1_000_000_000 / tokensPerSecond).rounded()))
    }
}
