import Inspection
import Outcomes

/// `GET /airlock/rules`: what is loaded.
struct RulesStatus: Encodable {
    struct Pack: Encodable {
        let name: String
        let file: String
        let enabled: Bool
        let rules: Int
    }

    let rulesVersion: String
    let directory: String?
    let packs: [Pack]
    let enabledRules: Int
    let reloads: Int
    let failedReloads: Int

    init(_ store: RuleSetStore) {
        let set = store.current
        rulesVersion = set.version
        directory = set.directory
        packs = set.packs.map { Pack(name: $0.name, file: $0.file, enabled: $0.enabled, rules: $0.rules.count) }
        enabledRules = set.enabledRules.count
        reloads = store.reloadCount
        failedReloads = store.failedReloadCount
    }

    enum CodingKeys: String, CodingKey {
        case rulesVersion = "rules_version", directory, packs, enabledRules = "enabled_rules", reloads
        case failedReloads = "failed_reloads"
    }
}

/// The 422 of `POST /airlock/rules/reload` when the files have errors.
struct RulesReloadFailure: Encodable {
    struct Body: Encodable {
        let message: String
        let type: String
        let code: String
        /// Each with its file and line.
        let errors: [String]
    }

    let error: Body
    let rulesVersion: String

    enum CodingKeys: String, CodingKey {
        case error, rulesVersion = "rules_version"
    }
}

/// `refusal_model` by the refusal pack's phrase rules of the rule set in use now.
struct RuleSetRefusalDetector: RefusalDetector {
    let store: RuleSetStore

    func isRefusal(_ text: String) -> Bool { store.current.isRefusal(text: text) }
}
