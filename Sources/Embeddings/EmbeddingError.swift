/// The one error type of the Embeddings module.
public struct EmbeddingError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in a form callers can switch over; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case modelMissing
            case invalidModelFile
            case invalidConfiguration
            case invalidVocabulary
            case tensorMissing
            case tensorShapeMismatch
            case unsupportedDataType
            case ioFailure
            case remoteFailure
            case invalidResponse
            case shutDown
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The model directory or one of its files does not exist.
        public static let modelMissing = Code(.modelMissing)
        /// A safetensors file is malformed.
        public static let invalidModelFile = Code(.invalidModelFile)
        /// `config.json` is missing a key or holds an unsupported value.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// `vocab.txt` lacks a required token.
        public static let invalidVocabulary = Code(.invalidVocabulary)
        /// A weight the encoder needs is not in the file.
        public static let tensorMissing = Code(.tensorMissing)
        /// A weight has a different shape from the one the configuration implies.
        public static let tensorShapeMismatch = Code(.tensorShapeMismatch)
        /// A tensor's dtype is neither F32 nor F16.
        public static let unsupportedDataType = Code(.unsupportedDataType)
        /// A system call (open, fstat, mmap) failed; `nativeCode` holds errno.
        public static let ioFailure = Code(.ioFailure)
        /// The remote embeddings endpoint failed or answered with an error status.
        public static let remoteFailure = Code(.remoteFailure)
        /// The remote endpoint answered with a body that is not an embeddings response.
        public static let invalidResponse = Code(.invalidResponse)
        /// The embedder was shut down before the request ran.
        public static let shutDown = Code(.shutDown)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    /// errno for I/O failures, the HTTP status for remote failures.
    public var nativeCode: Int?

    public init(_ code: Code, _ message: String, nativeCode: Int? = nil) {
        self.code = code
        self.message = message
        self.nativeCode = nativeCode
    }

    public var description: String {
        if let nativeCode { return "\(code): \(message) (\(nativeCode))" }
        return "\(code): \(message)"
    }
}
