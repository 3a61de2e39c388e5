import AirlockTestSupport
import Foundation
import Synchronization
import Testing
import Upstream

@testable import AirlockServer

/// A one-shot gate that work on the pool waits on (suspending, so it holds admission, not a thread).
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

@Suite struct WorkPoolTests {

    @Test func runsOnItsOwnThreadsAndShedsPastItsBound() async throws {
        let pool = WorkPool(threads: 1, queue: 1)
        defer { pool.close() }
        #expect(!WorkPool.isPoolThread)
        #expect(try await pool.run { WorkPool.isPoolThread })
        #expect(try await pool.run { await Task.yield(); return WorkPool.isPoolThread }, "back on the pool after a suspension")
        let gate = Gate()
        let entered = Gate()
        // Two admitted (one running, one waiting), both held at the gate.
        async let first: Int = try pool.run {
            entered.open()
            await gate.wait()
            return 1
        }
        await entered.wait()
        let second = Task { try await pool.run { await gate.wait(); return 2 } }
        while pool.admitted < 2 { await Task.yield() }
        // The third is turned away at once, and counted.
        await #expect(throws: WorkPool.Overloaded.self) { try await pool.run { 3 } }
        #expect(pool.shed == 1)
        // Work that must not be shed is admitted anyway.
        let forced = Task { await pool.runAdmitted { await gate.wait(); return 4 } }
        while pool.admitted < 3 { await Task.yield() }
        gate.open()
        #expect(try await first == 1)
        #expect(try await second.value == 2)
        #expect(await forced.value == 4)
        #expect(pool.admitted == 0)
        #expect(try await pool.run { 5 } == 5)
    }

    @Test func afterCloseNothingIsAdmitted() async throws {
        let pool = WorkPool(threads: 1, queue: 4)
        #expect(try await pool.run { 1 } == 1)
        pool.close()
        await #expect(throws: WorkPool.Overloaded.self) { try await pool.run { 2 } }
        #expect(await pool.runAdmitted { 3 } == 3, "forced work still runs, where the caller is")
    }

    @Test func aFullPoolShedsLargeRequestsWith429AndHealthStillAnswers() async throws {
        try await AirlockHarness.withRunning(
            environment: ["AIRLOCK_INSPECTION_THREADS": "1", "AIRLOCK_INSPECTION_QUEUE": "0"],
            rules: AirlockHarness.shippedRules
        ) { airlock in
            let pool = airlock.server.workPool
            let gate = Gate()
            let holding = Task { try await pool.run { await gate.wait() } }
            while pool.admitted < 1 { await Task.yield() }
            // A prompt past the inline bound needs the pool: shed at once, with Retry-After.
            let large = String(repeating: "Please summarise this paragraph about the weather. ", count: 400)
            let (shed, json) = try await airlock.json("POST", "/v1/chat/completions", body: AirlockHarness.chat(large))
            #expect(shed.status == 429)
            #expect(shed.header("retry-after") == "1")
            #expect((json["error"] as? [String: Any])?["code"] as? String == "airlock_overloaded")
            #expect(shed.header("x-airlock-outcome") == "failure_rate_limited")
            // NER work: the English model's (feature sums) runs inline for a prompt up to 1 KB and needs the pool
            // above; LAC's (a network) always needs the pool, however short the Chinese.
            let english = String(repeating: "Please send the contract to Margaret Okonkwo by Friday. ", count: 36)
            #expect(english.utf8.count > 1024 && english.utf8.count < 16 * 1024)
            let (englishShed, _) = try await airlock.json(
                "POST", "/v1/chat/completions", body: AirlockHarness.chat(english))
            #expect(englishShed.status == 429)
            let (chineseShed, _) = try await airlock.json(
                "POST", "/v1/chat/completions", body: AirlockHarness.chat("请把合同交给王建国。"))
            #expect(chineseShed.status == 429)
            // Small requests run inline (a short English prompt with a name included), and health, readiness and
            // metrics never wait for the pool.
            let (small, _) = try await airlock.json("POST", "/v1/chat/completions", body: AirlockHarness.chat("Hello"))
            #expect(small.status == 200)
            let (named, _) = try await airlock.json(
                "POST", "/v1/chat/completions", body: AirlockHarness.chat("Write to Margaret Okonkwo."))
            #expect(named.status == 200)
            let (health, _) = try await airlock.json("GET", "/healthz")
            #expect(health.status == 200)
            let metrics = try await airlock.request("GET", "/metrics")
            let text = String(decoding: try await metrics.collect(upTo: 1 << 22), as: UTF8.self)
            #expect(text.contains(#"airlock_shed_total{reason="work_pool"} 3"#))
            #expect(text.contains("airlock_work_pool_admitted 1"))
            gate.open()
            try await holding.value
            let (later, _) = try await airlock.json("POST", "/v1/chat/completions", body: AirlockHarness.chat(large))
            #expect(later.status == 200)
        }
    }
}
