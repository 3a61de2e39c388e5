/// Turns texts into unit-length vectors; cosine similarity is then a dot product.
public protocol Embedder: Sendable {
    /// The length of every vector this embedder returns.
    var dimensions: Int { get }

    /// One vector per text, in the order of `texts`.
    func embed(_ texts: [String]) async throws -> [[Float]]
}

extension Embedder {
    /// The vector of a single text.
    public func embed(_ text: String) async throws -> [Float] {
        try await embed([text])[0]
    }
}

/// Cosine similarity of two vectors (for unit vectors, their dot product).
public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "vectors of different lengths")
    var dot: Float = 0
    var normA: Float = 0
    var normB: Float = 0
    for i in a.indices {
        dot += a[i] * b[i]
        normA += a[i] * a[i]
        normB += b[i] * b[i]
    }
    let denominator = (normA * normB).squareRoot()
    return denominator > 0 ? dot / denominator : 0
}
