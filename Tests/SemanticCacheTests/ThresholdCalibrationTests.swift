import SemanticCache
import Testing

@Suite("threshold calibration")
struct ThresholdCalibrationTests {
    @Test("pair-by-pair and crowded curves, and the lowest threshold meeting both bounds")
    func curvesAndLowest() throws {
        let vectors: [String: [Float]] = [
            "a1": [1, 0], "b1": [0.95, (1 - 0.95 * 0.95).squareRoot()],
            "a2": [0, 1], "b2": [(1 - 0.85 * 0.85).squareRoot(), 0.85],
            "a3": [-0.6, -0.8],
        ]
        let pairs = [
            ThresholdCalibration.Pair(a: "a1", b: "b1", same: true),
            ThresholdCalibration.Pair(a: "a2", b: "b2", same: false),
            // Identical texts: an exact hit whatever the threshold, and a right one.
            ThresholdCalibration.Pair(a: "a3", b: "a3", same: true),
        ]
        let curve = ThresholdCalibration.curve(
            pairs, vector: { vectors[$0] ?? [] }, gate: LexicalGate(isEnabled: false), candidates: 4)
        #expect(curve.count == ThresholdCalibration.thresholds.count)

        let low = try #require(curve.first { $0.threshold == 0.8 })
        #expect(low.same == 2 && low.different == 1)
        #expect(low.hitsSame == 2 && low.hitsDifferent == 1)
        #expect(low.lookups == 3 && low.served == 3 && low.wrong == 1 && low.rightOnSame == 2)

        let high = try #require(curve.first { $0.threshold == 0.9 })
        #expect(high.hitsSame == 2 && high.hitsDifferent == 0)
        #expect(high.served == 2 && high.wrong == 0)
        #expect(high.crowdedRecall == 1)

        let beyond = try #require(curve.first { $0.threshold == 0.96 })
        #expect(beyond.hitsSame == 1, "only the identical pair is left")

        let lowest = try #require(ThresholdCalibration.lowest([curve], maxFalseHit: 0.01, maxCrowded: 0.01))
        #expect(lowest > 0.849 && lowest < 0.852)
        // A bound nothing meets: none.
        #expect(ThresholdCalibration.lowest([curve], maxFalseHit: -1, maxCrowded: 0.01) == nil)
    }
}
