import CQuantKernels
import Testing

/// The 4-bit × f32 product against a double-precision product over the same weights, on every kernel this CPU can
/// run (portable, AVX2, AVX2 with AVX-512VL registers), for row and output counts around the kernel's tile edges.
@Suite("4-bit product kernel")
struct Q4KernelTests {
    struct Matrix {
        var nibbles: [UInt8]
        var scales: [Float]
        var outputs: Int
        var inputs: Int

        /// Weight (o, k): block k/32, byte k%16 of it, low nibble for k%32 < 16.
        func weight(_ o: Int, _ k: Int) -> Double {
            let block = k / 32
            let byte = nibbles[o * inputs / 2 + block * 16 + k % 16]
            let nibble = k % 32 < 16 ? Int(byte & 0x0F) : Int(byte >> 4)
            return Double(Float(nibble - 8) * scales[o * inputs / 32 + block])
        }
    }

    /// A deterministic generator, so a failure reproduces.
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
    }

    func matrix(outputs: Int, inputs: Int, random: inout SplitMix) -> Matrix {
        Matrix(
            nibbles: (0..<outputs * inputs / 2).map { _ in UInt8(truncatingIfNeeded: random.next()) },
            scales: (0..<outputs * inputs / 32).map { _ in random.unit() * 0.05 },
            outputs: outputs, inputs: inputs)
    }

    @Test(
        "products equal a double-precision reference",
        arguments: [(1, 4, 32), (2, 6, 64), (3, 7, 384), (5, 384, 384), (16, 1152, 384), (47, 9, 1536), (50, 384, 1536)])
    func matchesReference(rows: Int, outputs: Int, inputs: Int) {
        var random = SplitMix(state: UInt64(rows * 1_000_003 + outputs * 1_009 + inputs))
        let m = matrix(outputs: outputs, inputs: inputs, random: &random)
        let input = (0..<rows * inputs).map { _ in random.unit() }
        let initial = (0..<rows * outputs).map { _ in random.unit() }
        for accumulate in [false, true] {
            var reference = [Double](repeating: 0, count: rows * outputs)
            for r in 0..<rows {
                for o in 0..<outputs {
                    var sum = accumulate ? Double(initial[r * outputs + o]) : 0
                    for k in 0..<inputs { sum += Double(input[r * inputs + k]) * m.weight(o, k) }
                    reference[r * outputs + o] = sum
                }
            }
            // Level -1: whichever kernel this CPU gets by default; 0, 1, 2: each kernel this CPU can run.
            for level in -1...2 {
                var output = initial
                if level < 0 {
                    airlock_q4_linear(
                        m.nibbles, m.scales, Int32(outputs), Int32(inputs), input, Int32(rows), &output,
                        accumulate ? 1 : 0)
                } else {
                    let ran = airlock_q4_linear_at_level(
                        Int32(level), m.nibbles, m.scales, Int32(outputs), Int32(inputs), input, Int32(rows),
                        &output, accumulate ? 1 : 0)
                    if level == 0 { #expect(ran == 1, "the portable kernel runs everywhere") }
                    if ran == 0 { continue }
                }
                let worst = zip(output, reference).map { abs(Double($0) - $1) }.max() ?? 0
                #expect(
                    worst < 1e-4,
                    "rows \(rows), outputs \(outputs), inputs \(inputs), accumulate \(accumulate), level \(level): off by \(worst)")
            }
        }
    }

    @Test("dequantized rows hold (nibble − 8) · scale")
    func dequantizesRows() {
        var random = SplitMix(state: 7)
        let m = matrix(outputs: 3, inputs: 64, random: &random)
        var out = [Float](repeating: .nan, count: 3 * 64)
        airlock_q4_dequantize_rows(m.nibbles, m.scales, 3, 64, &out)
        for o in 0..<3 {
            for k in 0..<64 { #expect(Double(out[o * 64 + k]) == m.weight(o, k), "(\(o), \(k))") }
        }
    }
}
