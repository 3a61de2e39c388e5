import Foundation

/// One tensor saved by PaddlePaddle's `save_persistables` (the LoD tensor format): a version, the level-of-detail
/// table (unused by the parameters read here), a `TensorDesc` protobuf (data type, dims), then the raw little-endian
/// values. Only float32 tensors are read.
struct PaddleTensor {
    var dims: [Int]
    var values: [Float]

    enum Failure: Error, CustomStringConvertible {
        case malformed(String, String)
        var description: String {
            switch self {
            case .malformed(let path, let why): "\(path): not a Paddle float32 tensor (\(why))"
            }
        }
    }

    static func load(path: String) throws -> PaddleTensor {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> PaddleTensor in
            var offset = 0
            func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
                guard offset + MemoryLayout<T>.size <= raw.count else { throw Failure.malformed(path, "truncated") }
                let value = raw.loadUnaligned(fromByteOffset: offset, as: T.self)
                offset += MemoryLayout<T>.size
                return T(littleEndian: value)
            }
            _ = try read(UInt32.self)  // LoD tensor version
            let levels = try read(UInt64.self)
            guard levels < 16 else { throw Failure.malformed(path, "\(levels) LoD levels") }
            for _ in 0..<levels {
                let size = try read(UInt64.self)
                guard size <= UInt64(raw.count - offset) else { throw Failure.malformed(path, "truncated LoD") }
                offset += Int(size)
            }
            _ = try read(UInt32.self)  // tensor version
            let descriptionSize = Int(try read(Int32.self))
            guard descriptionSize >= 0, offset + descriptionSize <= raw.count else {
                throw Failure.malformed(path, "bad description size")
            }
            // TensorDesc: 1 = data_type (varint; 5 is FP32), 2 = dims (int64, packed or not).
            var position = offset
            let end = offset + descriptionSize
            func varint() throws -> UInt64 {
                var result: UInt64 = 0
                var shift: UInt64 = 0
                while position < end {
                    let byte = raw[position]
                    position += 1
                    result |= UInt64(byte & 0x7f) << shift
                    if byte < 0x80 { return result }
                    shift += 7
                    guard shift < 64 else { break }
                }
                throw Failure.malformed(path, "bad varint")
            }
            var dataType: UInt64 = 0
            var dims: [Int] = []
            while position < end {
                let key = try varint()
                switch (key >> 3, key & 7) {
                case (1, 0): dataType = try varint()
                case (2, 0): dims.append(Int(Int64(bitPattern: try varint())))
                case (2, 2):
                    let length = Int(try varint())
                    let stop = position + length
                    guard stop <= end else { throw Failure.malformed(path, "bad dims") }
                    while position < stop { dims.append(Int(Int64(bitPattern: try varint()))) }
                default: throw Failure.malformed(path, "unexpected field \(key >> 3)")
                }
            }
            offset = end
            guard dataType == 5 else { throw Failure.malformed(path, "data type \(dataType), not float32") }
            let count = dims.reduce(1, *)
            guard !dims.isEmpty, dims.allSatisfy({ $0 > 0 }), count * 4 == raw.count - offset else {
                throw Failure.malformed(path, "dims \(dims) do not match \(raw.count - offset) bytes")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { destination in
                destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count * 4)]))
            }
            return PaddleTensor(dims: dims, values: values)
        }
    }
}
