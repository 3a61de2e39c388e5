import Foundation

/// How an entry is laid out in its Redis hash.
///
/// Fields: `v` vector (raw little-endian float32), `t` normalized text, `r` the answer (`CachedCompletion` JSON),
/// `rv` rules version, `c` created (Unix ms), `x` expires (Unix ms), `h` hits, `fv` format version.
enum EntryCodec {
    static let formatVersion = "1"

    static func vectorBytes(_ vector: [Float]) -> [UInt8] {
        vector.withUnsafeBytes { Array($0) }
    }

    static func vector(_ bytes: [UInt8], dimensions: Int) -> [Float]? {
        guard bytes.count == dimensions * MemoryLayout<Float>.size else { return nil }
        let vector = [Float](unsafeUninitializedCapacity: dimensions) { buffer, count in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
            }
            count = dimensions
        }
        return vector.allSatisfy(\.isFinite) ? vector : nil
    }

    static func encode(_ completion: CachedCompletion) -> [UInt8]? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try? Array(encoder.encode(completion))
    }

    static func decode(_ bytes: [UInt8]) -> CachedCompletion? {
        try? JSONDecoder().decode(CachedCompletion.self, from: Data(bytes))
    }

    static func int(_ bytes: [UInt8]?) -> Int64? {
        bytes.flatMap { Int64(String(decoding: $0, as: UTF8.self)) }
    }

    static func text(_ bytes: [UInt8]?) -> String? {
        bytes.map { String(decoding: $0, as: UTF8.self) }
    }
}
