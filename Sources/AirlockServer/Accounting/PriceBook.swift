import ChatWire
import Digest
import Foundation
import Logging
import Pricing
import ServiceLifecycle
import Synchronization

/// The price table in use and how an answer is priced: the model as the table names it (or `other`), the region of
/// the target that served it (`pricing.region`, else the target's host), and the table's rates. The table is
/// swapped whole when its file changes and loads; a file that does not load leaves the old table in use.
final class PriceBook: Sendable {
    /// What pricing one answer gave.
    struct Priced: Sendable, Equatable {
        /// The `model` label: the table's name for the model, or `other`.
        var label: String
        /// nil: the table cannot price it (unknown model, region or tier).
        var cost: Money?
    }

    let file: String?
    let region: String?
    private let logger: Logger
    private let state: Mutex<(table: PriceTable?, fingerprint: String?)>

    /// Loads `file` now (nil: no table, every answer is counted in tokens only). Throws what the file gets wrong.
    init(file: String?, region: String?, logger: Logger) throws(PriceTableLoadFailure) {
        self.file = file
        self.region = region
        self.logger = logger
        guard let file else {
            state = Mutex((nil, nil))
            return
        }
        let contents = FileManager.default.contents(atPath: file)
        let table = try PriceTable.load(file: file)
        state = Mutex((table, contents.map { SHA256.hex(Array($0)) }))
    }

    var table: PriceTable? { state.withLock { $0.table } }

    /// Prices `usage` for `model`, served by the target at `host`.
    func price(_ usage: TokenUsage, model: String, host: String?) -> Priced {
        guard let table else { return Priced(label: "other", cost: nil) }
        let label = table.model(named: model)?.name ?? "other"
        guard let region = region(table, host: host) else { return Priced(label: label, cost: nil) }
        return Priced(label: label, cost: table.price(usage, model: model, region: region)?.cost)
    }

    /// An estimate of what sending `text` as a prompt would have cost in input tokens (see `TokenEstimate`).
    func estimatedInput(_ text: String, model: String, host: String?) -> Priced {
        guard let table else { return Priced(label: "other", cost: nil) }
        let label = table.model(named: model)?.name ?? "other"
        guard let region = region(table, host: host) else { return Priced(label: label, cost: nil) }
        return Priced(
            label: label,
            cost: table.inputPrice(promptTokens: TokenEstimate.tokens(in: text), model: model, region: region))
    }

    private func region(_ table: PriceTable, host: String?) -> String? {
        if let region { return region }
        return host.flatMap { table.region(forHost: $0)?.name }
    }

    /// Reloads when the file's bytes changed. nil: unchanged (or no file); otherwise whether the new table loaded.
    @discardableResult
    func reloadIfChanged() -> Bool? {
        guard let file else { return nil }
        let fingerprint = FileManager.default.contents(atPath: file).map { SHA256.hex(Array($0)) }
        guard fingerprint != state.withLock({ $0.fingerprint }) else { return nil }
        do {
            let table = try PriceTable.load(file: file)
            state.withLock { $0 = (table, fingerprint) }
            logger.notice("prices reload", metadata: ["version": "\(table.version)", "file": "\(file)"])
            return true
        } catch {
            // Remember the bad bytes so the same error is logged once, not on every check.
            state.withLock { $0.fingerprint = fingerprint }
            logger.error(
                "prices reload failed; the old table stays",
                metadata: ["file": "\(file)", "errors": "\(error.errors.count)", "first": "\(error.errors.first?.description ?? "")"])
            return false
        }
    }
}

/// Checks the price file for changes every `interval`.
struct PriceWatcher: Service {
    let book: PriceBook
    let interval: Duration

    func run() async throws {
        let book = self.book
        let interval = self.interval
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                book.reloadIfChanged()
            }
        }
    }
}

/// A rough count of the tokens a text would be, for a prompt that never reached the model (so Qwen never counted
/// it): one per Han, kana or hangul character, and one per four bytes of anything else. Labelled an estimate
/// wherever it is shown.
enum TokenEstimate {
    static func tokens(in text: String) -> Int {
        var ideographs = 0
        var otherBytes = 0
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7AF, 0xF900...0xFAFF, 0x20000...0x2FFFF:
                ideographs += 1
            default:
                otherBytes += UTF8.width(scalar)
            }
        }
        return ideographs + (otherBytes + 3) / 4
    }
}
