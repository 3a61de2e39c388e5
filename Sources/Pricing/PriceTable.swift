public import ChatWire
import Foundation
import Yams

/// An amount of money in one currency, in pico-units (10⁻¹² of the unit): every price in the table, times every cache
/// fraction, is a whole number of pico-units per token, so costs add up exactly.
public struct Money: Sendable, Hashable, Codable, Comparable {
    public var currency: String
    public var picos: Int64

    public init(currency: String, picos: Int64) {
        self.currency = currency
        self.picos = picos
    }

    /// The amount in units (for metrics and display; sums are kept in `picos`).
    public var amount: Double { Double(picos) / 1e12 }

    public static func < (lhs: Money, rhs: Money) -> Bool {
        (lhs.currency, lhs.picos) < (rhs.currency, rhs.picos)
    }
}

/// One price tier of a model in a region, per token in pico-units of the region's currency.
public struct PriceTier: Sendable, Hashable {
    /// Inclusive upper bound on the request's input tokens (nil: no bound).
    public var upTo: Int?
    public var input: Int64
    public var output: Int64
    /// Output price when the answer carries reasoning tokens (thinking mode); nil: the same as `output`.
    public var thinkingOutput: Int64?
    public var implicitCacheHit: Int64
    public var explicitCacheHit: Int64
    public var explicitCacheCreation: Int64
}

/// What a priced answer cost, and which tier priced it.
public struct PricedUsage: Sendable, Hashable {
    public var cost: Money
    /// Index of the tier (0 = the first).
    public var tier: Int
}

/// The price table: per model and region, tiers by input length, with the currency of each region and the
/// context-cache fractions. Read from YAML (`prices/qwen.yaml`), validated at load with every error located.
public struct PriceTable: Sendable, Hashable {
    public struct Region: Sendable, Hashable {
        public var name: String
        public var currency: String
        /// Upstream hosts that bill in this region.
        public var hosts: [String]
    }

    public struct Model: Sendable, Hashable {
        public var name: String
        public var aliases: [String]
        /// Region name → tiers, in increasing `upTo` (the last may be unbounded).
        public var tiers: [String: [PriceTier]]
    }

    public var regions: [String: Region]
    public var models: [String: Model]
    /// Model name or alias → the model's name.
    private var names: [String: String]
    /// Host → region name (the parser refuses a host in two regions).
    private var regionOfHost: [String: String]
    /// SHA-256 of the file, for `/airlock/prices` and change detection.
    public var version: String

    /// The model a response names: its entry, by name or alias (exact, case-sensitive); nil when the table has none.
    public func model(named name: String) -> Model? {
        names[name].flatMap { models[$0] }
    }

    /// The region whose `hosts` include `host` (case-insensitive).
    public func region(forHost host: String) -> Region? {
        regionOfHost[host.lowercased()].flatMap { regions[$0] }
    }

    /// What `usage` costs for `model` in `region`: the tier is chosen by the request's whole input (`promptTokens`,
    /// cached tokens included; a count equal to a tier's bound is inside it), and every token of the request is
    /// priced at that tier. Input read from the context cache is priced at the cache-hit rate (implicit or
    /// explicit), input written to an explicit cache at the creation rate, output at the thinking rate when the
    /// answer carries reasoning tokens. nil when the model, the region or a tier for that input is not in the table:
    /// unknown, never guessed.
    public func price(_ usage: TokenUsage, model name: String, region: String) -> PricedUsage? {
        guard let model = model(named: name), let tiers = model.tiers[region], let currency = regions[region]?.currency,
            let tierIndex = tiers.firstIndex(where: { $0.upTo.map { usage.promptTokens <= $0 } ?? true })
        else { return nil }
        let tier = tiers[tierIndex]
        let cached = Int64(usage.cachedTokens)
        let creation = Int64(usage.cacheCreationTokens)
        let plain = Int64(usage.promptTokens) - cached - creation
        let cacheRate = usage.explicitCache ? tier.explicitCacheHit : tier.implicitCacheHit
        let outputRate = usage.reasoningTokens > 0 ? (tier.thinkingOutput ?? tier.output) : tier.output
        let picos =
            plain * tier.input + cached * cacheRate + creation * tier.explicitCacheCreation
            + Int64(usage.completionTokens) * outputRate
        return PricedUsage(cost: Money(currency: currency, picos: picos), tier: tierIndex)
    }

    /// The input price of `promptTokens` alone (an estimate for a prompt that never went upstream).
    public func inputPrice(promptTokens: Int, model name: String, region: String) -> Money? {
        price(TokenUsage(promptTokens: promptTokens, completionTokens: 0), model: name, region: region)?.cost
    }
}

/// A problem in a price file, with where it is.
public struct PriceTableError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public var description: String { "\(file):\(line): \(message)" }
}

/// Every problem found in a price file.
public struct PriceTableLoadFailure: Error, Sendable, CustomStringConvertible {
    public var errors: [PriceTableError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

extension PriceTable {
    /// The format this version reads.
    public static let format = "airlock-prices/1"

    /// Reads and validates a price file.
    public static func load(file: String) throws(PriceTableLoadFailure) -> PriceTable {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw PriceTableLoadFailure(errors: [PriceTableError(file: file, line: 1, message: "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PriceTableLoadFailure(errors: [PriceTableError(file: file, line: 1, message: "not UTF-8")])
        }
        return try parse(yaml: text, file: file)
    }

    /// Parses and validates YAML text.
    public static func parse(yaml: String, file: String) throws(PriceTableLoadFailure) -> PriceTable {
        var parser = PriceTableParser(file: file)
        let table = parser.parse(yaml)
        guard let table, parser.errors.isEmpty else { throw PriceTableLoadFailure(errors: parser.errors) }
        return table
    }

    init(regions: [String: Region], models: [String: Model], version: String) {
        self.regions = regions
        self.models = models
        self.version = version
        var names: [String: String] = [:]
        for model in models.values {
            names[model.name] = model.name
            for alias in model.aliases { names[alias] = model.name }
        }
        self.names = names
        var regionOfHost: [String: String] = [:]
        for region in regions.values { for host in region.hosts { regionOfHost[host] = region.name } }
        self.regionOfHost = regionOfHost
    }
}
