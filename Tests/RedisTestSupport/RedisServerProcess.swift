public import Foundation
import Glibc
import Testing

/// A real `redis-server` for one test: loopback TCP on a free port plus a unix socket, in a temp directory,
/// with persistence off. Killed and its directory removed when the test's scope ends, even on failure.
///
/// Shared by RedisTests and SemanticCacheTests through this support target.
public final class RedisServerProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` is only replaced inside `start()`/`kill()`, which tests call from one task
    // at a time; everything else is immutable after init.
    public let port: Int
    public let directory: URL
    public let password: String?
    private var process: Process?
    private let extraArguments: [String]

    public var socketPath: String { directory.appendingPathComponent("redis.sock").path }
    public var tcpURL: String { password.map { "redis://:\($0)@127.0.0.1:\(port)" } ?? "redis://127.0.0.1:\(port)" }

    public init(password: String? = nil, extraArguments: [String] = []) throws {
        self.port = try Self.freePort()
        self.password = password
        self.extraArguments = extraArguments
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "airlock-redis-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Runs `body` with a started server and always kills it afterwards. Fails (never skips) if it cannot start.
    public static func with<T>(
        password: String? = nil, extraArguments: [String] = [], _ body: (RedisServerProcess) async throws -> T
    ) async throws -> T {
        let server = try RedisServerProcess(password: password, extraArguments: extraArguments)
        defer { server.destroy() }
        try server.start()
        return try await body(server)
    }

    public func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.redisServerPath())
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory.path, "--unixsocket", socketPath, "--unixsocketperm", "700",
            "--enable-debug-command", "yes", "--daemonize", "no", "--loglevel", "warning",
        ]
        if let password { arguments += ["--requirepass", password] }
        process.arguments = arguments + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // Ready when the port accepts connections.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if Self.canConnect(port: port) { return }
            if !process.isRunning { break }
            usleep(20_000)
        }
        kill()
        throw RedisServerError(message: "redis-server did not start on port \(port)")
    }

    /// SIGKILL: the abrupt death of Redis, connections reset.
    public func kill() {
        guard let process else { return }
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            // Polled rather than `waitUntilExit()`, which can spin a run loop forever off the main thread.
            let deadline = Date().addingTimeInterval(5)
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

    private static func redisServerPath() -> String {
        for candidate in ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "/usr/bin/redis-server"
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RedisServerError(message: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw RedisServerError(message: "bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

public struct RedisServerError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
