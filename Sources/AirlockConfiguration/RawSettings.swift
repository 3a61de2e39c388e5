import Foundation
import Yams

/// Raw string values per key, with where each came from, before validation.
struct RawSettings {
    private var values: [String: (value: String?, origin: String)] = [:]

    mutating func merge(file path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(.unreadableFile, source: path, message: "cannot read the file: \(error)")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigurationError(.invalidYAML, source: path, message: "\(error)")
        }
        guard let node else { return }  // an empty file: all defaults
        guard case .mapping(let root) = node else {
            throw ConfigurationError(.invalidYAML, source: path, message: "the top level must be a mapping of keys")
        }
        let known = Set(Setting.all.map(\.key))
        func walk(_ mapping: Node.Mapping, prefix: String) throws {
            for (keyNode, valueNode) in mapping {
                guard let name = keyNode.string else {
                    throw ConfigurationError(.invalidYAML, source: location(path, keyNode), message: "keys must be strings")
                }
                let key = prefix.isEmpty ? name : "\(prefix).\(name)"
                switch valueNode {
                case .mapping(let nested):
                    try walk(nested, prefix: key)
                case .scalar(let scalar):
                    guard known.contains(key) else {
                        throw ConfigurationError(
                            .unknownKey, key: key, source: location(path, keyNode),
                            expected: "one of: \(known.sorted().joined(separator: ", "))")
                    }
                    let isNull = scalar.tag.description == Tag.Name.null.rawValue
                        || (scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string))
                    values[key] = (isNull ? nil : scalar.string, location(path, valueNode))
                case .sequence where key == "upstream.fallbacks":
                    values[key] = (try Self.jsonList(valueNode, path: path, key: key), location(path, valueNode))
                case .sequence, .alias:
                    throw ConfigurationError(
                        .invalidValue, key: key, source: location(path, keyNode), expected: "a single value")
                }
            }
        }
        try walk(root, prefix: "")
    }

    /// A list of flat mappings of scalars, as JSON, so that one parser serves both the file and the environment.
    private static func jsonList(_ node: Node, path: String, key: String) throws -> String {
        var items: [[String: String]] = []
        for item in node.sequence ?? [] {
            guard case .mapping(let mapping) = item else {
                throw ConfigurationError(
                    .invalidValue, key: key, source: path + (item.mark.map { ":\($0.line)" } ?? ""),
                    expected: "each item a mapping such as {url: https://…, model: qwen-flash}")
            }
            var fields: [String: String] = [:]
            for (name, value) in mapping {
                guard let name = name.string, let value = value.string else {
                    throw ConfigurationError(
                        .invalidValue, key: key, source: path + (item.mark.map { ":\($0.line)" } ?? ""),
                        expected: "string keys and values")
                }
                fields[name] = value
            }
            items.append(fields)
        }
        let data = try JSONSerialization.data(withJSONObject: items, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    mutating func merge(environment: [String: String]) {
        for setting in Setting.all {
            for name in setting.environment {
                if let value = environment[name] {
                    values[setting.key] = (value.isEmpty ? nil : value, "env \(name)")
                    break
                }
            }
        }
    }

    func resolve() throws -> AirlockConfiguration {
        var config = AirlockConfiguration(
            listenHost: "", listenPort: 0,
            embedding: .init(backend: .local, modelDirectory: "", remoteURL: nil, remoteModel: "", remoteDimensions: 0),
            cache: .init(enabled: true, threshold: 0, ttlSeconds: 0, trustTenantHeader: false),
            rules: .init(enabled: true, directory: "", reloadIntervalMilliseconds: 0, maxHoldbackBytes: 0),
            upstream: .init(
                url: "", apiKey: nil, auth: .airlock, connectTimeoutMilliseconds: 0, firstByteTimeoutMilliseconds: 0,
                idleTimeoutMilliseconds: 0, requestTimeoutMilliseconds: 0, caFile: nil, forwardHeaderPrefixes: [], maxResponseBytes: 0, retries: 0, breakerFailures: 0,
                breakerCoolDownMilliseconds: 0, fallbacks: []),
            maxRequestBytes: 0, adminToken: nil, redisURL: "", logLevel: "", origins: [:])
        for setting in Setting.all {
            let entry = values[setting.key]
            let raw = entry.map { $0.value } ?? setting.defaultValue
            let origin = entry?.origin ?? "default"
            config.origins[setting.key] = origin
            guard setting.apply(raw, &config) else {
                let shown = setting.secret ? raw.map(AirlockConfiguration.mask) : raw
                throw ConfigurationError(
                    raw == nil ? .missingValue : .invalidValue, key: setting.key, value: shown,
                    source: origin == "default" ? nil : origin, expected: setting.expected)
            }
        }
        return config
    }

    private func location(_ path: String, _ node: Node) -> String {
        if let mark = node.mark { return "\(path):\(mark.line)" }
        return path
    }
}
