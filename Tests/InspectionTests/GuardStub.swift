import AirlockTestSupport
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 responder on loopback that answers every POST like a Qwen3Guard-Gen model served behind an
/// OpenAI-compatible API, optionally after a delay. One thread accepts and serves connections one at a time.
final class GuardStub: Sendable {
    let port: Int
    private let listener: Int32
    private let listenerOpen = Mutex(true)
    private let requests = Atomic<Int>(0)
    private let bodies = Mutex<[String]>([])

    var requestCount: Int { requests.load(ordering: .relaxed) }
    var receivedBodies: [String] { bodies.withLock { $0 } }

    init(content: String, delay: Duration = .zero, status: Int = 200) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.listener = fd

        let escaped = content.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: "\"", with: "\\\"")
        let body = #"{"id":"chatcmpl-guard","object":"chat.completion","created":0,"model":"Qwen3Guard-Gen-0.6B","choices":[{"index":0,"message":{"role":"assistant","content":"\#(escaped)"},"finish_reason":"stop"}]}"#
        let response = "HTTP/1.1 \(status) OK\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)"
        let thread = Thread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 && errno == EINTR { continue }
                if client < 0 {
                    // Closed here, by the only thread that uses it, never by `stop()`: a descriptor closed while
                    // this thread sleeps in a delay could be reused by the process for another server's listener,
                    // and this `accept` would then take that server's connection and answer it as a guard.
                    listenerOpen.withLock { open in
                        close(fd)
                        open = false
                    }
                    return
                }
                let request = Self.readRequest(client)
                requests.add(1, ordering: .relaxed)
                bodies.withLock { $0.append(request) }
                if delay > .zero {
                    let (seconds, attoseconds) = delay.components
                    usleep(UInt32(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
                }
                _ = response.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                close(client)
            }
        }
        thread.start()
    }

    /// Stops listening: the socket refuses connections from now on, and the serving thread's `accept` fails, so it
    /// closes the socket and ends (after the delay of a request it is serving, if any).
    func stop() {
        // Under the lock the thread closes with: a descriptor it already closed may be another socket's now.
        listenerOpen.withLock { open in
            if open { shutdown(listener, Int32(SHUT_RDWR)) }
        }
    }

    /// Reads the head and a Content-Length body; returns the body.
    private static func readRequest(_ fd: Int32) -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            data += buffer[0..<count]
            let text = String(decoding: data, as: UTF8.self)
            if let range = text.range(of: "\r\n\r\n") {
                let head = text[..<range.lowerBound].lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                let bodyStart = text.utf8.distance(from: text.startIndex, to: range.upperBound)
                if data.count - bodyStart >= length {
                    return String(decoding: data[bodyStart...], as: UTF8.self)
                }
            }
        }
        return ""
    }
}
