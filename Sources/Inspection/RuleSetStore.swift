import Digest
import Foundation
public import Logging
import Synchronization

/// Holds the current `RuleSet` and swaps it atomically on reload. Requests read `current` once and use that snapshot
/// to the end; a reload compiles the new set beside the old one, and a bad file keeps the old set.
public final class RuleSetStore: Sendable {
    private struct State {
        var current: RuleSet
        var fingerprint: String
        var reloads = 0
        var failedReloads = 0
    }

    private let state: Mutex<State>
    private let logger: Logger

    public init(_ initial: RuleSet, logger: Logger = Logger(label: "airlock.inspection")) {
        self.state = Mutex(State(current: initial, fingerprint: Self.fingerprint(of: initial)))
        self.logger = logger
    }

    /// The rule set requests should use now.
    public var current: RuleSet { state.withLock { $0.current } }
    /// Successful reloads since start.
    public var reloadCount: Int { state.withLock { $0.reloads } }
    /// Reloads that failed (the old set stayed).
    public var failedReloadCount: Int { state.withLock { $0.failedReloads } }

    /// Recompiles from the current set's directory and swaps on success. On failure the old set stays, every error
    /// is logged with its file and line, the failure is counted, and the errors are returned.
    @discardableResult
    public func reload() async -> Result<RuleSet, RuleLoadFailure> {
        let old = current
        let fingerprint = await RuleFileReader.run { Self.fingerprint(of: old) }
        do {
            let new = try await old.reloaded()
            state.withLock {
                $0.current = new
                $0.fingerprint = fingerprint
                $0.reloads += 1
            }
            logger.notice("rules reloaded", metadata: ["rules_version": "\(new.version)", "previous": "\(old.version)"])
            return .success(new)
        } catch {
            state.withLock {
                $0.fingerprint = fingerprint
                $0.failedReloads += 1
            }
            for problem in error.errors {
                logger.error("rules reload failed; keeping the old set", metadata: ["error": "\(problem.description)"])
            }
            return .failure(error)
        }
    }

    /// Reloads if a rule file was added, removed or changed since the last load (for a polling file watcher).
    /// Returns nil when nothing changed.
    public func reloadIfChanged() async -> Result<RuleSet, RuleLoadFailure>? {
        let set = current
        let now = await RuleFileReader.run { Self.fingerprint(of: set) }
        guard state.withLock({ $0.fingerprint != now }) else { return nil }
        return await reload()
    }

    /// The rule files' names and a hash of their contents: the directory's `*.yaml` / `*.yml` and `*.json` files
    /// (classifiers live beside their packs) and any classifier file `set` names elsewhere. Contents, not
    /// modification times: an edit within the same second is still seen, and symlinked files (a Kubernetes
    /// ConfigMap swaps its `..data` link) are followed.
    static func fingerprint(of set: RuleSet) -> String {
        fingerprint(set.directory, classifierFiles: set.classifierFiles)
    }

    static func fingerprint(_ directory: String?, classifierFiles: [String] = []) -> String {
        guard let directory, let packs = try? RuleSet.packFiles(directory: directory) else { return "" }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let json = names.filter { $0.hasSuffix(".json") }.map { (directory as NSString).appendingPathComponent($0) }
        let standardized = Set((packs + json).map { ($0 as NSString).standardizingPath })
        let outside = classifierFiles.filter { !standardized.contains(($0 as NSString).standardizingPath) }
        var text: [UInt8] = []
        for file in packs + json.sorted() + outside {
            text += Array(file.utf8) + [0]
            if let data = FileManager.default.contents(atPath: file) { text += Array(data) }
            text.append(0)
        }
        return SHA256.hex(text)
    }
}
