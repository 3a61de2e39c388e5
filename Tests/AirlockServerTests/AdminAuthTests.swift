import AirlockTestSupport
import Foundation
import NIOCore
import Testing
import Upstream

@testable import AirlockServer

@Suite struct AdminAuthTests {
    let token = "admin-token-0123456789abcdef"

    @Test func adminRoutesNeedTheToken() async throws {
        try await AirlockHarness.withRunning(environment: ["AIRLOCK_ADMIN_TOKEN": token]) { airlock in
            let (missing, missingJSON) = try await airlock.json("GET", "/airlock/config", headers: [])
            #expect(missing.status == 401)
            #expect((missingJSON["error"] as? [String: Any])?["code"] as? String == "unauthorized")
            let (wrong, _) = try await airlock.json(
                "GET", "/airlock/config", headers: [("Authorization", "Bearer not-the-admin-token-000")])
            #expect(wrong.status == 401)
            let right = try await airlock.client.execute(
                .init(method: "GET", url: airlock.baseURL + "/airlock/config", headers: [("Authorization", "Bearer \(token)")]))
            #expect(right.status == 200)
            let text = String(decoding: try await right.collect(upTo: 1 << 20), as: UTF8.self)
            #expect(text.contains("token: \"adm…ef (masked)\""))
            #expect(!text.contains(token))
            // Every admin route, reads and writes alike.
            for (method, path) in [
                ("GET", "/airlock/stats"), ("GET", "/airlock/outcomes"), ("GET", "/airlock/dashboard"),
                ("GET", "/airlock/rules"), ("POST", "/airlock/rules/reload"), ("DELETE", "/airlock/cache"),
            ] {
                for headers in [[], [("Authorization", "Bearer not-the-admin-token-000")]] {
                    let response = try await airlock.client.execute(
                        .init(method: method, url: airlock.baseURL + path, headers: headers))
                    _ = try await response.collect(upTo: 1 << 20)
                    #expect(response.status == 401, "\(method) \(path) \(headers.isEmpty ? "without" : "wrong") token")
                }
            }
            // Health and the proxy itself stay open.
            let (health, _) = try await airlock.json("GET", "/healthz")
            #expect(health.status == 200)
        }
    }

    @Test func withoutATokenLoopbackIsAnswered() async throws {
        try await AirlockHarness.withRunning { airlock in
            let response = try await airlock.request("GET", "/airlock/config")
            #expect(response.status == 200)
            let text = String(decoding: try await response.collect(upTo: 1 << 20), as: UTF8.self)
            #expect(text.contains("listen: 127.0.0.1:0"))
        }
    }

    @Test func loopbackDetection() throws {
        #expect(AdminAuthMiddleware.isLoopback(try SocketAddress(ipAddress: "127.0.0.1", port: 1)))
        #expect(AdminAuthMiddleware.isLoopback(try SocketAddress(ipAddress: "::1", port: 1)))
        #expect(!AdminAuthMiddleware.isLoopback(try SocketAddress(ipAddress: "10.0.0.5", port: 1)))
        #expect(!AdminAuthMiddleware.isLoopback(try SocketAddress(ipAddress: "192.168.1.2", port: 1)))
        #expect(!AdminAuthMiddleware.isLoopback(nil))
        #expect(AdminAuthMiddleware.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!AdminAuthMiddleware.constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
        #expect(!AdminAuthMiddleware.constantTimeEquals(Array("abc".utf8), Array("abcd".utf8)))
    }

    @Test func withoutATokenAndListeningBeyondLoopbackTheAdminRoutesAreOff() async throws {
        // Listening on every interface with no token: even a loopback client (a same-host proxy) is refused.
        try await AirlockHarness.withRunning(environment: ["AIRLOCK_LISTEN": "0.0.0.0:0"]) { airlock in
            for path in ["/airlock/config", "/airlock/stats", "/airlock/dashboard"] {
                let (response, json) = try await airlock.json("GET", path)
                #expect(response.status == 403, "\(path)")
                #expect((json["error"] as? [String: Any])?["code"] as? String == "admin_disabled")
            }
            let (health, _) = try await airlock.json("GET", "/healthz")
            #expect(health.status == 200)
        }
    }

    @Test func adminAccessFollowsTheListenAddress() {
        #expect(AdminAccess(token: nil, listenHost: "127.0.0.1") == .loopbackOnly)
        #expect(AdminAccess(token: nil, listenHost: "127.0.0.2") == .loopbackOnly)
        #expect(AdminAccess(token: nil, listenHost: "localhost") == .loopbackOnly)
        #expect(AdminAccess(token: nil, listenHost: "::1") == .loopbackOnly)
        #expect(AdminAccess(token: nil, listenHost: "[::1]") == .loopbackOnly)
        #expect(AdminAccess(token: nil, listenHost: "0.0.0.0") == .off)
        #expect(AdminAccess(token: nil, listenHost: "::") == .off)
        #expect(AdminAccess(token: nil, listenHost: "10.0.0.5") == .off)
        #expect(AdminAccess(token: token, listenHost: "0.0.0.0") == .token(token))
        #expect(AdminAccess(token: nil, listenHost: "0.0.0.0").summary.contains("off"))
    }

    @Test func everyAdminDurationThatOverflowedIsAClientError() throws {
        for text in [
            "9223372036854775807d", "9223372036854775807s", "153722867280912931m", "2562047788015216h", "106751991167301d",
            "99999999999999999999999d", "-1d", "0s", "8d", "604801s", "1e9s", "d", "", "15", "1.5h", String(repeating: "9", count: 5000) + "s",
        ] {
            #expect(throws: AirlockHTTPError.self, "\(text)") { try AdminQuery.duration(text, name: "window") }
        }
        #expect(try AdminQuery.duration("7d", name: "window") == .seconds(7 * 86_400))
        #expect(try AdminQuery.duration("604800s", name: "window") == .seconds(604_800))
        #expect(try AdminQuery.duration("15m", name: "window") == .seconds(900))
    }
}
