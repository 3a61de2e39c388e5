public import Logging
public import ServiceLifecycle
import Synchronization

/// HTTP client for upstream model APIs, over libcurl's multi interface.
///
/// One thread drives every transfer; connections (HTTP/1.1 keep-alive, HTTP/2 multiplexed where the server offers
/// it over TLS) are cached and reused. Proxies come from `HTTPS_PROXY` / `https_proxy` / `http_proxy` and `NO_PROXY`
/// as libcurl reads them; TLS uses the system CA bundle unless `caFile` names another.
public final class UpstreamClient: Service, Sendable {
    public struct Configuration: Sendable {
        /// Default timeouts; a request may carry its own.
        public var timeouts: UpstreamTimeouts = .default
        /// A PEM CA bundle to use instead of the system one.
        public var caFile: String? = nil
        /// Unread body bytes per transfer before the transfer is paused.
        public var maxBufferedBytes: Int = 256 * 1024
        /// 0 = libcurl's default (no limit).
        public var maxConnectionsPerHost: Int = 0

        public init() {}
    }

    public let configuration: Configuration
    private let driver: CurlMultiDriver
    private let nextID = Atomic<Int>(0)

    public init(configuration: Configuration = .init(), logger: Logger = Logger(label: "airlock.upstream")) {
        self.configuration = configuration
        self.driver = CurlMultiDriver(logger: logger, maxConnectionsPerHost: configuration.maxConnectionsPerHost)
    }

    deinit {
        driver.shutdown()
    }

    /// Runs until graceful shutdown, then fails what is still in flight and waits (without blocking a thread) for the
    /// driver thread to end.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdownAndWait()
    }

    /// Refuses new requests and fails those in flight; returns at once, never blocking the caller.
    public func shutdown() {
        driver.shutdown()
    }

    /// ``shutdown()``, then waits until the driver thread has ended.
    public func shutdownAndWait() async {
        driver.shutdown()
        await driver.ended()
    }

    public var stats: UpstreamClientStats { driver.stats }

    /// Sends the request and returns once the response head has arrived. The body then streams through
    /// `response.body`; dropping the response, cancelling the task, or calling `cancel()` aborts the transfer.
    public func execute(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        let (transfer, channel) = try makeTransfer(request)
        let lease = TransferLease(channel: channel)
        let head = try await run(transfer, channel)
        return UpstreamResponse(
            status: head.status, headers: head.headers, httpVersion: head.httpVersion,
            body: UpstreamBody(channel: channel, lease: lease))
    }

    /// Sends the request and returns once the whole response has arrived (at most `maxBodyBytes` of body, else
    /// `responseTooLarge`). For answers that are not streamed to the client: the caller resumes once, not per chunk.
    public func send(_ request: UpstreamRequest, maxBodyBytes: Int) async throws -> UpstreamCompleteResponse {
        let (transfer, channel) = try makeTransfer(request)
        transfer.collectLimit = maxBodyBytes
        let head = try await run(transfer, channel)
        return UpstreamCompleteResponse(
            status: head.status, headers: head.headers, httpVersion: head.httpVersion, body: head.body ?? [])
    }

    private func makeTransfer(_ request: UpstreamRequest) throws -> (Transfer, BodyChannel) {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let channel = BodyChannel(highWater: configuration.maxBufferedBytes, transferID: id)
        channel.setDelegate(driver)
        let transfer = try Transfer(
            id: id, request: request, timeouts: request.timeouts ?? configuration.timeouts,
            caFile: configuration.caFile, channel: channel)
        return (transfer, channel)
    }

    private func run(_ transfer: Transfer, _ channel: BodyChannel) async throws -> ResponseHead {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.headContinuation = continuation
                do {
                    try driver.submit(transfer)
                } catch {
                    transfer.headContinuation = nil
                    continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            channel.cancel()
        }
    }
}

/// Aborts the transfer when the last holder of the response body lets go of it unfinished.
final class TransferLease: Sendable {
    let channel: BodyChannel
    init(channel: BodyChannel) { self.channel = channel }
    deinit { channel.cancel() }
}
