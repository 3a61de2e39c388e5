import Digest
import Foundation
import Yams

/// Turns a price file into a `PriceTable`, collecting every error with its line.
struct PriceTableParser {
    let file: String
    private(set) var errors: [PriceTableError] = []

    init(file: String) { self.file = file }

    /// The context-cache fractions of the input price, as exact decimals.
    private struct CacheFractions {
        var implicitHit = Fraction(numerator: 2, denominator: 10)
        var explicitHit = Fraction(numerator: 1, denominator: 10)
        var explicitCreation = Fraction(numerator: 125, denominator: 100)
    }

    struct Fraction {
        var numerator: Int64
        var denominator: Int64
    }

    mutating func parse(_ yaml: String) -> PriceTable? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            errors.append(PriceTableError(file: file, line: Self.line(of: error), message: "invalid YAML: \(error)"))
            return nil
        }
        guard let root, let top = mapping(root, "the price file") else {
            if root == nil { error(nil, "the price file is empty") }
            return nil
        }
        checkKeys(top, root, allowed: ["format", "regions", "context_cache", "models"], what: "price file")
        if let format = top["format"] {
            if format.string != PriceTable.format {
                error(format, "`format` must be \(PriceTable.format)")
            }
        } else {
            error(root, "missing `format: \(PriceTable.format)`")
        }
        var fractions = CacheFractions()
        if let node = top["context_cache"], let cache = mapping(node, "`context_cache`") {
            checkKeys(cache, node, allowed: ["implicit_hit", "explicit_hit", "explicit_creation"], what: "context_cache")
            if let value = cache["implicit_hit"] { fractions.implicitHit = fraction(value) ?? fractions.implicitHit }
            if let value = cache["explicit_hit"] { fractions.explicitHit = fraction(value) ?? fractions.explicitHit }
            if let value = cache["explicit_creation"] {
                fractions.explicitCreation = fraction(value) ?? fractions.explicitCreation
            }
        }
        var regions: [String: PriceTable.Region] = [:]
        var hostOwner: [String: String] = [:]
        if let node = top["regions"], let list = mapping(node, "`regions`") {
            for (name, value) in list.sorted(by: { $0.key < $1.key }) {
                guard let region = mapping(value, "region `\(name)`") else { continue }
                checkKeys(region, value, allowed: ["currency", "hosts"], what: "region")
                let currency = region["currency"]?.string ?? ""
                if currency.count != 3 || !currency.allSatisfy({ $0.isASCII && $0.isUppercase }) {
                    error(region["currency"] ?? value, "region `\(name)` needs `currency`: a three-letter code (USD, CNY)")
                }
                var hosts: [String] = []
                if let hostsNode = region["hosts"] {
                    if case .sequence(let sequence) = hostsNode {
                        for item in sequence {
                            guard let host = item.string, !host.isEmpty, host == host.lowercased() else {
                                error(item, "a host is a lower-case name such as dashscope.aliyuncs.com")
                                continue
                            }
                            if let other = hostOwner[host] { error(item, "host `\(host)` is also in region `\(other)`") }
                            hostOwner[host] = name
                            hosts.append(host)
                        }
                    } else {
                        error(hostsNode, "`hosts` is a list of host names")
                    }
                }
                regions[name] = PriceTable.Region(name: name, currency: currency, hosts: hosts)
            }
            if regions.isEmpty { error(node, "`regions` must name at least one region") }
        } else if top["regions"] == nil {
            error(root, "missing `regions`")
        }
        var models: [String: PriceTable.Model] = [:]
        var nameOwner: [String: String] = [:]
        if let node = top["models"], let list = mapping(node, "`models`") {
            for (name, value) in list.sorted(by: { $0.key < $1.key }) {
                guard let model = mapping(value, "model `\(name)`") else { continue }
                var aliases: [String] = []
                if let aliasNode = model["aliases"] {
                    if case .sequence(let sequence) = aliasNode {
                        aliases = sequence.compactMap { item in
                            guard let alias = item.string, !alias.isEmpty else {
                                error(item, "an alias is a model name")
                                return nil
                            }
                            return alias
                        }
                    } else {
                        error(aliasNode, "`aliases` is a list of model names")
                    }
                }
                for candidate in [name] + aliases {
                    if let other = nameOwner[candidate] {
                        error(value, "`\(candidate)` is already a name of model `\(other)`")
                    }
                    nameOwner[candidate] = name
                }
                var tiers: [String: [PriceTier]] = [:]
                for (regionName, tiersNode) in model.sorted(by: { $0.key < $1.key }) where regionName != "aliases" {
                    guard regions[regionName] != nil else {
                        error(
                            tiersNode,
                            "model `\(name)`: `\(regionName)` is not a region of `regions` (or a key: aliases)")
                        continue
                    }
                    tiers[regionName] = parseTiers(tiersNode, model: name, region: regionName, fractions: fractions)
                }
                if tiers.isEmpty { error(value, "model `\(name)` has no prices for any region") }
                models[name] = PriceTable.Model(name: name, aliases: aliases, tiers: tiers)
            }
            if models.isEmpty { error(node, "`models` must name at least one model") }
        } else if top["models"] == nil {
            error(root, "missing `models`")
        }
        guard errors.isEmpty else { return nil }
        return PriceTable(regions: regions, models: models, version: String(SHA256.hex(Array(yaml.utf8)).prefix(16)))
    }

    private mutating func parseTiers(_ node: Node, model: String, region: String, fractions: CacheFractions)
        -> [PriceTier]
    {
        guard case .sequence(let sequence) = node, !sequence.isEmpty else {
            error(node, "model `\(model)`, region `\(region)`: a non-empty list of tiers")
            return []
        }
        var tiers: [PriceTier] = []
        for (index, item) in sequence.enumerated() {
            guard let tier = mapping(item, "a tier") else { continue }
            checkKeys(tier, item, allowed: ["up_to", "input", "output", "thinking_output"], what: "tier")
            var upTo: Int?
            if let bound = tier["up_to"] {
                if let value = bound.string.flatMap(Int.init), value > 0 {
                    upTo = value
                } else {
                    error(bound, "`up_to` is a positive whole number of input tokens")
                }
            } else if index != sequence.count - 1 {
                error(item, "only the last tier may leave out `up_to`")
            }
            if let upTo, let previous = tiers.last?.upTo, upTo <= previous {
                error(item, "tiers go up: `up_to` \(upTo) is not above \(previous)")
            }
            guard let input = price(tier["input"], item, "input"), let output = price(tier["output"], item, "output")
            else { continue }
            let thinking = tier["thinking_output"].flatMap { price($0, item, "thinking_output") }
            tiers.append(
                PriceTier(
                    upTo: upTo, input: input, output: output, thinkingOutput: thinking,
                    implicitCacheHit: scaled(input, fractions.implicitHit, item),
                    explicitCacheHit: scaled(input, fractions.explicitHit, item),
                    explicitCacheCreation: scaled(input, fractions.explicitCreation, item)))
        }
        return tiers
    }

    /// A price per million tokens, as pico-units per token (at most six decimals, so it is exact).
    private mutating func price(_ node: Node?, _ parent: Node, _ key: String) -> Int64? {
        guard let node else {
            error(parent, "missing `\(key)` (price per million tokens)")
            return nil
        }
        guard let (value, scale) = node.string.flatMap(Self.decimal), scale <= 6, value >= 0,
            value <= 1_000_000_000_000
        else {
            error(node, "`\(key)` is a price per million tokens: a non-negative number with at most six decimals")
            return nil
        }
        var picos = value
        for _ in scale..<6 { picos *= 10 }
        return picos
    }

    private mutating func fraction(_ node: Node) -> Fraction? {
        guard let (value, scale) = node.string.flatMap(Self.decimal), scale <= 6, value >= 0, value <= 10_000_000 else {
            error(node, "a fraction of the input price such as 0.2 (at most six decimals)")
            return nil
        }
        var denominator: Int64 = 1
        for _ in 0..<scale { denominator *= 10 }
        return Fraction(numerator: value, denominator: denominator)
    }

    /// `price × fraction`, which must be whole pico-units.
    private mutating func scaled(_ price: Int64, _ fraction: Fraction, _ node: Node) -> Int64 {
        let product = price * fraction.numerator
        if product % fraction.denominator != 0 {
            error(node, "a cache fraction of this input price is not a whole number of 10⁻¹⁸ per million tokens")
        }
        return product / fraction.denominator
    }

    /// `"0.125"` → (125, 3); nil unless digits with at most one point.
    static func decimal(_ text: String) -> (Int64, Int)? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) }),
            parts.allSatisfy({ $0.allSatisfy(\.isNumber) }), parts.joined().count <= 15,
            let value = Int64(parts.joined())
        else { return nil }
        return (value, parts.count == 2 ? parts[1].count : 0)
    }

    // MARK: - Nodes

    private mutating func mapping(_ node: Node, _ what: String) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            error(node, "\(what) must be a mapping")
            return nil
        }
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else {
                error(key, "keys are strings")
                continue
            }
            result[name] = value
        }
        return result
    }

    private mutating func checkKeys(_ mapping: [String: Node], _ node: Node, allowed: Set<String>, what: String) {
        for key in mapping.keys.sorted() where !allowed.contains(key) {
            error(mapping[key], "unknown \(what) key `\(key)`; expected one of \(allowed.sorted().joined(separator: ", "))")
        }
    }

    private mutating func error(_ node: Node?, _ message: String) {
        errors.append(PriceTableError(file: file, line: node?.mark?.line ?? 1, message: message))
    }

    private static func line(of error: any Error) -> Int {
        if let yaml = error as? YamlError {
            switch yaml {
            case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
                return mark.line
            default:
                return 1
            }
        }
        return 1
    }
}
