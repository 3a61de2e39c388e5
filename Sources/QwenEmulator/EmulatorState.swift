import Synchronization

/// Everything the request handlers share: counters, per-prompt fault counts and the forced fault.
/// One lock, held for a few assignments at a time.
final class EmulatorState: Sendable {
    private struct Storage {
        var stats = EmulatorStats()
        /// Requests seen per fault name + last user message, to limit a fault to the first N.
        var faultCounts: [String: Int] = [:]
        var forcedFault: String?
    }

    private let storage = Mutex(Storage())

    var stats: EmulatorStats {
        storage.withLock { $0.stats }
    }

    var forcedFault: String? {
        get { storage.withLock { $0.forcedFault } }
        set { storage.withLock { $0.forcedFault = newValue } }
    }

    func resetStats() {
        storage.withLock { $0.stats = EmulatorStats() }
    }

    func resetFaultCounts() {
        storage.withLock { $0.faultCounts.removeAll() }
    }

    func update(_ change: (inout EmulatorStats) -> Void) {
        storage.withLock { change(&$0.stats) }
    }

    func recordFaultServed(_ fault: EmulatorFault) {
        storage.withLock { $0.stats.faultsServed[fault.rawValue, default: 0] += 1 }
    }

    /// Counts this request against the directive's limit and says whether the fault applies to it.
    func admit(_ directive: FaultDirective, prompt: String) -> Bool {
        guard let limit = directive.limit else { return true }
        let key = directive.fault.rawValue + "\u{0}" + prompt
        return storage.withLock { storage in
            let seen = storage.faultCounts[key, default: 0] + 1
            storage.faultCounts[key] = seen
            return seen <= limit
        }
    }
}
