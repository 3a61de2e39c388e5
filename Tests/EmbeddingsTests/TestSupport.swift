import AirlockTestSupport
import Embeddings
import Foundation
import Testing

/// Paths relative to this file, so the tests need no bundled resources.
enum TestPaths {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    }

    static var modelDirectory: String { TestModel.directory }
}

struct MissingModel: Error, CustomStringConvertible {
    let description: String
}

/// The real model, loaded once for the whole test run. A missing model fails the test that needs it:
/// the tests are about the real weights and must not pass without them.
enum SharedModel {
    static let encoder: Result<BertEncoder, any Error> = {
        let directory = TestPaths.modelDirectory
        guard FileManager.default.fileExists(atPath: directory + "/model.safetensors") else {
            return .failure(
                MissingModel(
                    description: "the model is missing at \(directory): run `make models` (scripts/fetch-model.sh)"))
        }
        return Result { try BertEncoder.load(directory: directory) }
    }()

    static func load() throws -> BertEncoder { try encoder.get() }
}

struct TokenizerFixture: Decodable {
    struct Case: Decodable {
        let text: String
        let ids: [Int32]
    }
    let reference: String
    let cases: [Case]
}

struct VectorFixture: Decodable {
    struct Case: Decodable {
        let text: String
        let vector: [Float]
    }
    let reference: String
    let cases: [Case]
}

func decodeFixture<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(contentsOf: TestPaths.fixture(name)))
}
