import CRecurrentKernels
import Testing

/// The GRU kernels against the portable loop: the AVX2 one, and both directions interleaved (AVX-512), on
/// random weights and inputs of LAC's size (hidden 128) over two independent segments.
@Suite struct RecurrentKernelTests {
    struct Generator {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
        }
    }

    @Test func everyKernelComputesThePortableLoopsStates() throws {
        let hidden = 128
        let rows = 37
        var random = Generator(state: 7)
        let projected = (0..<2).map { _ in (0..<(rows * 3 * hidden)).map { _ in random.next() * 2 } }
        let gates = (0..<2).map { _ in (0..<(hidden * 2 * hidden)).map { _ in random.next() * 0.2 } }
        let candidate = (0..<2).map { _ in (0..<(hidden * hidden)).map { _ in random.next() * 0.2 } }
        let segments: [Range<Int>] = [0..<20, 20..<37]
        func run(level: Int32) -> [Float]? {
            var states = [Float](repeating: 0, count: rows * 2 * hidden)
            for segment in segments {
                for direction in 0..<2 {
                    let done = airlock_gru_at_level(
                        level, projected[direction], Int32(segment.lowerBound), Int32(segment.upperBound),
                        Int32(direction), Int32(hidden), gates[direction], candidate[direction], &states,
                        Int32(2 * hidden), Int32(direction * hidden))
                    if done == 0 { return nil }
                }
            }
            return states
        }
        let reference = try #require(run(level: 0))
        #expect(reference.contains { abs($0) > 0.1 })
        var compared = 0
        for level: Int32 in [1] {
            guard let states = run(level: level) else { continue }
            compared += 1
            let worst = zip(states, reference).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-4, "level \(level): worst difference \(worst)")
        }
        var interleaved = [Float](repeating: 0, count: rows * 2 * hidden)
        var both = true
        for segment in segments {
            both = both
                && airlock_bigru(
                    projected[0], projected[1], Int32(segment.lowerBound), Int32(segment.upperBound), Int32(hidden),
                    gates[0], candidate[0], gates[1], candidate[1], &interleaved) == 1
        }
        if both {
            compared += 1
            let worst = zip(interleaved, reference).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-4, "interleaved: worst difference \(worst)")
        }
        // Airlock's x86-64 hosts have AVX2 at least (this test fails where no fast kernel could be compared).
        #expect(compared >= 1)
    }
}
