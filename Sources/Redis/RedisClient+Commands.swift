extension RedisClient {
    /// `GET key`: nil when the key does not exist.
    public func get(_ key: String, timeout: Duration? = nil) async throws(RedisError) -> [UInt8]? {
        let reply = try await execute(RedisCommand("GET", key), timeout: timeout)
        if reply.isNull { return nil }
        guard let bytes = reply.bytes else { throw RedisError(.unexpectedReply, "GET answered \(reply)") }
        return bytes
    }

    /// `SET key value [PX ttl]`.
    public func set(
        _ key: String, to value: some RedisArgumentConvertible, expiresIn ttl: Duration? = nil,
        timeout: Duration? = nil
    ) async throws(RedisError) {
        var arguments: [any RedisArgumentConvertible] = [key, value]
        if let ttl { arguments += ["PX", Int(max(1, ReconnectState.nanoseconds(ttl) / 1_000_000))] }
        try await execute(RedisCommand("SET", arguments), timeout: timeout)
    }

    /// `DEL key …`: how many keys existed.
    @discardableResult
    public func delete(_ keys: [String], timeout: Duration? = nil) async throws(RedisError) -> Int {
        if keys.isEmpty { return 0 }
        let reply = try await execute(RedisCommand("DEL", keys), timeout: timeout)
        guard let count = reply.integer else { throw RedisError(.unexpectedReply, "DEL answered \(reply)") }
        return Int(count)
    }

    /// `PING`: throws unless Redis answers `PONG`.
    public func ping(timeout: Duration? = nil) async throws(RedisError) {
        let reply = try await execute(RedisCommand("PING"), timeout: timeout)
        guard reply.string == "PONG" else { throw RedisError(.unexpectedReply, "PING answered \(reply)") }
    }
}
