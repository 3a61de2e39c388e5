#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CCurl
import CCurlShim

struct ResponseHead: Sendable {
    var status: Int
    var headers: [(String, String)]
    var httpVersion: String
    /// The whole body, when the transfer collects it (`collectLimit` set); nil for streamed bodies.
    var body: [UInt8]?
}

/// One libcurl easy handle and everything that must live as long as it does.
///
/// `@unchecked Sendable` invariant: after `CurlMultiDriver.submit` hands the transfer to the driver, the easy handle and
/// every `var` below are touched only on the driver's thread (libcurl callbacks run there too). Before that, only the
/// creating thread touches it. `channel` is itself thread-safe.
final class Transfer: @unchecked Sendable {
    let id: Int
    let easy: UnsafeMutableRawPointer
    let channel: BodyChannel
    let timeouts: UpstreamTimeouts
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>

    var headContinuation: CheckedContinuation<ResponseHead, any Error>?
    private var status = 0
    private var httpVersion = "1.1"
    private var headers: [(String, String)] = []
    private(set) var headDone = false

    var startedAt: UInt64 = 0
    var firstByteAt: UInt64?
    var lastActivityAt: UInt64 = 0
    var paused = false
    /// When set, the body is gathered here on the driver thread and the caller is resumed once, at the end, with head
    /// and body together: one thread hop instead of one per chunk.
    var collectLimit: Int?
    private var collected: [UInt8] = []
    private(set) var collectOverflow = false
    /// Called on the driver thread when the reader falls behind and the transfer pauses.
    var onPause: (() -> Void)?

    init(id: Int, request: UpstreamRequest, timeouts: UpstreamTimeouts, caFile: String?, channel: BodyChannel) throws {
        guard let easy = curl_easy_init() else {
            throw UpstreamError(.invalidRequest, "curl_easy_init failed")
        }
        self.id = id
        self.easy = easy
        self.channel = channel
        self.timeouts = timeouts
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in request.headers {
            list = curl_slist_append(list, "\(name): \(value)")
        }
        // Without this, libcurl waits for a "100 Continue" before sending a body over 1 KiB on HTTP/1.1.
        list = curl_slist_append(list, "Expect:")
        headerList = list

        let unmanaged = Unmanaged.passUnretained(self).toOpaque()
        var failures: [CURLcode] = []
        func check(_ code: CURLcode) { if code != CURLE_OK { failures.append(code) } }
        check(airlock_easy_setopt_string(easy, CURLOPT_URL, request.url))
        check(airlock_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        check(airlock_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, airlock_http_version_2tls()))
        check(airlock_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1))
        check(airlock_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(timeouts.connect)))
        check(airlock_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, timeouts.total.map(Self.milliseconds) ?? 0))
        check(airlock_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer))
        check(airlock_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list))
        if let caFile { check(airlock_easy_setopt_string(easy, CURLOPT_CAINFO, caFile)) }
        switch request.method.uppercased() {
        case "GET":
            check(airlock_easy_setopt_long(easy, CURLOPT_HTTPGET, 1))
        case "POST":
            check(airlock_easy_setopt_long(easy, CURLOPT_POST, 1))
        default:
            check(airlock_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method.uppercased()))
        }
        if request.method.uppercased() != "GET" && (request.method.uppercased() == "POST" || !request.body.isEmpty) {
            // The size first, then COPYPOSTFIELDS copies exactly that many bytes (the body may hold NULs).
            check(airlock_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            // An empty array may have no base address; libcurl copies zero bytes from this one.
            var bytes = request.body.isEmpty ? [UInt8(0)] : request.body
            bytes.withUnsafeMutableBytes { buffer in
                check(airlock_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, buffer.baseAddress))
            }
        }
        check(airlock_easy_setopt_write_callback(easy, CURLOPT_WRITEFUNCTION, transferWriteCallback))
        check(airlock_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, unmanaged))
        check(airlock_easy_setopt_write_callback(easy, CURLOPT_HEADERFUNCTION, transferHeaderCallback))
        check(airlock_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, unmanaged))
        if let first = failures.first {
            throw UpstreamError(
                .invalidRequest, "libcurl rejected the request setup: \(String(cString: curl_easy_strerror(first)))",
                curlCode: Int(first.rawValue))
        }
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }

    var errorDetail: String {
        let text = String(cString: errorBuffer)
        return text
    }

    // MARK: callbacks (driver thread)

    func onHeaderLine(_ line: String) {
        lastActivityAt = monotonicNanos()
        if firstByteAt == nil { firstByteAt = lastActivityAt }
        if line.hasPrefix("HTTP/") {
            // A new response (after 1xx): start over.
            headers.removeAll(keepingCapacity: true)
            let parts = line.split(separator: " ", maxSplits: 2)
            if parts.count >= 2 {
                status = Int(parts[1]) ?? 0
                httpVersion = String(parts[0].dropFirst(5))
            }
            return
        }
        let trimmed = line.trimmingSuffixNewline()
        if trimmed.isEmpty {
            if status >= 200 && collectLimit == nil { resolveHead() }
            return
        }
        if let colon = trimmed.firstIndex(of: ":") {
            let name = trimmed[..<colon].lowercased()
            let value = trimmed[trimmed.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            headers.append((name, String(value)))
        }
    }

    func onBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        lastActivityAt = monotonicNanos()
        if firstByteAt == nil { firstByteAt = lastActivityAt }
        if let collectLimit {
            guard collected.count + bytes.count <= collectLimit else {
                collectOverflow = true
                return 0
            }
            collected.append(contentsOf: bytes)
            return bytes.count
        }
        if !headDone { resolveHead() }
        switch channel.offer(bytes) {
        case .accepted: return bytes.count
        case .pause:
            paused = true
            onPause?()
            return Int(airlock_writefunc_pause())
        case .abort: return 0
        }
    }

    func resolveHead() {
        guard !headDone else { return }
        headDone = true
        if status == 0 {
            var code = 0
            airlock_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
            status = code
        }
        let head = ResponseHead(
            status: status, headers: headers, httpVersion: httpVersion, body: collectLimit == nil ? nil : collected)
        headContinuation?.resume(returning: head)
        headContinuation = nil
    }

    /// The transfer ended. Resolves whatever is still waiting.
    func complete(_ failure: UpstreamError?) {
        if let failure {
            if !headDone {
                headDone = true
                headContinuation?.resume(throwing: failure)
                headContinuation = nil
            }
            channel.finish(failure)
        } else {
            resolveHead()
            channel.finish(nil)
        }
    }
}

private let transferWriteCallback: curl_write_callback = { pointer, size, count, userdata in
    guard let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.onBody(UnsafeRawBufferPointer(start: pointer, count: size * count))
}

private let transferHeaderCallback: curl_write_callback = { pointer, size, count, userdata in
    guard let userdata, let pointer else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    let line = pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
    transfer.onHeaderLine(line)
    return length
}

extension String {
    fileprivate func trimmingSuffixNewline() -> Substring {
        var view = self[...]
        while let last = view.last, last == "\r\n" || last == "\n" || last == "\r" { view = view.dropLast() }
        return view
    }
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
