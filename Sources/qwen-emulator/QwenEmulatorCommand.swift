import ArgumentParser
import Logging
import QwenEmulator
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

@main
struct QwenEmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qwen-emulator",
        abstract: "A local stand-in for Qwen's OpenAI-compatible API, serving under /compatible-mode/v1.",
        discussion: """
            Faults on demand, by header `x-emulator-fault: NAME` or a marker `[[fault:NAME]]` \
            (`[[fault:NAME:COUNT]]`) in the last user message: \
            \(EmulatorFault.allCases.map(\.rawValue).joined(separator: ", ")).

            `[[echo]]` in the last user message: the answer is that message, markers removed, one word per token.

            Guard mode: a model whose name contains `qwen3guard` (e.g. Qwen/Qwen3Guard-Gen-0.6B) answers like \
            Qwen3Guard-Gen: `Safety: Safe|Unsafe|Controversial` and `Categories: …|None`, plus `Refusal: Yes|No` \
            when the last message is the assistant's. `[[guard:LEVEL]]` or `[[guard:LEVEL:Category,…]]` in the \
            judged text forces the verdict; otherwise a small keyword table decides.
            """
    )

    @Option(name: .long, help: "Address to listen on, as HOST:PORT.")
    var listen: String = "127.0.0.1:8081"

    @Option(name: .long, help: "Milliseconds before the response head of every answer.")
    var firstByteLatencyMs: Int = 0

    @Option(name: .long, help: "Streaming pace in tokens per second; 0 streams as fast as possible.")
    var tokensPerSecond: Double = 0

    @Option(name: .long, help: "Tokens in a default answer.")
    var answerTokens: Int = 24

    @Option(name: .long, help: "The only bearer key accepted; by default any key is.")
    var apiKey: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        _ = try Self.parseListen(listen)
        guard firstByteLatencyMs >= 0 else {
            throw ValidationError("--first-byte-latency-ms must be 0 or more, got \(firstByteLatencyMs)")
        }
        guard tokensPerSecond >= 0, tokensPerSecond.isFinite else {
            throw ValidationError("--tokens-per-second must be 0 or more, got \(tokensPerSecond)")
        }
        guard answerTokens >= 1 else { throw ValidationError("--answer-tokens must be 1 or more, got \(answerTokens)") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key must not be empty") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "qwen-emulator")

        let (host, port) = try Self.parseListen(listen)
        var configuration = EmulatorConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.firstByteLatency = .milliseconds(firstByteLatencyMs)
        configuration.tokensPerSecond = tokensPerSecond
        configuration.answerTokens = answerTokens
        configuration.apiKey = apiKey

        let emulator = QwenEmulator(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [emulator], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                let bound = try await emulator.waitUntilListening()
                let shownHost = host.contains(":") ? "[\(host)]" : host
                print("qwen-emulator listening on http://\(shownHost):\(bound)/compatible-mode/v1")
                fflush(nil)  // stdout is a pipe under `make run`: the line must not sit in a buffer
            }
            try await tasks.waitForAll()
        }
    }

    /// `HOST:PORT`, `[IPv6]:PORT`, or `:PORT` for all interfaces.
    static func parseListen(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":") else {
            throw ValidationError("--listen must be HOST:PORT, got \(text)")
        }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw ValidationError("--listen port must be 0-65535, got \(portText)")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        return (host, port)
    }
}
