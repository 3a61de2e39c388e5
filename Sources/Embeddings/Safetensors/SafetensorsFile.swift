import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A read-only, memory-mapped safetensors file.
///
/// The layout is an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and
/// byte range, then the tensor data. Tensors are views into the mapping; F32 data is used in place.
public final class SafetensorsFile: @unchecked Sendable {
    // Sendable invariant: the mapping is read-only (PROT_READ) and never changes after init; it is unmapped
    // only in deinit, when no view can outlive it (views hold a strong reference to this object).

    public enum DataType: String, Sendable {
        case f32 = "F32"
        case f16 = "F16"
        case bf16 = "BF16"
        case i64 = "I64"
        case i32 = "I32"

        var byteSize: Int {
            switch self {
            case .f32, .i32: 4
            case .f16, .bf16: 2
            case .i64: 8
            }
        }
    }

    public struct TensorInfo: Sendable, Equatable {
        public var dataType: DataType
        public var shape: [Int]
        /// Byte range relative to the start of the data section.
        public var byteRange: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    private let base: UnsafeRawPointer
    private let mappedLength: Int
    private let dataOffset: Int

    public init(path: String) throws(EmbeddingError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw EmbeddingError(.ioFailure, "cannot open \(path)", nativeCode: Int(errno))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw EmbeddingError(.ioFailure, "cannot stat \(path)", nativeCode: Int(errno))
        }
        let length = Int(info.st_size)
        guard length >= 8 else {
            throw EmbeddingError(.invalidModelFile, "\(path) is \(length) bytes, too short for a safetensors file")
        }
        guard let mapping = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else {
            throw EmbeddingError(.ioFailure, "cannot mmap \(path)", nativeCode: Int(errno))
        }
        let base = UnsafeRawPointer(mapping)
        do throws(EmbeddingError) {
            let headerLength = Int(UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)))
            guard headerLength > 0, headerLength <= length - 8 else {
                throw EmbeddingError(
                    .invalidModelFile, "\(path): header length \(headerLength) exceeds the file (\(length) bytes)")
            }
            let header = Data(bytes: base + 8, count: headerLength)
            (self.tensors, self.metadata) = try Self.parseHeader(
                header, dataLength: length - 8 - headerLength, path: path)
            self.dataOffset = 8 + headerLength
        } catch {
            munmap(mapping, length)
            throw error
        }
        self.base = base
        self.mappedLength = length
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
    }

    /// The raw bytes of a tensor; valid while this file object is alive.
    public func rawBytes(of name: String) throws(EmbeddingError) -> UnsafeRawBufferPointer {
        guard let info = tensors[name] else {
            throw EmbeddingError(.tensorMissing, "\(path) has no tensor \(name)")
        }
        return UnsafeRawBufferPointer(start: base + dataOffset + info.byteRange.lowerBound, count: info.byteRange.count)
    }

    /// A tensor as 32-bit floats: the mapped bytes themselves when the tensor is aligned F32, otherwise a
    /// converted copy (F16, BF16, or unaligned F32).
    public func floatTensor(_ name: String, shape expected: [Int]? = nil) throws(EmbeddingError) -> FloatTensor {
        guard let info = tensors[name] else {
            throw EmbeddingError(.tensorMissing, "\(path) has no tensor \(name)")
        }
        if let expected, expected != info.shape {
            throw EmbeddingError(
                .tensorShapeMismatch, "\(name) has shape \(info.shape), expected \(expected)")
        }
        let bytes = try rawBytes(of: name)
        let count = info.elementCount
        switch info.dataType {
        case .f32:
            if Int(bitPattern: bytes.baseAddress) % MemoryLayout<Float>.alignment == 0 {
                let pointer = bytes.baseAddress!.assumingMemoryBound(to: Float.self)
                return FloatTensor(shape: info.shape, borrowing: pointer, owner: self)
            }
            return FloatTensor(shape: info.shape) { out in
                for i in 0..<count {
                    out[i] = Float(
                        bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                }
            }
        case .f16:
            return FloatTensor(shape: info.shape) { out in
                for i in 0..<count {
                    let bits = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                    out[i] = Self.floatFromHalf(bits)
                }
            }
        case .bf16:
            return FloatTensor(shape: info.shape) { out in
                for i in 0..<count {
                    let bits = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                    out[i] = Float(bitPattern: UInt32(bits) << 16)
                }
            }
        case .i32, .i64:
            throw EmbeddingError(
                .unsupportedDataType, "\(name) is \(info.dataType.rawValue), expected F32, F16 or BF16")
        }
    }

    /// IEEE 754 half to single precision, without relying on the platform's Float16.
    static func floatFromHalf(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits) & 0x3FF
        if exponent == 0 {
            // Zero or subnormal: mantissa * 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    private static func parseHeader(
        _ header: Data, dataLength: Int, path: String
    ) throws(EmbeddingError) -> ([String: TensorInfo], [String: String]) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: header)
        } catch {
            throw EmbeddingError(.invalidModelFile, "\(path): header is not JSON (\(error))")
        }
        guard let entries = object as? [String: Any] else {
            throw EmbeddingError(.invalidModelFile, "\(path): header is not a JSON object")
        }
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in entries {
            if name == "__metadata__" {
                for (key, item) in value as? [String: Any] ?? [:] { metadata[key] = item as? String }
                continue
            }
            guard let entry = value as? [String: Any],
                let dtypeName = entry["dtype"] as? String,
                let shape = (entry["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                let offsets = (entry["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                offsets.count == 2
            else {
                throw EmbeddingError(.invalidModelFile, "\(path): tensor \(name) lacks dtype, shape or data_offsets")
            }
            guard let dataType = DataType(rawValue: dtypeName) else {
                throw EmbeddingError(.unsupportedDataType, "\(path): tensor \(name) has dtype \(dtypeName)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard shape.allSatisfy({ $0 >= 0 }), begin >= 0, begin <= end, end <= dataLength else {
                throw EmbeddingError(
                    .invalidModelFile, "\(path): tensor \(name) has byte range \(begin)..<\(end) outside \(dataLength)")
            }
            let info = TensorInfo(dataType: dataType, shape: shape, byteRange: begin..<end)
            guard info.elementCount * dataType.byteSize == end - begin else {
                throw EmbeddingError(
                    .invalidModelFile, "\(path): tensor \(name) of shape \(shape) does not fill \(end - begin) bytes")
            }
            tensors[name] = info
        }
        return (tensors, metadata)
    }
}

/// An immutable tensor of 32-bit floats, either borrowed from a mapped file or owned.
public final class FloatTensor: @unchecked Sendable {
    // Sendable invariant: the elements are written only inside init and never after; `owner` keeps a
    // borrowed mapping alive for as long as this tensor exists.

    public let shape: [Int]
    public let pointer: UnsafePointer<Float>
    public let count: Int
    private let owner: AnyObject?
    private let ownsMemory: Bool

    init(shape: [Int], borrowing pointer: UnsafePointer<Float>, owner: AnyObject) {
        self.shape = shape
        self.pointer = pointer
        self.count = shape.reduce(1, *)
        self.owner = owner
        self.ownsMemory = false
    }

    /// Allocates and fills an owned tensor (64-byte aligned for the SIMD kernels).
    init(shape: [Int], fill: (UnsafeMutablePointer<Float>) -> Void) {
        let count = shape.reduce(1, *)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        let memory = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        fill(memory)
        self.shape = shape
        self.pointer = UnsafePointer(memory)
        self.count = count
        self.owner = nil
        self.ownsMemory = true
    }

    deinit {
        if ownsMemory { UnsafeMutableRawPointer(mutating: pointer).deallocate() }
    }

    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
    public var array: [Float] { Array(buffer) }
}
