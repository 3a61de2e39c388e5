import Dispatch

/// Runs the rule files' reads (listing, parsing, fingerprinting) on a dedicated queue: `airlock serve` runs Swift
/// concurrency on the event loops, and a file read there would hold every connection of that loop.
enum RuleFileReader {
    private static let queue = DispatchQueue(label: "airlock.rules.files")

    static func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, E>, Never>) in
            queue.async {
                do throws(E) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
