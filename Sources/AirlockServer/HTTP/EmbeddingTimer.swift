public import Embeddings
import Prometheus
import Synchronization

/// Times every embedding call for `airlock_embedding_duration_seconds`. Made before the server (the embedder is made
/// first); the server attaches its histogram when it starts.
public final class EmbeddingTimer: Sendable {
    private let histogram = Mutex<DurationHistogram?>(nil)

    public init() {}

    func attach(_ histogram: DurationHistogram) { self.histogram.withLock { $0 = histogram } }

    func record(_ duration: Duration) {
        histogram.withLock { $0 }?.recordNanoseconds(duration.nanoseconds)
    }

    /// `embedder`, timed.
    public func timing(_ embedder: any Embedder) -> any Embedder { TimedEmbedder(base: embedder, timer: self) }
}

/// An embedder that reports how long each call took.
struct TimedEmbedder: Embedder {
    let base: any Embedder
    let timer: EmbeddingTimer

    var dimensions: Int { base.dimensions }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        let started = ContinuousClock.now
        defer { timer.record(ContinuousClock.now - started) }
        return try await base.embed(texts)
    }
}
