import Foundation

/// Airlock's effective configuration: immutable, validated, every field set (defaults documented in `Setting.all`).
public struct AirlockConfiguration: Sendable, Equatable {
    public enum UpstreamAuth: String, Sendable, Equatable, CaseIterable {
        /// Airlock sends its own key (`upstream.api_key`, `DASHSCOPE_API_KEY`); the caller's `Authorization` is dropped.
        case airlock
        /// The caller's `Authorization` header goes upstream unchanged.
        case passthrough
    }

    public struct Upstream: Sendable, Equatable {
        /// Base URL ending before `/chat/completions`, without a trailing slash.
        public var url: String
        public var apiKey: String?
        public var auth: UpstreamAuth
        public var connectTimeoutMilliseconds: Int
        public var firstByteTimeoutMilliseconds: Int
        public var idleTimeoutMilliseconds: Int
        public var requestTimeoutMilliseconds: Int
        public var caFile: String?
        /// Client headers whose lower-cased name starts with one of these go upstream too.
        public var forwardHeaderPrefixes: [String]
        public var maxResponseBytes: Int
    }

    public var listenHost: String
    public var listenPort: Int
    public var upstream: Upstream
    public var maxRequestBytes: Int
    public var redisURL: String
    public var logLevel: String
    /// Where each key's value came from: "default", the file path, or the environment variable.
    public var origins: [String: String]
}

extension AirlockConfiguration {
    /// Loads `path` (if given) and applies environment overrides. Every problem names the key, value and expectation.
    public static func load(path: String?, environment: [String: String]) throws -> AirlockConfiguration {
        var raw = RawSettings()
        if let path {
            try raw.merge(file: path)
        }
        raw.merge(environment: environment)
        return try raw.resolve()
    }

    /// The effective configuration as YAML, secrets masked, each line annotated with its origin.
    public func rendered() -> String {
        var lines: [String] = []
        var section = ""
        for setting in Setting.all {
            let parts = setting.key.split(separator: ".", maxSplits: 1).map(String.init)
            let value = setting.render(self)
            let shown = setting.secret ? Self.mask(value) : value
            let origin = origins[setting.key] ?? "default"
            if parts.count == 2 {
                if parts[0] != section {
                    section = parts[0]
                    lines.append("\(section):")
                }
                lines.append("  \(parts[1]): \(Self.yamlScalar(shown))  # \(origin)")
            } else {
                section = ""
                lines.append("\(setting.key): \(Self.yamlScalar(shown))  # \(origin)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func mask(_ value: String) -> String {
        if value.isEmpty { return "" }
        if value.count <= 8 { return "********" }
        return String(value.prefix(3)) + "…" + String(value.suffix(2)) + " (masked)"
    }

    static func yamlScalar(_ value: String) -> String {
        if value.isEmpty { return "null" }
        let plain = value.allSatisfy { $0.isLetter || $0.isNumber || "._-/:@".contains($0) }
        return plain ? value : "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
