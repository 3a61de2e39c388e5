import AirlockConfiguration
import Synchronization
import Upstream

/// Whether the upstream answers HTTP at all (any status counts: a 401 still proves the path works), remembered for a
/// few seconds so that frequent probes do not become upstream traffic.
final class UpstreamReadiness: Sendable {
    struct Result: Sendable {
        var reachable: Bool
        var detail: String
        var checkedAt: ContinuousClock.Instant
    }

    private let client: UpstreamClient
    private let url: String
    private let headers: [(String, String)]
    private let cached = Mutex<Result?>(nil)

    init(client: UpstreamClient, configuration: AirlockConfiguration) {
        self.client = client
        self.url = configuration.upstream.url + "/models"
        var headers: [(String, String)] = []
        if let key = configuration.upstream.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        self.headers = headers
    }

    func check() async -> Result {
        if let result = cached.withLock({ $0 }) {
            let age = ContinuousClock.now - result.checkedAt
            if age < (result.reachable ? .seconds(5) : .seconds(1)) { return result }
        }
        let request = UpstreamRequest(
            method: "GET", url: url, headers: headers,
            timeouts: UpstreamTimeouts(connect: .seconds(2), firstByte: .seconds(3), idle: .seconds(3), total: .seconds(5)))
        let result: Result
        do {
            let response = try await client.execute(request)
            response.cancel()
            result = Result(reachable: true, detail: "HTTP \(response.status)", checkedAt: .now)
        } catch {
            result = Result(reachable: false, detail: "\(error)", checkedAt: .now)
        }
        cached.withLock { $0 = result }
        return result
    }
}
