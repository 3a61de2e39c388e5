import CQuantKernels
import COpenBLAS

/// A dense layer's weight matrix, [outputs, inputs] as stored: f32 for models shipped in f32 (all-MiniLM-L6-v2),
/// or kept in its 4-bit blocks for models shipped quantized (multilingual-e5-small), where products run through
/// `CQuantKernels` without ever holding the f32 matrix (13 MB for E5's twelve layers instead of 85 MB, small
/// enough to stay in the last-level cache between texts).
enum LinearWeight: Sendable {
    case float(FloatTensor)
    case q4(Q4Matrix)

    /// out[rows, outputs] (+)= input[rows, inputs] · weightᵀ. `panel` is room for
    /// `Q4Matrix.panelOutputs × inputs` floats (the encoder scratch's), used by 4-bit matrices on many rows.
    @inline(__always)
    func apply(
        _ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, rows: Int, inputs: Int,
        accumulate: Bool, panel: UnsafeMutablePointer<Float>
    ) {
        switch self {
        case .float(let tensor):
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(tensor.shape[0]), Int32(inputs), 1,
                input, Int32(inputs), tensor.pointer, Int32(inputs), accumulate ? 1 : 0, output,
                Int32(tensor.shape[0]))
        case .q4(let matrix):
            precondition(matrix.inputs == inputs, "4-bit matrix has \(matrix.inputs) inputs, not \(inputs)")
            if rows < Q4Matrix.panelMinimumRows {
                airlock_q4_linear(
                    matrix.nibbles, matrix.scales, Int32(matrix.outputs), Int32(inputs), input, Int32(rows), output,
                    accumulate ? 1 : 0)
                return
            }
            // Many rows (a batch, a long text): the product is compute bound, and sgemm's blocking beats the
            // 4-bit kernel there. Dequantize a panel of outputs at a time into scratch and multiply by it.
            var first = 0
            while first < matrix.outputs {
                let count = min(Q4Matrix.panelOutputs, matrix.outputs - first)
                airlock_q4_dequantize_rows(
                    matrix.nibbles + first * inputs / 2, matrix.scales + first * inputs / 32, Int32(count),
                    Int32(inputs), panel)
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(count), Int32(inputs), 1, input,
                    Int32(inputs), panel, Int32(inputs), accumulate ? 1 : 0, output + first, Int32(matrix.outputs))
                first += count
            }
        }
    }

    /// Rows of one width stacked into one matrix, first to last (Q, K and V). All parts of one kind.
    static func stacked(_ parts: [LinearWeight]) -> LinearWeight {
        var floats: [FloatTensor] = []
        var quantized: [Q4Matrix] = []
        for part in parts {
            switch part {
            case .float(let tensor): floats.append(tensor)
            case .q4(let matrix): quantized.append(matrix)
            }
        }
        precondition(floats.isEmpty || quantized.isEmpty, "stacking f32 and 4-bit matrices")
        return floats.isEmpty ? .q4(Q4Matrix.stacked(quantized)) : .float(BertWeights.stacked(floats))
    }
}

/// A Q4_0 matrix repacked for the kernel: the nibbles of each row contiguous (inputs/2 bytes), the f16 block
/// scales widened to f32 (inputs/32 per row). Values are exactly the file's: (nibble − 8) · scale.
final class Q4Matrix: @unchecked Sendable {
    // Sendable invariant: both buffers are written only inside init and never after.

    /// Outputs dequantized at a time when a product runs through sgemm (`panelMinimumRows` rows or more).
    static let panelOutputs = 128
    /// From this many rows on, dequantized panels and sgemm; below, the 4-bit kernel (measured with
    /// `make bench-embed` on a 2-core EPYC: 16 tokens 9.1 ms with the kernel, 14.1 ms through sgemm; batches of
    /// 16-token texts 230 texts/s through sgemm, 190 with the kernel; at 128 tokens the two are even).
    static let panelMinimumRows = 48
    let outputs: Int
    let inputs: Int
    let nibbles: UnsafeMutablePointer<UInt8>
    let scales: UnsafeMutablePointer<Float>

    private init(outputs: Int, inputs: Int) {
        precondition(inputs > 0 && inputs % 32 == 0 && outputs > 0, "a 4-bit matrix needs whole blocks of 32")
        self.outputs = outputs
        self.inputs = inputs
        nibbles = .allocate(capacity: outputs * inputs / 2)
        scales = .allocate(capacity: outputs * inputs / 32)
    }

    /// From Q4_0 blocks as the file stores them: per block an f16 scale, then 16 bytes of nibbles.
    convenience init(blocks bytes: UnsafeRawBufferPointer, outputs: Int, inputs: Int) {
        self.init(outputs: outputs, inputs: inputs)
        let count = outputs * inputs / 32
        precondition(bytes.count >= count * E5ModelFile.q4BlockBytes, "too few bytes for the 4-bit matrix")
        for block in 0..<count {
            let base = block * E5ModelFile.q4BlockBytes
            scales[block] = Float(
                Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: base, as: UInt16.self))))
            for j in 0..<16 { nibbles[block * 16 + j] = bytes[base + 2 + j] }
        }
    }

    static func stacked(_ parts: [Q4Matrix]) -> Q4Matrix {
        let inputs = parts[0].inputs
        precondition(parts.allSatisfy { $0.inputs == inputs }, "stacking 4-bit matrices of different widths")
        let result = Q4Matrix(outputs: parts.reduce(0) { $0 + $1.outputs }, inputs: inputs)
        var row = 0
        for part in parts {
            (result.nibbles + row * inputs / 2).update(from: part.nibbles, count: part.outputs * inputs / 2)
            (result.scales + row * inputs / 32).update(from: part.scales, count: part.outputs * inputs / 32)
            row += part.outputs
        }
        return result
    }

    deinit {
        nibbles.deallocate()
        scales.deallocate()
    }
}
