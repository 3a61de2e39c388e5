/// Element-wise kernels of the encoder, 16 lanes at a time. Row lengths (hidden 384, intermediate 1536) are
/// multiples of 16; attention rows (sequence lengths) are not, so softmax handles a tail.
enum VectorKernels {
    typealias Vector = SIMD16<Float>
    static let width = 16

    @inline(__always)
    static func load(_ pointer: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(pointer).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    static func store(_ value: Vector, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Vector.self)
    }

    /// Copies `bias` into each of `rows` rows of `destination`.
    static func broadcastRows(
        _ destination: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, columns: Int
    ) {
        for row in 0..<rows {
            (destination + row * columns).update(from: bias, count: columns)
        }
    }

    /// destination[r] = source[r] + bias, row by row.
    static func addBias(
        _ destination: UnsafeMutablePointer<Float>, source: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        rows: Int, columns: Int
    ) {
        for row in 0..<rows {
            let out = destination + row * columns
            let input = source + row * columns
            var column = 0
            while column < columns {
                store(load(input + column) + load(bias + column), out + column)
                column += width
            }
        }
    }

    /// In-place LayerNorm over each row.
    static func layerNorm(
        _ data: UnsafeMutablePointer<Float>, rows: Int, columns: Int, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, epsilon: Float
    ) {
        let scale = 1 / Float(columns)
        for row in 0..<rows {
            let x = data + row * columns
            var sum = Vector.zero
            var column = 0
            while column < columns {
                sum += load(x + column)
                column += width
            }
            let mean = sum.sum() * scale
            var squares = Vector.zero
            column = 0
            while column < columns {
                let centered = load(x + column) - mean
                squares += centered * centered
                column += width
            }
            let inverse = 1 / (squares.sum() * scale + epsilon).squareRoot()
            column = 0
            while column < columns {
                let normalized = (load(x + column) - mean) * inverse
                store(normalized * load(weight + column) + load(bias + column), x + column)
                column += width
            }
        }
    }

    /// In place: x = gelu(x + bias) with the exact (erf) GELU.
    static func geluAddingBias(_ data: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, columns: Int)
    {
        let half = Vector(repeating: 0.5)
        let inverseRootTwo = Vector(repeating: 0.70710678118654752)
        for row in 0..<rows {
            let x = data + row * columns
            var column = 0
            while column < columns {
                let value = load(x + column) + load(bias + column)
                store(half * value * (1 + erf(value * inverseRootTwo)), x + column)
                column += width
            }
        }
    }

    typealias Bits = SIMD16<Int32>

    /// Lane-wise `mask ? a : b` through bit operations, which compile to vector instructions (the generic
    /// `pointwiseMin`, `clamped` and `replacing` go lane by lane).
    @inline(__always)
    static func select(_ mask: SIMDMask<Bits>, _ a: Vector, _ b: Vector) -> Vector {
        let m = unsafeBitCast(mask, to: Bits.self)
        let result = (unsafeBitCast(a, to: Bits.self) & m) | (unsafeBitCast(b, to: Bits.self) & ~m)
        return unsafeBitCast(result, to: Vector.self)
    }

    @inline(__always)
    static func clamp(_ x: Vector, _ low: Float, _ high: Float) -> Vector {
        let lowVector = Vector(repeating: low)
        let highVector = Vector(repeating: high)
        return select(x .> highVector, highVector, select(x .< lowVector, lowVector, x))
    }

    @inline(__always)
    static func maximum(_ a: Vector, _ b: Vector) -> Vector { select(a .> b, a, b) }

    /// erf as a rational approximation on [-4, 4] (outside, erf is ±1 in single precision); the
    /// coefficients are Eigen's and XLA's, accurate to a few ulp.
    @inline(__always)
    static func erf(_ input: Vector) -> Vector {
        let x = clamp(input, -4, 4)
        let x2 = x * x
        var p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08
        p = x2 * p + -2.10102402082508e-06
        p = x2 * p + -5.69250639462346e-05
        p = x2 * p + -7.34990630326855e-04
        p = x2 * p + -2.95459980854025e-03
        p = x2 * p + -1.60960333262415e-02
        p = x * p
        var q = x2 * -1.45660718464996e-05 + -2.13374055278905e-04
        q = x2 * q + -1.68282697438203e-03
        q = x2 * q + -7.37332916720468e-03
        q = x2 * q + -1.42647390514189e-02
        return p / q
    }

    /// e^x by range reduction to [-ln2/2, ln2/2] and a degree-6 polynomial (Cephes' expf), exact to ~1 ulp.
    @inline(__always)
    static func exp(_ input: Vector) -> Vector {
        // Adding 1.5·2^23 rounds to an integer (round to nearest even) and leaves it in the low mantissa bits.
        let magic = Vector(repeating: 12_582_912)
        let x = clamp(input, -87.3, 88.3)
        let shifted = x * 1.44269504088896341 + magic
        let n = shifted - magic
        let r = x - n * 0.693359375 - n * -2.12194440e-4
        var p = r * 1.9875691500e-4 + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let result = p * r * r + r + 1
        // 2^n: the integer n sits in the low bits of `shifted`; move n + 127 into the exponent field.
        let exponent = (unsafeBitCast(shifted, to: Bits.self) &- Bits(repeating: 0x4B40_0000 - 127)) &<< 23
        return result * unsafeBitCast(exponent, to: Vector.self)
    }

    /// In-place softmax of one row.
    static func softmax(_ row: UnsafeMutablePointer<Float>, count: Int) {
        let full = count / width * width
        let tail = count - full
        var tailVector = Vector(repeating: -.infinity)
        for i in 0..<tail { tailVector[i] = row[full + i] }

        var vectorMax = tailVector
        var column = 0
        while column < full {
            vectorMax = maximum(vectorMax, load(row + column))
            column += width
        }
        let rowMax = Vector(repeating: vectorMax.max())

        var vectorSum = Vector.zero
        column = 0
        while column < full {
            let e = exp(load(row + column) - rowMax)
            store(e, row + column)
            vectorSum += e
            column += width
        }
        var tailExp = Vector.zero
        if tail > 0 {
            // Padding lanes are -inf: mask them to exactly zero rather than exp's clamped minimum.
            tailExp = select(tailVector .> Vector(repeating: -.infinity), exp(tailVector - rowMax), .zero)
            vectorSum += tailExp
        }
        let inverse = 1 / vectorSum.sum()
        column = 0
        while column < full {
            store(load(row + column) * inverse, row + column)
            column += width
        }
        for i in 0..<tail { row[full + i] = tailExp[i] * inverse }
    }
}
