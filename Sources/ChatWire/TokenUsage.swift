/// The token counts of one answer, as Qwen's OpenAI-compatible `usage` reports them.
///
/// `promptTokens` includes `cachedTokens` (the part of the input served from Qwen's context cache) and
/// `cacheCreationTokens` (explicit cache writes); `completionTokens` includes `reasoningTokens` (thinking).
public struct TokenUsage: Sendable, Hashable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int
    /// `prompt_tokens_details.cached_tokens`: input read from the context cache.
    public var cachedTokens: Int
    /// `prompt_tokens_details.cache_creation_input_tokens`: input written to an explicit cache.
    public var cacheCreationTokens: Int
    /// Whether the cache read was explicit (`prompt_tokens_details.cache_type: ephemeral`) rather than implicit.
    public var explicitCache: Bool
    /// `completion_tokens_details.reasoning_tokens`: thinking output.
    public var reasoningTokens: Int

    public init(
        promptTokens: Int, completionTokens: Int, totalTokens: Int? = nil, cachedTokens: Int = 0,
        cacheCreationTokens: Int = 0, explicitCache: Bool = false, reasoningTokens: Int = 0
    ) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens ?? promptTokens + completionTokens
        self.cachedTokens = cachedTokens
        self.cacheCreationTokens = cacheCreationTokens
        self.explicitCache = explicitCache
        self.reasoningTokens = reasoningTokens
    }

    /// Reads a `usage` object. nil without non-negative prompt and completion counts; details that are missing,
    /// negative or larger than their total count as 0 (a detail never makes a request cost more than its total).
    public init?(json value: JSONValue?) {
        guard case .object(let usage)? = value, let prompt = Self.count(usage["prompt_tokens"]),
            let completion = Self.count(usage["completion_tokens"])
        else { return nil }
        let promptDetails = usage["prompt_tokens_details"]
        let completionDetails = usage["completion_tokens_details"]
        let cached = Self.count(promptDetails?["cached_tokens"]) ?? 0
        let creation = Self.count(promptDetails?["cache_creation_input_tokens"]) ?? 0
        let reasoning = Self.count(completionDetails?["reasoning_tokens"]) ?? 0
        self.init(
            promptTokens: prompt, completionTokens: completion,
            totalTokens: Self.count(usage["total_tokens"]) ?? prompt + completion,
            cachedTokens: cached + creation <= prompt ? cached : 0,
            cacheCreationTokens: cached + creation <= prompt ? creation : 0,
            explicitCache: promptDetails?["cache_type"]?.stringValue == "ephemeral",
            reasoningTokens: reasoning <= completion ? reasoning : 0)
    }

    /// The `usage` object as Qwen writes it (details only when non-zero).
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "prompt_tokens": .number(JSONNumber(promptTokens)),
            "completion_tokens": .number(JSONNumber(completionTokens)),
            "total_tokens": .number(JSONNumber(totalTokens)),
        ]
        if cachedTokens > 0 || cacheCreationTokens > 0 {
            var details: [String: JSONValue] = ["cached_tokens": .number(JSONNumber(cachedTokens))]
            if cacheCreationTokens > 0 {
                details["cache_creation_input_tokens"] = .number(JSONNumber(cacheCreationTokens))
            }
            if explicitCache { details["cache_type"] = .string("ephemeral") }
            object["prompt_tokens_details"] = .object(details)
        }
        if reasoningTokens > 0 {
            object["completion_tokens_details"] = .object(["reasoning_tokens": .number(JSONNumber(reasoningTokens))])
        }
        return .object(object)
    }

    private enum CodingKeys: String, CodingKey {
        case promptTokens, completionTokens, totalTokens, cachedTokens, cacheCreationTokens, explicitCache
        case reasoningTokens
    }

    /// Entries stored before the details existed have only the three counts.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        promptTokens = try container.decode(Int.self, forKey: .promptTokens)
        completionTokens = try container.decode(Int.self, forKey: .completionTokens)
        totalTokens = try container.decodeIfPresent(Int.self, forKey: .totalTokens) ?? promptTokens + completionTokens
        cachedTokens = try container.decodeIfPresent(Int.self, forKey: .cachedTokens) ?? 0
        cacheCreationTokens = try container.decodeIfPresent(Int.self, forKey: .cacheCreationTokens) ?? 0
        explicitCache = try container.decodeIfPresent(Bool.self, forKey: .explicitCache) ?? false
        reasoningTokens = try container.decodeIfPresent(Int.self, forKey: .reasoningTokens) ?? 0
    }

    private static func count(_ value: JSONValue?) -> Int? {
        guard let count = value?.integerValue, count >= 0, count <= 1 << 40 else { return nil }
        return count
    }
}
