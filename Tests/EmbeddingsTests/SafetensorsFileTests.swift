import AirlockTestSupport
import Embeddings
import Foundation
import Testing

@Suite("safetensors")
struct SafetensorsFileTests {
    /// Writes a safetensors file from a JSON header and raw data.
    private func writeFile(header: String, data: [UInt8]) throws -> String {
        var headerBytes = Array(header.utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        var bytes = withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { Array($0) }
        bytes += headerBytes + data
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("airlock-\(UUID().uuidString).safetensors").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("reads F32 in place and converts F16 and BF16")
    func readsFloatTypes() throws {
        let f32: [Float] = [1.5, -2.25, 0, 3.0e-5]
        let f16Bits: [UInt16] = [0x3C00, 0xC000, 0x3555, 0x0001, 0x7BFF, 0x8000]  // 1, -2, 0.33325, 2^-24, 65504, -0
        let bf16Bits: [UInt16] = [0x3F80, 0xC040]  // 1, -3
        var data: [UInt8] = []
        for value in f32 { withUnsafeBytes(of: value.bitPattern.littleEndian) { data += $0 } }
        for bits in f16Bits { withUnsafeBytes(of: bits.littleEndian) { data += $0 } }
        for bits in bf16Bits { withUnsafeBytes(of: bits.littleEndian) { data += $0 } }
        let header = """
            {"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},\
            "h":{"dtype":"F16","shape":[6],"data_offsets":[16,28]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[28,32]}}
            """
        let path = try writeFile(header: header, data: data)
        defer { try? FileManager.default.removeItem(atPath: path) }

        let file = try SafetensorsFile(path: path)
        #expect(file.metadata["format"] == "pt")
        #expect(file.tensors["a"]?.shape == [2, 2])
        #expect(try file.floatTensor("a", shape: [2, 2]).array == f32)
        let half = try file.floatTensor("h").array
        #expect(half[0] == 1)
        #expect(half[1] == -2)
        #expect(abs(half[2] - 0.333_251_95) < 1e-7)
        #expect(half[3] == 0x1p-24)
        #expect(half[4] == 65504)
        #expect(half[5] == 0 && half[5].sign == .minus)
        #expect(try file.floatTensor("b").array == [1, -3])
        #expect(throws: EmbeddingError.self) { try file.floatTensor("a", shape: [4]) }
        #expect(throws: EmbeddingError.self) { try file.floatTensor("missing") }
    }

    @Test("rejects truncated files and out-of-range offsets")
    func rejectsMalformedFiles() throws {
        let bad = try writeFile(
            header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: [0, 0, 0, 0])
        defer { try? FileManager.default.removeItem(atPath: bad) }
        #expect(throws: EmbeddingError.self) { try SafetensorsFile(path: bad) }

        let wrongSize = try writeFile(
            header: #"{"a":{"dtype":"F16","shape":[3],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        defer { try? FileManager.default.removeItem(atPath: wrongSize) }
        #expect(throws: EmbeddingError.self) { try SafetensorsFile(path: wrongSize) }

        #expect(throws: EmbeddingError.self) { try SafetensorsFile(path: "/nonexistent.safetensors") }
    }

    @Test("the model file: every tensor of the encoder is present with its shape")
    func readsModelFile() throws {
        _ = try SharedModel.load()
        let file = try SafetensorsFile(path: TestPaths.modelDirectory + "/model.safetensors")
        #expect(file.tensors["embeddings.word_embeddings.weight"]?.shape == [30522, 384])
        #expect(file.tensors["encoder.layer.5.output.dense.weight"]?.shape == [384, 1536])
        #expect(file.tensors["embeddings.word_embeddings.weight"]?.dataType == .f32)
    }
}
