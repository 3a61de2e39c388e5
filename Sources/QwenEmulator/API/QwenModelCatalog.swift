/// The models Qwen's compatible mode serves, as design.md §1 lists them.
enum QwenModelCatalog {
    static let chatModels = [
        "qwen-plus", "qwen-max", "qwen-flash", "qwen-turbo", "qwen3-max", "qwen3.5-plus", "qwen3.5-flash",
    ]

    /// Dated snapshots listed by `GET /models`; any well-formed `NAME-YYYY-MM-DD` is accepted by chat.
    static let listedSnapshots = [
        "qwen-plus-2025-09-11", "qwen-max-2025-01-25", "qwen-flash-2025-07-28", "qwen-turbo-2025-04-28",
        "qwen3-max-2025-09-23", "qwen3.5-plus-2026-02-15", "qwen3.5-flash-2026-02-23",
    ]

    static let embeddingModels = ["text-embedding-v4", "text-embedding-v3"]

    /// Every id `GET /models` returns.
    static var listedModels: [String] {
        chatModels + chatModels.map { $0 + "-latest" } + listedSnapshots + embeddingModels
    }

    /// Whether `model` names a chat model: a base name, `NAME-latest` or `NAME-YYYY-MM-DD`.
    static func isChatModel(_ model: String) -> Bool {
        if chatModels.contains(model) { return true }
        for base in chatModels where model.hasPrefix(base + "-") {
            let suffix = model.dropFirst(base.count + 1)
            if suffix == "latest" || isDate(suffix) { return true }
        }
        return false
    }

    /// Whether `model` names a Qwen3Guard-Gen moderation model (`Qwen/Qwen3Guard-Gen-0.6B`, `qwen3guard-gen-4b`, …):
    /// any name containing `qwen3guard`, ignoring case. Such a model answers with a verdict (see ``GuardJudge``).
    static func isGuardModel(_ model: String) -> Bool {
        model.lowercased().contains("qwen3guard")
    }

    /// `YYYY-MM-DD` with a plausible month and day.
    private static func isDate(_ text: Substring) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return false }
        return year >= 2023 && (1...12).contains(month) && (1...31).contains(day)
    }

    /// Output sizes `text-embedding-v4` and `-v3` accept, and their defaults.
    static func embeddingDimensions(for model: String) -> (allowed: [Int], default: Int)? {
        switch model {
        case "text-embedding-v4": return ([64, 128, 256, 512, 768, 1024, 1536, 2048], 1024)
        case "text-embedding-v3": return ([64, 128, 256, 512, 768, 1024], 1024)
        default: return nil
        }
    }

    /// Inputs allowed in one embeddings call.
    static let maxEmbeddingInputs = 10
}
