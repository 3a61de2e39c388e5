import CCurl
import CCurlShim
import Foundation
import Logging
import Synchronization
import ThreadJoin

/// Owns the libcurl multi handle and the one thread that drives it.
///
/// `@unchecked Sendable` invariant: `multi`, `active` and every easy handle in it are touched only on `thread`.
/// Other threads hand work over through `inbox` (a `Mutex`) and wake the thread with `curl_multi_wakeup`, which libcurl
/// documents as safe to call from any thread.
final class CurlMultiDriver: @unchecked Sendable, BodyChannelDelegate {
    private enum Command {
        case add(Transfer)
        case resume(Int)
        case cancel(Int)
    }

    private struct Inbox {
        var commands: [Command] = []
        var stopping = false
        var stopped = false
    }

    private let multi: UnsafeMutableRawPointer
    private let inbox = Mutex(Inbox())
    private var active: [Int: Transfer] = [:]
    private var byHandle: [UnsafeMutableRawPointer: Transfer] = [:]
    private let logger: Logger
    private let counters = Mutex(UpstreamClientStats())
    private let liveThread = LiveThreads()

    init(logger: Logger, maxConnectionsPerHost: Int) {
        CurlGlobal.initialize()
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        self.multi = multi
        self.logger = logger
        _ = airlock_multi_setopt_long(multi, CURLMOPT_PIPELINING, airlock_pipe_multiplex())
        if maxConnectionsPerHost > 0 {
            _ = airlock_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxConnectionsPerHost)
        }
        liveThread.starting(1)
        let driverThread = Thread { [self] in self.runLoop() }
        driverThread.name = "airlock-curl"
        driverThread.start()
    }

    deinit {
        curl_multi_cleanup(multi)
    }

    var stats: UpstreamClientStats { counters.withLock { $0 } }

    func submit(_ transfer: Transfer) throws {
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.stopping else { return false }
            inbox.commands.append(.add(transfer))
            return true
        }
        guard accepted else { throw UpstreamError(.shutdown, "the upstream client is shut down") }
        curl_multi_wakeup(multi)
    }

    /// Tells the thread to fail every transfer still running and end; returns at once (``ended()`` waits for it).
    /// New transfers are refused from here on.
    func shutdown() {
        let first = inbox.withLock { inbox -> Bool in
            defer { inbox.stopping = true }
            return !inbox.stopping
        }
        guard first else { return }
        curl_multi_wakeup(multi)
    }

    /// Returns once the thread has ended, without blocking a thread meanwhile.
    func ended() async { await liveThread.allEnded() }

    // MARK: BodyChannelDelegate (any thread)

    func channelWantsResume(_ channel: BodyChannel) { post(.resume(channel.transferID)) }
    func channelCancelled(_ channel: BodyChannel) { post(.cancel(channel.transferID)) }

    private func post(_ command: Command) {
        let posted = inbox.withLock { inbox -> Bool in
            guard !inbox.stopped else { return false }
            inbox.commands.append(command)
            return true
        }
        if posted { curl_multi_wakeup(multi) }
    }

    // MARK: the driver thread

    private func runLoop() {
        var running: Int32 = 0
        while true {
            let (commands, stopping) = inbox.withLock { inbox -> ([Command], Bool) in
                let commands = inbox.commands
                inbox.commands.removeAll(keepingCapacity: true)
                return (commands, inbox.stopping)
            }
            for command in commands { apply(command) }
            if stopping {
                for transfer in Array(active.values) {
                    abort(transfer, UpstreamError(.shutdown, "the upstream client is shutting down"))
                }
                inbox.withLock { $0.stopped = true }
                // Fail anything that raced in after the last drain.
                let late = inbox.withLock { inbox -> [Command] in
                    defer { inbox.commands.removeAll() }
                    return inbox.commands
                }
                for case .add(let transfer) in late {
                    transfer.complete(UpstreamError(.shutdown, "the upstream client is shutting down"))
                }
                liveThread.threadEnded()
                return
            }
            curl_multi_perform(multi, &running)
            drainMessages()
            let now = monotonicNanos()
            let wait = enforceDeadlines(now: now)
            curl_multi_poll(multi, nil, 0, Int32(wait), nil)
        }
    }

    func notePaused() { counters.withLock { $0.pauses += 1 } }

    private func apply(_ command: Command) {
        switch command {
        case .add(let transfer):
            if transfer.channel.isCancelled {
                transfer.complete(UpstreamError(.cancelled, "transfer cancelled before it started"))
                return
            }
            transfer.startedAt = monotonicNanos()
            transfer.onPause = { [unowned self] in self.notePaused() }
            let code = curl_multi_add_handle(multi, transfer.easy)
            guard code == CURLM_OK else {
                transfer.complete(
                    UpstreamError(
                        .invalidRequest, "curl_multi_add_handle: \(String(cString: curl_multi_strerror(code)))",
                        curlCode: Int(code.rawValue)))
                return
            }
            active[transfer.id] = transfer
            byHandle[transfer.easy] = transfer
            counters.withLock { $0.started += 1 }
        case .resume(let id):
            guard let transfer = active[id], transfer.paused else { return }
            transfer.paused = false
            transfer.lastActivityAt = monotonicNanos()
            // May call the write callback right here with the data held back while paused.
            curl_easy_pause(transfer.easy, airlock_pause_cont())
        case .cancel(let id):
            guard let transfer = active[id] else { return }
            counters.withLock { $0.aborted += 1 }
            abort(transfer, UpstreamError(.cancelled, "transfer cancelled"))
        }
    }

    private func drainMessages() {
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            guard message.pointee.msg == airlock_msg_done(), let easy = message.pointee.easy_handle,
                let transfer = byHandle[easy]
            else { continue }
            let result = airlock_msg_result(message)
            remove(transfer)
            if result == CURLE_OK {
                counters.withLock { $0.completed += 1 }
                transfer.complete(nil)
            } else {
                counters.withLock { $0.failed += 1 }
                transfer.complete(classify(result, transfer))
            }
        }
    }

    /// Times first byte and idle gaps itself (libcurl's low-speed limit counts whole seconds), and returns how many
    /// milliseconds the next poll may sleep.
    private func enforceDeadlines(now: UInt64) -> Int {
        var wait: UInt64 = 1_000_000_000
        for transfer in Array(active.values) {
            if transfer.firstByteAt == nil, let limit = transfer.timeouts.firstByte {
                let deadline = transfer.startedAt &+ nanos(limit)
                if now >= deadline {
                    counters.withLock { $0.failed += 1 }
                    abort(transfer, UpstreamError(.firstByteTimeout, "no response byte within \(limit)"))
                    continue
                }
                wait = min(wait, deadline - now)
            } else if !transfer.paused, let limit = transfer.timeouts.idle {
                let deadline = transfer.lastActivityAt &+ nanos(limit)
                if now >= deadline {
                    counters.withLock { $0.failed += 1 }
                    abort(transfer, UpstreamError(.idleTimeout, "no data for \(limit)"))
                    continue
                }
                wait = min(wait, deadline - now)
            }
        }
        return max(1, Int((wait + 999_999) / 1_000_000))
    }

    private func abort(_ transfer: Transfer, _ error: UpstreamError) {
        remove(transfer)
        transfer.complete(error)
    }

    private func remove(_ transfer: Transfer) {
        curl_multi_remove_handle(multi, transfer.easy)
        active[transfer.id] = nil
        byHandle[transfer.easy] = nil
    }

    private func classify(_ code: CURLcode, _ transfer: Transfer) -> UpstreamError {
        let detail = transfer.errorDetail.isEmpty ? String(cString: curl_easy_strerror(code)) : transfer.errorDetail
        let raw = Int(code.rawValue)
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            var connectTime = 0.0
            airlock_easy_getinfo_double(transfer.easy, CURLINFO_CONNECT_TIME, &connectTime)
            if connectTime == 0 && transfer.firstByteAt == nil {
                return UpstreamError(.connectTimeout, detail, curlCode: raw)
            }
            return UpstreamError(.totalTimeout, detail, curlCode: raw)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return UpstreamError(.connectFailed, detail, curlCode: raw)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE:
            return UpstreamError(.tls, detail, curlCode: raw)
        case CURLE_WRITE_ERROR where transfer.collectOverflow:
            return UpstreamError(
                .responseTooLarge, "upstream response exceeds \(transfer.collectLimit ?? 0) bytes", curlCode: raw)
        case CURLE_WRITE_ERROR where transfer.channel.isCancelled:
            return UpstreamError(.cancelled, "transfer cancelled", curlCode: raw)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return UpstreamError(.invalidRequest, detail, curlCode: raw)
        default:
            return UpstreamError(.connectionLost, detail, curlCode: raw)
        }
    }

    private func nanos(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds / 1_000_000_000))
    }
}

/// `curl_global_init` must run once before any thread uses libcurl.
enum CurlGlobal {
    private static let once: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()
    static func initialize() { _ = once }
}

/// Counters of the upstream client, for tests and metrics.
public struct UpstreamClientStats: Sendable, Equatable {
    public var started = 0
    public var completed = 0
    public var failed = 0
    /// Transfers stopped because the reader went away or cancelled.
    public var aborted = 0
    /// Times a transfer was paused because its reader fell behind (backpressure at work).
    public var pauses = 0
}
