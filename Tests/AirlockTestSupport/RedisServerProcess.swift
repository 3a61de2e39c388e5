public import Foundation
import Glibc
import Testing

/// A real `redis-server` for one test: loopback TCP plus a unix socket in its own temp directory, persistence off.
/// Killed and its directory removed when the test's scope ends, even on failure.
///
/// The TCP port is drawn at random from below the kernel's ephemeral range, which no `bind(port: 0)` (every test
/// server here) and no outgoing connection ever takes, and Redis binds it itself: there is no window between finding
/// a free port and using it. Readiness is read on the unix socket, whose path no other process can hold, and a start
/// that loses the port to another test's Redis is retried on another port.
public final class RedisServerProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` and `port` change only inside `start()`/`kill()`, which the owning test calls
    // from one task at a time; everything else is immutable after init.
    public private(set) var port: Int
    public let directory: URL
    public let password: String?
    private var process: Process?
    private let extraArguments: [String]
    /// Which server binary runs.
    public let server: Server

    /// The server binary: Debian's (7.0, the default everywhere) or the Redis 8 that `scripts/fetch-redis8.sh` puts in
    /// `.tools/redis-8.2.3/` (vector sets), for the `redis` semantic-index backend.
    public enum Server: Sendable {
        case system
        case redis8

        /// Where the binary is. A missing Redis 8 makes the test that asked for it fail (never skip): `make test`
        /// fetches it.
        var path: String {
            switch self {
            case .system:
                for candidate in ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"]
                where FileManager.default.isExecutableFile(atPath: candidate) {
                    return candidate
                }
                return "/usr/bin/redis-server"
            case .redis8:
                return ProcessInfo.processInfo.environment["AIRLOCK_REDIS8_SERVER"]
                    ?? Repository.path(".tools/redis-8.2.3/redis-server")
            }
        }
    }

    public var socketPath: String { directory.appendingPathComponent("redis.sock").path }
    public var tcpURL: String { password.map { "redis://:\($0)@127.0.0.1:\(port)" } ?? "redis://127.0.0.1:\(port)" }
    /// The TCP URL with database 0, as Airlock's `redis.url` takes it.
    public var url: String { tcpURL + "/0" }
    public var unixURL: String { "unix://" + socketPath }

    public init(password: String? = nil, extraArguments: [String] = [], server: Server = .system) throws {
        self.server = server
        self.port = Self.randomPort()
        self.password = password
        self.extraArguments = extraArguments
        self.directory = URL(fileURLWithPath: "/tmp").appendingPathComponent(
            "airlock-redis-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// A started server; ``destroy()`` it when done (or use ``with(password:extraArguments:_:)``).
    public static func started(
        password: String? = nil, extraArguments: [String] = [], server kind: Server = .system
    ) async throws -> RedisServerProcess {
        let server = try RedisServerProcess(password: password, extraArguments: extraArguments, server: kind)
        do {
            try await server.start()
        } catch {
            server.destroy()
            throw error
        }
        return server
    }

    /// Runs `body` with a started server and always kills it afterwards. Fails (never skips) if it cannot start.
    public static func with<T>(
        password: String? = nil, extraArguments: [String] = [], server kind: Server = .system,
        _ body: (RedisServerProcess) async throws -> T
    ) async throws -> T {
        let server = try await started(password: password, extraArguments: extraArguments, server: kind)
        defer { server.destroy() }
        return try await body(server)
    }

    /// Starts Redis on `port`, or (the first time) on another port if that one is taken. A restart keeps its port,
    /// so that clients reconnect to the same address.
    public func start() async throws {
        let mayMove = process == nil && !everStarted
        for _ in 0..<(mayMove ? 20 : 1) {
            switch try await launch() {
            case .ready:
                everStarted = true
                return
            case .exited where mayMove:
                port = Self.randomPort()
            case .exited, .timedOut:
                throw RedisServerError(message: "redis-server did not start on port \(port) (see \(directory.path))")
            }
        }
        throw RedisServerError(message: "redis-server found no free port after 20 tries")
    }

    private var everStarted = false

    private enum Launch { case ready, exited, timedOut }

    private func launch() async throws -> Launch {
        try? FileManager.default.removeItem(atPath: socketPath)
        let process = Process()
        guard FileManager.default.isExecutableFile(atPath: server.path) else {
            throw RedisServerError(
                message: "no redis-server at \(server.path); run scripts/fetch-redis8.sh (make test does)")
        }
        process.executableURL = URL(fileURLWithPath: server.path)
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory.path, "--unixsocket", socketPath, "--unixsocketperm", "700",
            "--enable-debug-command", "yes", "--daemonize", "no", "--loglevel", "warning",
            "--logfile", directory.appendingPathComponent("redis.log").path,
        ]
        if let password { arguments += ["--requirepass", password] }
        process.arguments = arguments + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // Redis binds TCP before it creates the socket file and exits if the port is taken: a socket that accepts,
        // from a process still running, means this server has the port.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning {
                self.process = nil
                return .exited
            }
            if Self.canConnect(socketPath: socketPath) { return process.isRunning ? .ready : .exited }
            try await Task.sleep(for: .milliseconds(10))
        }
        kill()
        return .timedOut
    }

    /// SIGKILL: the abrupt death of Redis, connections reset.
    public func kill() {
        guard let process else { return }
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            // Polled rather than `waitUntilExit()`, which can spin a run loop forever off the main thread.
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(2_000) }
        }
        self.process = nil
    }

    /// SIGSTOP / SIGCONT: Redis that accepts connections but answers nothing.
    public func pause() { if let process { Glibc.kill(process.processIdentifier, SIGSTOP) } }
    public func resume() { if let process { Glibc.kill(process.processIdentifier, SIGCONT) } }

    public func destroy() {
        if let process { Glibc.kill(process.processIdentifier, SIGCONT) }
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A port from 20000 up to the start of the ephemeral range (`net.ipv4.ip_local_port_range`).
    public static func randomPort() -> Int {
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let ephemeralStart = range.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            .first.flatMap { Int($0) } ?? 32768
        let upper = max(20_001, min(ephemeralStart, 65_536))
        return Int.random(in: 20_000..<upper)
    }

    private static func canConnect(socketPath: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }
}

public struct RedisServerError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
