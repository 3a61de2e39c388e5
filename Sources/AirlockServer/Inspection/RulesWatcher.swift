import Inspection
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the rule set and reports it: the one path for SIGHUP, file changes and `POST /airlock/rules/reload`.
struct RulesReloader: Sendable {
    let store: RuleSetStore
    let metrics: InspectionMetrics
    let logger: Logger

    /// Recompiles now; on failure the old set stays (the store logs every error with its file and line).
    @discardableResult
    func reload(trigger: String) async -> Result<RuleSet, RuleLoadFailure> {
        let result = await store.reload()
        record(result, trigger: trigger)
        return result
    }

    /// Recompiles if a rule file was added, removed or changed.
    func reloadIfChanged() async {
        guard let result = await store.reloadIfChanged() else { return }
        record(result, trigger: "file_change")
    }

    private func record(_ result: Result<RuleSet, RuleLoadFailure>, trigger: String) {
        switch result {
        case .success(let set):
            metrics.recordReload(success: true)
            metrics.setVersion(set.version)
            logger.notice("rules reload", metadata: ["trigger": "\(trigger)", "rules_version": "\(set.version)"])
        case .failure(let failure):
            metrics.recordReload(success: false)
            logger.error(
                "rules reload failed; the old set stays",
                metadata: ["trigger": "\(trigger)", "errors": "\(failure.errors.count)"])
        }
    }
}

/// Watches for reasons to reload: SIGHUP, and (every `interval`) a change to the rule files.
struct RulesWatcher: Service {
    let reloader: RulesReloader
    /// nil: no file watch.
    let interval: Duration?

    func run() async throws {
        let reloader = self.reloader
        let interval = self.interval
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) {
                        await reloader.reload(trigger: "sighup")
                    }
                }
                if let interval {
                    group.addTask {
                        while !Task.isCancelled {
                            do { try await Task.sleep(for: interval) } catch { return }
                            await reloader.reloadIfChanged()
                        }
                    }
                }
            }
        }
    }
}
