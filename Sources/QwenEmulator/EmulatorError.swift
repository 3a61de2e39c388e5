/// Errors of the emulator module. Most never reach a caller: they end a response on purpose (the connection is
/// closed) and are counted in ``EmulatorStats``.
public struct EmulatorError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case clientDisconnected
            case deliberateDisconnect
            case timeoutFaultExpired
            case notRunning
            case alreadyRunning
            case bindFailed
        }

        private let value: Value

        /// The client went away before the response was complete.
        public static let clientDisconnected = Code(value: .clientDisconnected)
        /// A fault closed the connection on purpose.
        public static let deliberateDisconnect = Code(value: .deliberateDisconnect)
        /// The `timeout` fault held a request for its whole cap; the connection is closed.
        public static let timeoutFaultExpired = Code(value: .timeoutFaultExpired)
        /// The emulator stopped before it was listening.
        public static let notRunning = Code(value: .notRunning)
        /// `run()` was called on an emulator that already runs.
        public static let alreadyRunning = Code(value: .alreadyRunning)
        /// The listening socket could not be opened.
        public static let bindFailed = Code(value: .bindFailed)

        public var description: String { "\(value)" }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "EmulatorError(\(code)): \(message)" }
}
