/// Where and how to reach Redis. Every setting has a default fit for a cache: fail fast rather than wait.
public struct RedisConfiguration: Sendable, Equatable {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    /// Exponential backoff between reconnect attempts once a connection has failed.
    public struct ReconnectBackoff: Sendable, Equatable {
        /// The wait after the first failure; doubled per further failure. Default 50 ms.
        public var initial: Duration
        /// The longest wait; bounds how long recovery takes after Redis returns. Default 1 s.
        public var maximum: Duration

        public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(1)) {
            self.initial = initial
            self.maximum = maximum
        }
    }

    public var endpoint: Endpoint
    /// ACL user (Redis 6+); with a password and no user, `AUTH password` is sent.
    public var username: String?
    public var password: String?
    /// Selected with `SELECT` after connecting when not 0.
    public var database: Int
    /// Connections, each driven by its own dedicated thread. Default 4.
    public var poolSize: Int
    /// TCP/unix connect timeout, including AUTH and SELECT. Default 100 ms.
    public var connectTimeout: Duration
    /// Default time a command (or a pipeline) may take, queueing included; a command may carry its own.
    /// Default 100 ms.
    public var commandTimeout: Duration
    public var reconnectBackoff: ReconnectBackoff
    /// TCP keep-alive on pooled connections, so that a dead peer is noticed while idle. Default on.
    public var keepAlive: Bool

    public init(
        endpoint: Endpoint = .tcp(host: "127.0.0.1", port: 6379), username: String? = nil, password: String? = nil,
        database: Int = 0, poolSize: Int = 4, connectTimeout: Duration = .milliseconds(100),
        commandTimeout: Duration = .milliseconds(100), reconnectBackoff: ReconnectBackoff = .init(),
        keepAlive: Bool = true
    ) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.poolSize = poolSize
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.reconnectBackoff = reconnectBackoff
        self.keepAlive = keepAlive
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]` or `unix:///path/to/redis.sock[?db=N]`; other settings
    /// keep their defaults. User and password may be percent-encoded; IPv6 hosts go in brackets.
    public init(url: String) throws(RedisError) {
        self.init()
        let parsed = try RedisURL.parse(url)
        endpoint = parsed.endpoint
        username = parsed.username
        password = parsed.password
        database = parsed.database
    }

    /// Throws when a value cannot work (a pool of 0, a negative timeout, a database out of range).
    public func validated() throws(RedisError) -> RedisConfiguration {
        guard poolSize >= 1, poolSize <= 256 else {
            throw RedisError(.invalidConfiguration, "pool size must be 1…256, got \(poolSize)")
        }
        guard connectTimeout > .zero, commandTimeout > .zero else {
            throw RedisError(.invalidConfiguration, "timeouts must be positive")
        }
        guard reconnectBackoff.initial > .zero, reconnectBackoff.maximum >= reconnectBackoff.initial else {
            throw RedisError(.invalidConfiguration, "reconnect backoff must be positive, maximum ≥ initial")
        }
        guard database >= 0 else { throw RedisError(.invalidConfiguration, "database must be ≥ 0") }
        return self
    }
}

/// The parts of a Redis URL.
enum RedisURL {
    struct Parts: Equatable {
        var endpoint: RedisConfiguration.Endpoint
        var username: String?
        var password: String?
        var database: Int
    }

    static func parse(_ url: String) throws(RedisError) -> Parts {
        if url.hasPrefix("unix://") { return try parseUnix(String(url.dropFirst("unix://".count)), url) }
        guard url.hasPrefix("redis://") else {
            throw RedisError(.invalidConfiguration, "expected redis://[user:password@]host:port[/db] or unix:///path")
        }
        var rest = Substring(url.dropFirst("redis://".count))
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : try percentDecoded(user)
                password = try percentDecoded(credentials[credentials.index(after: colon)...])
            } else if !credentials.isEmpty {
                // `redis://secret@host` is the common Redis-5 form: a password without a user.
                password = try percentDecoded(credentials)
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            database = try parseDatabase(rest[rest.index(after: slash)...], url)
            rest = rest[..<slash]
        }
        var host: Substring
        var port = 6379
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw RedisError(.invalidConfiguration, "unclosed IPv6 bracket in Redis URL")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw RedisError(.invalidConfiguration, "bad port in Redis URL") }
                port = try parsePort(after.dropFirst())
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            port = try parsePort(rest[rest.index(after: colon)...])
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw RedisError(.invalidConfiguration, "Redis URL has no host") }
        return Parts(
            endpoint: .tcp(host: String(host), port: port), username: username, password: password, database: database
        )
    }

    private static func parseUnix(_ rest: String, _ url: String) throws(RedisError) -> Parts {
        var path = Substring(rest)
        var database = 0
        var password: String?
        var username: String?
        if let question = path.firstIndex(of: "?") {
            for item in path[path.index(after: question)...].split(separator: "&") {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let value = pair.count == 2 ? pair[1] : ""
                switch pair[0] {
                case "db": database = try parseDatabase(value, url)
                case "password": password = try percentDecoded(value)
                case "user", "username": username = try percentDecoded(value)
                default: throw RedisError(.invalidConfiguration, "unknown unix-socket URL parameter \(pair[0])")
                }
            }
            path = path[..<question]
        }
        guard path.hasPrefix("/") else {
            throw RedisError(.invalidConfiguration, "unix socket URL needs an absolute path: unix:///path/to/sock")
        }
        return Parts(endpoint: .unixSocket(path: String(path)), username: username, password: password, database: database)
    }

    private static func parsePort(_ text: Substring) throws(RedisError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw RedisError(.invalidConfiguration, "Redis port must be a number from 1 to 65535")
        }
        return port
    }

    private static func parseDatabase(_ text: Substring, _ url: String) throws(RedisError) -> Int {
        if text.isEmpty { return 0 }
        guard let database = Int(text), database >= 0 else {
            throw RedisError(.invalidConfiguration, "Redis database must be a non-negative integer")
        }
        return database
    }

    private static func percentDecoded(_ text: Substring) throws(RedisError) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    throw RedisError(.invalidConfiguration, "bad percent-encoding in Redis URL credentials")
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
