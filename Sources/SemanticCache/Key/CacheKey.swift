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
    /// `tools` as canonical JSON, or nil.
    public var tools: String?
    /// `tool_choice` as canonical JSON, or nil.
    public var toolChoice: String?
    /// `response_format` as canonical JSON, or nil.
    public var responseFormat: String?
    /// Every other field that may change the answer, by name, values as canonical JSON. The chat route puts here every
    /// top-level field but `messages`, `model`, `stream` and `stream_options` (tools, response format, sampling,
    /// fields it does not know), and the forwarded upstream headers as `header:<name>`: deny by default.
    public var sampling: [String: String]
    /// The inspection rules version: a rules change empties every namespace's view.
    public var rulesVersion: String

    public init(
        tenant: String, model: String, context: [String] = [], lastUserTurn: String, tools: String? = nil,
        toolChoice: String? = nil, responseFormat: String? = nil, sampling: [String: String] = [:],
        rulesVersion: String = ""
    ) {
        self.tenant = tenant
        self.model = model
        self.context = context
        self.lastUserTurn = lastUserTurn
        self.tools = tools
        self.toolChoice = toolChoice
        self.responseFormat = responseFormat
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
    /// Hash of the case-folded `text`: the exact layer's entry id.
    public let exactID: String
    public let rulesVersion: String

    public init(_ input: CacheKeyInput) {
        tenantHash = Self.tenantHash(input.tenant)
        var hasher = SHA256()
        hasher.updateField("airlock-cache-v1")
        hasher.updateField(input.tenant)
        hasher.updateField(input.model)
        hasher.updateField(String(input.context.count))
        for turn in input.context { hasher.updateField(turn) }
        hasher.updateField(input.tools ?? "\u{0}")
        hasher.updateField(input.toolChoice ?? "\u{0}")
        hasher.updateField(input.responseFormat ?? "\u{0}")
        let sampling = input.sampling.sorted { $0.key < $1.key }
        hasher.updateField(String(sampling.count))
        for (name, value) in sampling {
            hasher.updateField(name)
            hasher.updateField(value)
        }
        hasher.updateField(input.rulesVersion)
        namespace = tenantHash + "-" + Array(hasher.finalize().prefix(16)).hexString
        text = Self.normalize(input.lastUserTurn)
        exactID = Array(SHA256.hash(Array(text.lowercased().utf8)).prefix(16)).hexString
        rulesVersion = input.rulesVersion
    }

    /// The namespace prefix shared by every namespace of `tenant`.
    public static func tenantHash(_ tenant: String) -> String {
        var hasher = SHA256()
        hasher.updateField("airlock-tenant-v1")
        hasher.updateField(tenant)
        return Array(hasher.finalize().prefix(8)).hexString
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
