public import Logging
public import ServiceLifecycle

/// The native all-MiniLM-L6-v2 engine: tokenizes on the caller, encodes on dedicated worker threads. As a `Service`,
/// `run()` owns those threads' end: at graceful shutdown it stops them and waits (without blocking) until they have.
public final class LocalEmbedder: Embedder, Service {
    public struct Configuration: Sendable {
        /// Encoder threads, each with its own scratch. Default: 2 (the machine's cores).
        public var workers: Int
        /// The most tokens one batch holds; a request is cut into batches no larger, and queued requests are
        /// merged up to it.
        public var maxBatchTokens: Int
        /// The most texts one request contributes to a batch, so that a long request spreads over workers.
        public var maxBatchTexts: Int

        public init(workers: Int = 2, maxBatchTokens: Int = 1024, maxBatchTexts: Int = 32) {
            self.workers = workers
            self.maxBatchTokens = maxBatchTokens
            self.maxBatchTexts = maxBatchTexts
        }
    }

    public let encoder: BertEncoder
    public let configuration: Configuration
    public var dimensions: Int { encoder.dimensions }
    private let pool: EncoderWorkerPool
    private let logger: Logger

    public convenience init(
        modelDirectory: String, configuration: Configuration = .init(), logger: Logger
    ) throws(EmbeddingError) {
        self.init(
            encoder: try BertEncoder.load(directory: modelDirectory), configuration: configuration, logger: logger)
    }

    public init(encoder: BertEncoder, configuration: Configuration = .init(), logger: Logger) {
        self.encoder = encoder
        self.configuration = configuration
        self.logger = logger
        self.pool = EncoderWorkerPool(
            encoder: encoder, workers: configuration.workers, maxBatchTokens: configuration.maxBatchTokens)
        pool.start()
        logger.debug(
            "embedding engine started",
            metadata: ["workers": "\(pool.workerCount)", "dimensions": "\(encoder.dimensions)"])
    }

    deinit { pool.shutdown() }

    /// Stops the worker threads once their current batch is done; later calls fail with
    /// `EmbeddingError.Code.shutDown`. Returns at once.
    public func shutdown() { pool.shutdown() }

    /// Runs until graceful shutdown, then stops the workers and waits until they have ended.
    public func run() async throws {
        try? await gracefulShutdown()
        pool.shutdown()
        await pool.ended()
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        if texts.isEmpty { return [] }
        let batch = texts.map(encoder.tokenizer.encode)
        let chunks = split(batch)
        if chunks.count == 1 { return try await pool.submit(chunks[0]) }
        return try await withThrowingTaskGroup(of: (Int, [[Float]]).self) { group in
            for (index, chunk) in chunks.enumerated() {
                group.addTask { (index, try await self.pool.submit(chunk)) }
            }
            var parts = [[[Float]]](repeating: [], count: chunks.count)
            for try await (index, vectors) in group { parts[index] = vectors }
            return parts.flatMap { $0 }
        }
    }

    /// Consecutive runs of texts within the batch limits.
    private func split(_ batch: [[Int32]]) -> [[[Int32]]] {
        var chunks: [[[Int32]]] = []
        var current: [[Int32]] = []
        var tokens = 0
        for ids in batch {
            if !current.isEmpty,
                current.count >= configuration.maxBatchTexts || tokens + ids.count > configuration.maxBatchTokens
            {
                chunks.append(current)
                current = []
                tokens = 0
            }
            current.append(ids)
            tokens += ids.count
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }
}
