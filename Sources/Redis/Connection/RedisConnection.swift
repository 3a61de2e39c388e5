import CHiredis
import Glibc

/// One hiredis connection: owns its `redisContext` and frees it in `deinit`.
///
/// Not Sendable: a connection is confined to the pool thread that created it, since a `redisContext` may only be
/// used by one thread at a time.
final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>
    private var currentTimeout: Duration

    /// Connects, sets the command timeout and keep-alive, then sends AUTH and SELECT as configured.
    init(configuration: RedisConfiguration) throws(RedisError) {
        var connectTimeout = timeval(configuration.connectTimeout)
        let pointer: UnsafeMutablePointer<redisContext>?
        switch configuration.endpoint {
        case .tcp(let host, let port):
            pointer = redisConnectWithTimeout(host, Int32(port), connectTimeout)
        case .unixSocket(let path):
            pointer = redisConnectUnixWithTimeout(path, connectTimeout)
        }
        guard let pointer else { throw RedisError(.connectFailed, "hiredis could not allocate a context") }
        self.context = pointer
        self.currentTimeout = configuration.connectTimeout
        if pointer.pointee.err != 0 {
            throw RedisError(.connectFailed, errorString, nativeCode: Int(pointer.pointee.err))
        }
        // AUTH and SELECT run under the connect timeout: a server that accepts but does not answer fails the connect.
        guard redisSetTimeout(pointer, connectTimeout) == REDIS_OK else {
            throw RedisError(.connectFailed, "cannot set the socket timeout: \(errorString)")
        }
        if configuration.keepAlive, case .tcp = configuration.endpoint { _ = redisEnableKeepAlive(pointer) }
        if let password = configuration.password {
            var auth = RedisCommand("AUTH", password)
            if let username = configuration.username { auth = RedisCommand("AUTH", username, password) }
            let reply = try execute([auth])[0]
            if let message = reply.errorMessage { throw RedisError(.authenticationFailed, "AUTH refused: \(message)") }
        }
        if configuration.database != 0 {
            let reply = try execute([RedisCommand("SELECT", configuration.database)])[0]
            if let message = reply.errorMessage { throw RedisError(.authenticationFailed, "SELECT refused: \(message)") }
        }
        connectTimeout = timeval(configuration.commandTimeout)
        guard redisSetTimeout(pointer, connectTimeout) == REDIS_OK else {
            throw RedisError(.connectFailed, "cannot set the socket timeout: \(errorString)")
        }
        currentTimeout = configuration.commandTimeout
    }

    deinit { redisFree(context) }

    /// Whether hiredis has marked the context unusable; such a connection is discarded, never reused.
    var isBroken: Bool { context.pointee.err != 0 }

    /// The socket read/write timeout for the next commands.
    func setTimeout(_ timeout: Duration) throws(RedisError) {
        guard timeout != currentTimeout else { return }
        guard redisSetTimeout(context, timeval(timeout)) == REDIS_OK else {
            throw RedisError(.connectionLost, "cannot set the socket timeout: \(errorString)")
        }
        currentTimeout = timeout
    }

    /// Sends every command, then reads as many replies: one round trip for the whole pipeline.
    func execute(_ commands: [RedisCommand]) throws(RedisError) -> [RedisReply] {
        for command in commands {
            try append(command)
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw ioError() }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            defer { freeReplyObject(raw) }
            replies.append(Self.convert(reply))
        }
        return replies
    }

    private func append(_ command: RedisCommand) throws(RedisError) {
        guard !command.arguments.isEmpty, command.arguments.count <= Int(Int32.max) else {
            throw RedisError(.unexpectedReply, "a command needs at least its name")
        }
        // One contiguous buffer keeps every argument's bytes alive and in place for the C call.
        var lengths: [Int] = []
        lengths.reserveCapacity(command.arguments.count)
        var total = 0
        for argument in command.arguments {
            lengths.append(argument.count)
            total += argument.count
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(max(total, 1))
        for argument in command.arguments { buffer.append(contentsOf: argument) }
        if buffer.isEmpty { buffer.append(0) }
        let status = buffer.withUnsafeBufferPointer { bytes -> Int32 in
            let base = UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self)
            var pointers: [UnsafePointer<CChar>?] = []
            pointers.reserveCapacity(lengths.count)
            var offset = 0
            for length in lengths {
                pointers.append(base + offset)
                offset += length
            }
            return pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { argvlen in
                    redisAppendCommandArgv(context, Int32(lengths.count), argv.baseAddress, argvlen.baseAddress)
                }
            }
        }
        guard status == REDIS_OK else { throw ioError() }
    }

    private var errorString: String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
    }

    private func ioError() -> RedisError {
        let code = Int(context.pointee.err)
        let message = errorString
        // SO_RCVTIMEO expiring surfaces as an I/O error with EAGAIN's text.
        if code == Int(REDIS_ERR_IO), message.contains("temporarily unavailable") || message.contains("timed out") {
            return RedisError(.timeout, "no reply within \(currentTimeout)", nativeCode: code)
        }
        if code == 0 { return RedisError(.connectionLost, "hiredis failed without an error code") }
        return RedisError(.connectionLost, message.isEmpty ? "I/O error" : message, nativeCode: code)
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulkString(bytes(value.str, value.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(value.integer)
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                if let element = value.element[index] { elements.append(convert(element)) } else { elements.append(.null) }
            }
            return .array(elements)
        default:
            return .error("unknown hiredis reply type \(value.type)")
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }
}

extension timeval {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let micros = max(0, attoseconds / 1_000_000_000_000)
        // A zero timeval means "no timeout" to the kernel: round tiny positive durations up to 1 µs.
        self.init(tv_sec: Int(max(0, seconds)), tv_usec: Int(seconds <= 0 && micros == 0 ? 1 : micros))
    }
}
