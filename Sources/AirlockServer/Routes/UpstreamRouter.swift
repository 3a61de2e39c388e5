import ChatWire
import AirlockConfiguration
import Foundation
import Hummingbird
import Outcomes
import TimeSource
import Upstream

/// One upstream the router may send to: the primary, or a fallback with its own breaker.
struct UpstreamTarget: Sendable {
    let name: String
    let call: UpstreamCall
    /// Replaces the request's model for this target.
    let model: String?
    let breaker: CircuitBreaker
    /// The host of the target's URL (lower-cased): the price table's regions are keyed by it.
    let host: String?

    static func host(of url: String) -> String? { URL(string: url)?.host?.lowercased() }
}

/// What one routed request got from upstream.
enum UpstreamResult: Sendable {
    /// A whole answer (any status) and how it was classified.
    /// `json`: the body as the route's classifier parsed it (nil when it did not, or could not).
    case whole(status: Int, headers: [(String, String)], body: [UInt8], json: JSONValue?, outcome: Outcome)
    /// A 200 event stream: its outcome is decided when it ends.
    case stream(UpstreamResponse)
    /// No usable HTTP answer.
    case transport(UpstreamError, outcome: Outcome)
    /// Every target's breaker is open.
    case circuitOpen

    var outcome: Outcome? {
        switch self {
        case .whole(_, _, _, _, let outcome), .transport(_, let outcome): outcome
        case .stream: nil
        case .circuitOpen: .failureCircuitOpen
        }
    }
}

/// What a route's classifier made of a whole answer: its outcome, and the body parsed, if it parsed it (so the route
/// never parses the same answer twice).
struct Classified: Sendable {
    var outcome: Outcome
    var json: JSONValue?
}

struct RoutedResult: Sendable {
    var result: UpstreamResult
    var target: UpstreamTarget
    var attempts: Int
    var firstByte: Duration?
}

/// Sends a request through the target chain: retries with backoff on connect errors, 429 and 5xx while nothing has
/// reached the client; falls over to the next target on failures only, never on refusals; skips targets whose circuit
/// is open.
final class UpstreamRouter: Sendable {
    let client: UpstreamClient
    let targets: [UpstreamTarget]
    let retry: RetryPolicy
    let requestTimeout: Duration
    let maxResponseBytes: Int
    let metrics: AirlockMetrics
    /// Breakers' cool-downs and the waits between retries.
    let time: any TimeSource

    init(client: UpstreamClient, configuration: AirlockConfiguration, metrics: AirlockMetrics, time: any TimeSource) {
        self.client = client
        self.time = time
        self.metrics = metrics
        let upstream = configuration.upstream
        let settings = CircuitBreakerState.Settings(
            failureThreshold: upstream.breakerFailures, coolDown: .milliseconds(upstream.breakerCoolDownMilliseconds))
        var targets = [
            UpstreamTarget(
                name: "primary", call: UpstreamCall(configuration: upstream), model: nil,
                breaker: CircuitBreaker(name: "primary", settings: settings, time: time),
                host: UpstreamTarget.host(of: upstream.url))
        ]
        for (index, fallback) in upstream.fallbacks.enumerated() {
            var settingsForTarget = upstream
            settingsForTarget.url = fallback.url
            settingsForTarget.apiKey = fallback.apiKey
            let name = "fallback-\(index + 1)"
            targets.append(
                UpstreamTarget(
                    name: name, call: UpstreamCall(configuration: settingsForTarget), model: fallback.model,
                    breaker: CircuitBreaker(name: name, settings: settings, time: time),
                    host: UpstreamTarget.host(of: fallback.url)))
        }
        self.targets = targets
        self.retry = RetryPolicy(maxRetries: upstream.retries)
        self.requestTimeout = .milliseconds(upstream.requestTimeoutMilliseconds)
        self.maxResponseBytes = upstream.maxResponseBytes
    }

    /// The primary target's host: where a cache hit or a blocked prompt would have gone.
    var primaryHost: String? { targets.first?.host }

    static func targetNames(_ configuration: AirlockConfiguration) -> [String] {
        ["primary"] + configuration.upstream.fallbacks.indices.map { "fallback-\($0 + 1)" }
    }

    func route(
        method: String, path: String, from request: Request, body: [UInt8], chat: ChatRequest?, stream: Bool,
        requestID: String, classify: @Sendable (Int, [UInt8]) -> Classified
    ) async -> RoutedResult {
        let started = ContinuousClock.now
        var last: RoutedResult?
        var attempts = 0
        var generator = SystemRandomNumberGenerator()
        for target in targets {
            let admission = target.breaker.admit()
            metrics.recordCircuit(target: target.name, phase: target.breaker.phase)
            if admission == .rejected {
                if last == nil { last = RoutedResult(result: .circuitOpen, target: target, attempts: attempts) }
                continue
            }
            var retryNumber = 0
            while true {
                attempts += 1
                let attemptBody = target.model.flatMap { Self.rewriteModel(chat, to: $0) } ?? body
                let upstreamRequest = target.call.request(
                    method: method, path: path, from: request, body: attemptBody,
                    accept: stream ? "text/event-stream" : "application/json", requestID: requestID)
                let sentAt = ContinuousClock.now
                var connectPhase = false
                var retryAfter: Duration?
                let result: UpstreamResult
                var firstByte: Duration?
                do {
                    if stream {
                        let response = try await client.execute(upstreamRequest)
                        firstByte = ContinuousClock.now - sentAt
                        let isEventStream = response.header("content-type")?.hasPrefix("text/event-stream") ?? false
                        if response.status == 200 && isEventStream {
                            return RoutedResult(
                                result: .stream(response), target: target, attempts: attempts, firstByte: firstByte)
                        }
                        let bytes = try await response.collect(upTo: maxResponseBytes)
                        retryAfter = RetryPolicy.parseRetryAfter(response.header("retry-after"))
                        let classified = classify(response.status, bytes)
                        result = .whole(
                            status: response.status, headers: response.headers, body: bytes, json: classified.json,
                            outcome: classified.outcome)
                    } else {
                        let response = try await client.send(upstreamRequest, maxBodyBytes: maxResponseBytes)
                        firstByte = ContinuousClock.now - sentAt
                        retryAfter = RetryPolicy.parseRetryAfter(response.header("retry-after"))
                        let classified = classify(response.status, response.body)
                        result = .whole(
                            status: response.status, headers: response.headers, body: response.body,
                            json: classified.json, outcome: classified.outcome)
                    }
                } catch let error as UpstreamError {
                    connectPhase = error.code == .connectFailed || error.code == .connectTimeout
                    let outcome: Outcome =
                        error.code.isTimeout
                        ? .failureTimeout : (error.code == .responseTooLarge ? .failureMalformed : .failureNetwork)
                    result = .transport(error, outcome: outcome)
                    if error.code == .cancelled || error.code == .shutdown {
                        return RoutedResult(result: result, target: target, attempts: attempts)
                    }
                } catch {
                    result = .transport(UpstreamError(.connectionLost, "\(error)"), outcome: .failureNetwork)
                }
                if let firstByte { metrics.recordFirstByte(firstByte) }
                last = RoutedResult(result: result, target: target, attempts: attempts, firstByte: firstByte)
                // A stream's outcome is known only when it ends: the route settles it then (`settle`).
                guard let outcome = result.outcome else { return last! }
                settle(target, outcome: outcome)
                guard outcome.isTransientFailure else { return last! }
                let remaining = requestTimeout - (ContinuousClock.now - started)
                guard RetryPolicy.isRetryable(outcome, connectPhase: connectPhase),
                    let delay = retry.delay(
                        retry: retryNumber + 1, retryAfter: retryAfter, remaining: remaining, using: &generator)
                else { break }
                metrics.recordRetry(target: target.name)
                do { try await time.sleep(for: delay) } catch { return last! }
                retryNumber += 1
                // The breaker may have opened meanwhile (other requests failing too): move on.
                if target.breaker.admit() == .rejected { break }
            }
        }
        return last ?? RoutedResult(result: .circuitOpen, target: targets[0], attempts: attempts)
    }

    /// Records what one attempt on `target` came to: the attempt counter, its breaker, and the breaker's gauge
    /// (kept in step with the breaker, so a stream failure that opens it shows at once).
    func settle(_ target: UpstreamTarget, outcome: Outcome) {
        metrics.recordAttempt(target: target.name, outcome: outcome)
        target.breaker.record(outcome)
        metrics.recordCircuit(target: target.name, phase: target.breaker.phase)
    }

    /// An attempt that says nothing about the target (the client went away mid-stream): a half-open probe is freed.
    func settle(_ target: UpstreamTarget, neutral: Bool) {
        target.breaker.recordNeutral()
        metrics.recordCircuit(target: target.name, phase: target.breaker.phase)
    }

    /// The request body with another model, for a fallback that serves a different one.
    static func rewriteModel(_ chat: ChatRequest?, to model: String) -> [UInt8]? {
        chat?.encodedBody(model: model)
    }
}
