import Digest
import Foundation

/// Everything that decides whether two requests may share an answer, as the server extracts it from a request.
///
/// Two requests share a namespace only when every field here is equal; within a namespace, only `lastUserTurn`
/// is compared (exactly, then by meaning). Fields hold canonical text chosen by the caller: serialize JSON values
/// with sorted keys and no insignificant whitespace so that equal requests give equal text.
///
/// PII-safe caching: when prompt inspection tokenizes personal data, pass the placeholder text (`<EMAIL_1>`)
/// in `lastUserTurn` and `context`, never the values, and store the answer with placeholders too; the caller then
/// restores its own values into the replayed answer. The cache never sees the values.
public struct CacheKeyInput: Sendable, Hashable {
    /// The trusted `x-airlock-tenant` header, else a hash of the caller's API key; never empty in a shared cache.
    public var tenant: String
    public var model: String
    /// The system prompt and every turn before the last user turn, each as canonical text (role, content,
    /// tool calls, names).
    public var context: [String]
    /// The last user turn: the text that is normalized, hashed and embedded.
    public var lastUserTurn: String
    /// Every other field that may change the answer, by name, values as canonical JSON. The chat route puts here every
    /// top-level field but `messages`, `model`, `stream` and `stream_options` (tools, response format, sampling,
    /// fields it does not know), and the forwarded upstream headers as `header:<name>`: deny by default.
    public var sampling: [String: String]
    /// The inspection rules version: a rules change empties every namespace's view.
    public var rulesVersion: String

    public init(
        tenant: String, model: String, context: [String] = [], lastUserTurn: String, sampling: [String: String] = [:],
        rulesVersion: String = ""
    ) {
        self.tenant = tenant
        self.model = model
        self.context = context
        self.lastUserTurn = lastUserTurn
        self.sampling = sampling
        self.rulesVersion = rulesVersion
    }
}

/// A `CacheKeyInput` reduced to names: the namespace, the exact-layer id, and the texts the lookup compares.
public struct CacheKey: Sendable, Hashable {
    /// `<tenant hash>-<partition hash>`, hex: Redis keys are `airlock:{<namespace>}:…`.
    public let namespace: String
    /// The first half of `namespace`: every namespace of one tenant shares it.
    public let tenantHash: String
    /// The last user turn with whitespace collapsed and Unicode compatibility-normalized (NFKC): what is
    /// embedded, stored and given to the lexical gate.
    public let text: String
    /// The exact layer's entry id: a hash of the case-folded `text`, or, for a text laid out as code (some line
    /// indented), of its layout (`CacheKey.layout`) with case kept: indentation, line breaks and case carry meaning
    /// there, so two such prompts that differ only in them never share an answer.
    public let exactID: String
    public let rulesVersion: String
    /// The script of the last user turn: part of the namespace (no answer crosses scripts), and what decides whether
    /// the semantic layer may judge the text (`SemanticCacheConfiguration.semanticScripts`).
    public let script: TextScript

    /// - Parameter embeddingModel: the model that judges texts of a script, when it is named
    ///   (`SemanticCache.key(_:)` passes its own): part of the namespace, so a new model starts new namespaces.
    public init(_ input: CacheKeyInput, embeddingModel: (TextScript) -> String = { _ in "" }) {
        tenantHash = Self.tenantHash(input.tenant)
        var hasher = SHA256()
        hasher.updateField("airlock-cache-v2")
        hasher.updateField(input.tenant)
        hasher.updateField(input.model)
        hasher.updateField(String(input.context.count))
        for turn in input.context { hasher.updateField(turn) }
        let sampling = input.sampling.sorted { $0.key < $1.key }
        hasher.updateField(String(sampling.count))
        for (name, value) in sampling {
            hasher.updateField(name)
            hasher.updateField(value)
        }
        hasher.updateField(input.rulesVersion)
        let script = TextScript.of(input.lastUserTurn)
        let model = embeddingModel(script)
        if !model.isEmpty { hasher.updateField("embedding:" + model) }
        hasher.updateField("script:" + script.rawValue)
        self.script = script
        namespace = tenantHash + "-" + Array(hasher.finalize().prefix(16)).hexString
        text = Self.normalize(input.lastUserTurn)
        let exact = Self.layout(input.lastUserTurn).map { "layout\u{1F}" + $0 } ?? text.lowercased()
        exactID = Array(SHA256.hash(Array(exact.utf8)).prefix(16)).hexString
        rulesVersion = input.rulesVersion
    }

    /// The namespace prefix shared by every namespace of `tenant`.
    public static func tenantHash(_ tenant: String) -> String {
        var hasher = SHA256()
        hasher.updateField("airlock-tenant-v1")
        hasher.updateField(tenant)
        return Array(hasher.finalize().prefix(8)).hexString
    }

    /// The text's layout when it is laid out like code (a line after the first non-empty one starts with
    /// whitespace): NFKC, lines kept with their indentation, runs of blank lines and whitespace inside a line
    /// collapsed, trailing whitespace trimmed. nil for prose, where line breaks and spacing carry no meaning.
    public static func layout(_ text: String) -> String? {
        let compatible = text.precomposedStringWithCompatibilityMapping
        var lines: [Substring] = []
        for line in compatible.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline }) {
            lines.append(line)
        }
        while let first = lines.first, first.allSatisfy(\.isWhitespace) { lines.removeFirst() }
        while let last = lines.last, last.allSatisfy(\.isWhitespace) { lines.removeLast() }
        guard lines.count > 1, lines.dropFirst().contains(where: { $0.first?.isWhitespace == true && !$0.allSatisfy(\.isWhitespace) })
        else { return nil }
        var out: [String] = []
        var blank = false
        for line in lines {
            if line.allSatisfy(\.isWhitespace) {
                if !blank { out.append("") }
                blank = true
                continue
            }
            blank = false
            let indent = line.prefix { $0.isWhitespace }
            out.append(String(indent) + normalize(String(line.dropFirst(indent.count))))
        }
        return out.joined(separator: "\n")
    }

    /// NFKC, whitespace runs collapsed to one space, trimmed.
    public static func normalize(_ text: String) -> String {
        let compatible = text.precomposedStringWithCompatibilityMapping
        var out = ""
        out.reserveCapacity(compatible.utf8.count)
        var pendingSpace = false
        for scalar in compatible.unicodeScalars {
            if scalar.properties.isWhitespace || scalar.properties.generalCategory == .control {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                out.unicodeScalars.append(" ")
                pendingSpace = false
            }
            out.unicodeScalars.append(scalar)
        }
        return out
    }
}
