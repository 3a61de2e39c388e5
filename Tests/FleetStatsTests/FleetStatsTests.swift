import Outcomes
import Testing

@testable import FleetStats

@Suite struct LatencyBucketTests {
    @Test func bucketsAreMonotonicAndQuantilesLandInTheRightBucket() {
        #expect(zip(LatencyBuckets.bounds, LatencyBuckets.bounds.dropFirst()).allSatisfy { $0 < $1 })
        #expect(LatencyBuckets.index(of: 0.05) == 0)
        var counts: [Int: Int] = [:]
        for value in 1...100 { counts[LatencyBuckets.index(of: Double(value)), default: 0] += 1 }
        let p50 = LatencyBuckets.quantile(0.5, counts: counts)!
        let p99 = LatencyBuckets.quantile(0.99, counts: counts)!
        #expect(p50 >= 50 && p50 <= 50 * 1.25)
        #expect(p99 >= 99 && p99 <= 99 * 1.25)
        #expect(LatencyBuckets.quantile(0.5, counts: [:]) == nil)
    }
}

@Suite struct StatsSummaryTests {
    @Test func ratesAreSharesOfRequestsAndHitRateIsShareOfLookups() {
        let totals = [
            "requests": 20, "o:ok": 10, "o:cache_hit": 4, "o:blocked_prompt": 2, "o:refusal_model": 1,
            "o:refusal_provider_input": 1, "o:failure_timeout": 2, "r:pii-cn/cn-id": 2, "c:hit": 4, "c:miss": 12,
            "l:30": 20,
        ]
        let snapshot = FleetStats.summarize(totals: totals, series: [], windowSeconds: 900)
        #expect(snapshot.requests == 20)
        #expect(snapshot.hitRate == 4.0 / 16.0)
        #expect(snapshot.blockRate["prompt"] == 0.1)
        #expect(snapshot.blockRate["output"] == 0)
        #expect(snapshot.refusalRate.total == 0.1)
        #expect(snapshot.refusalRate.byKind["model"] == 0.05)
        #expect(snapshot.failureRate.total == 0.1)
        #expect(snapshot.failureRate.byKind["timeout"] == 0.1)
        #expect(snapshot.topBlockingRules == [.init(rule: "pii-cn/cn-id", count: 2)])
        #expect(snapshot.latencyMilliseconds["p50"] == LatencyBuckets.bounds[30])
    }

    @Test func ledgerRecordsParseAndRejectIncompleteEntries() {
        let record = FleetStats.ledgerRecord(
            id: "1-0",
            ["t": "1700000000000", "id": "r1", "route": "chat", "outcome": "blocked_prompt:secrets/aws", "kind": "blocked",
             "status": "400", "ms": "1.5", "rules": "secrets/aws,pii-common/email"])
        #expect(record?.rules == ["secrets/aws", "pii-common/email"])
        #expect(record?.status == 400 && record?.durationMilliseconds == 1.5)
        #expect(FleetStats.ledgerRecord(id: "2-0", ["id": "r2"]) == nil)
    }
}

@Suite struct LedgerRecordBoundTests {
    @Test func everyFieldOfARecordIsBounded() {
        let summary = RequestSummary(
            unixMilliseconds: 0, requestID: String(repeating: "r", count: 1000), model: String(repeating: "模", count: 100),
            route: "chat", outcome: .ok, rules: (0..<500).map { "rule-\($0)" }, status: 200, durationMilliseconds: 1)
        #expect(summary.requestID.utf8.count == RequestSummary.maxFieldBytes)
        #expect(summary.model!.utf8.count <= RequestSummary.maxFieldBytes)
        #expect(summary.model!.allSatisfy { $0 == "模" }, "cut between characters, never inside one")
        #expect(summary.rules.count == RequestSummary.maxRules && summary.rules.first == "rule-0")
    }
}
