import AirlockTestSupport
import Outcomes
import Prometheus
import Testing

@testable import AirlockServer

/// Each request is recorded exactly once, whichever way it ends.
@Suite struct RequestScopeTests {
    static func requests(_ metrics: AirlockMetrics, outcome: String) -> String? {
        let text = String(decoding: metrics.render(), as: UTF8.self)
        return text.split(separator: "\n").first {
            $0.hasPrefix("airlock_requests_total{") && $0.contains(#"outcome="\#(outcome)""#) && $0.contains(#"route="chat""#)
        }.map(String.init)
    }

    @Test func aSecondFinishRecordsNothing() {
        let metrics = AirlockMetrics(registry: PrometheusCollectorRegistry(), targets: ["primary"], fleet: nil)
        let scope = RequestScope(logger: quietLogger, metrics: metrics)
        var record = RequestRecord(requestID: "r1", route: "chat")
        record.outcome = .ok
        #expect(scope.finish(record))
        record.outcome = .failureStreamCut
        #expect(!scope.finish(record))
        #expect(Self.requests(metrics, outcome: "ok")?.hasSuffix(" 1") == true)
        #expect(Self.requests(metrics, outcome: "failure_stream_cut")?.hasSuffix(" 1") != true)
    }

    @Test func aHeldRecordNobodyFinishedIsRecordedAsACutStream() {
        let metrics = AirlockMetrics(registry: PrometheusCollectorRegistry(), targets: ["primary"], fleet: nil)
        do {
            let scope = RequestScope(logger: quietLogger, metrics: metrics)
            var record = RequestRecord(requestID: "r2", route: "chat")
            record.status = 200
            scope.hold(record)
        }
        #expect(Self.requests(metrics, outcome: "failure_stream_cut")?.hasSuffix(" 1") == true)
        // A scope that finished records nothing more when it goes.
        do {
            let scope = RequestScope(logger: quietLogger, metrics: metrics)
            var record = RequestRecord(requestID: "r3", route: "chat")
            scope.hold(record)
            record.outcome = .ok
            scope.finish(record)
        }
        #expect(Self.requests(metrics, outcome: "failure_stream_cut")?.hasSuffix(" 1") == true)
        #expect(Self.requests(metrics, outcome: "ok")?.hasSuffix(" 1") == true)
    }
}
