import Digest
import Foundation
import Yams

/// Turns one YAML file into a `RulePackDefinition`, collecting every schema error with its line.
struct RulePackParser {
    static let knownRoles: Set<String> = ["system", "developer", "user", "assistant", "tool", "function"]
    static let defaultRoles = ["system", "developer", "user", "assistant", "tool"]

    let file: String
    /// False: `classifier` files are not read (training writes the file a rule names, which may not exist yet).
    let readClassifiers: Bool
    private(set) var errors: [InspectionError] = []

    init(file: String, readClassifiers: Bool = true) {
        self.file = file
        self.readClassifiers = readClassifiers
    }

    mutating func parse(_ yaml: String) -> RulePackDefinition? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            report(yamlError: error)
            return nil
        } catch {
            errors.append(InspectionError(.invalidPack, "\(error)", file: file, line: 1))
            return nil
        }
        guard let root, case .mapping(let mapping) = root else {
            errors.append(InspectionError(.invalidPack, "a rule pack is a mapping with `pack` and `rules`", file: file,
                line: root?.mark?.line ?? 1))
            return nil
        }
        let keys = Keys(mapping, node: root)
        checkKeys(keys, allowed: ["pack", "description", "enabled", "purpose", "rules"], what: "pack")
        let name = requiredString(keys, "pack", pattern: .packName) ?? "?"
        let description = optionalString(keys, "description") ?? ""
        let enabled = optionalBool(keys, "enabled") ?? true
        let purpose = optionalEnum(keys, "purpose", PackPurpose.self) ?? .inspect
        var rules: [RuleDefinition] = []
        if let rulesNode = keys["rules"] {
            if case .sequence(let sequence) = rulesNode, !sequence.isEmpty {
                for node in sequence {
                    if let rule = parseRule(node, packEnabled: enabled, purpose: purpose) { rules.append(rule) }
                }
            } else {
                error(at: rulesNode, "`rules` must be a non-empty list")
            }
        } else {
            error(at: root, "missing `rules`")
        }
        var seen: [String: Int] = [:]
        for rule in rules {
            if let line = seen[rule.id] {
                errors.append(InspectionError(.duplicateRule, "rule id `\(rule.id)` is already used on line \(line)",
                    file: file, line: rule.location.line, column: rule.location.column, ruleID: rule.id))
            }
            seen[rule.id] = rule.location.line
        }
        return RulePackDefinition(
            name: name, description: description, enabled: enabled, purpose: purpose, rules: rules, file: file)
    }

    private mutating func parseRule(_ node: Node, packEnabled: Bool, purpose: PackPurpose) -> RuleDefinition? {
        guard case .mapping(let mapping) = node else {
            error(at: node, "a rule is a mapping")
            return nil
        }
        let errorCount = errors.count
        let keys = Keys(mapping, node: node)
        checkKeys(
            keys,
            allowed: [
                "id", "description", "kind", "scope", "roles", "patterns", "case_insensitive", "group", "exemplars",
                "threshold", "classifier", "classifier_threshold", "endpoint", "model", "api_key_env", "categories",
                "levels", "timeout_ms", "validators", "context", "confidence", "min_confidence", "priority", "entity",
                "label", "action", "on_error", "enabled", "examples", "cues", "entities", "thresholds", "min_score",
                "allow", "deny",
            ], what: "rule")
        let id = requiredString(keys, "id", pattern: .ruleID) ?? "?"
        let description = requiredString(keys, "description") ?? ""
        let kind = requiredEnum(keys, "kind", RuleKind.self) ?? .regex
        let scope = optionalEnum(keys, "scope", RuleScope.self) ?? .both
        let action = requiredEnum(keys, "action", RuleAction.self) ?? .flag
        let onError = optionalEnum(keys, "on_error", FailureMode.self) ?? .open
        let enabled = (optionalBool(keys, "enabled") ?? true) && packEnabled
        var roles = Self.defaultRoles
        if let node = keys["roles"], let list = stringList(node, "roles") {
            for role in list where !Self.knownRoles.contains(role) {
                error(at: node, "unknown role `\(role)`; expected one of \(Self.knownRoles.sorted().joined(separator: ", "))")
            }
            if list.isEmpty { error(at: node, "`roles` must not be empty") }
            roles = list
        }
        let entity = optionalString(keys, "entity", pattern: .entity)
        let label = optionalString(keys, "label", pattern: .entity) ?? entity ?? id.uppercased().map {
            $0.isLetter || $0.isNumber ? $0 : "_"
        }.reduce(into: "") { $0.append($1) }

        // Kind-specific keys.
        let regexKeys = ["patterns", "case_insensitive", "group", "validators", "context", "confidence", "min_confidence"]
        let semanticKeys = ["exemplars", "threshold", "classifier", "classifier_threshold"]
        let guardKeys = ["endpoint", "model", "api_key_env", "categories", "levels", "timeout_ms"]
        let nerKeys = ["entities", "thresholds", "min_score", "allow", "deny"]
        let foreign: [String]
        switch kind {
        case .regex: foreign = semanticKeys + guardKeys + nerKeys + ["cues"]
        case .semantic: foreign = regexKeys + guardKeys + nerKeys + ["cues"]
        case .guard: foreign = regexKeys + semanticKeys + nerKeys + ["cues"]
        case .lexical:
            foreign = regexKeys.filter { $0 != "case_insensitive" } + ["exemplars", "threshold"] + guardKeys + nerKeys
        case .ner:
            // Each finding is labelled with its own type.
            foreign = regexKeys + semanticKeys + guardKeys + ["cues", "entity", "label"]
        }
        for key in foreign { if let node = keys[key] { error(at: node, "`\(key)` does not apply to a \(kind) rule") } }

        var patterns: [PatternSource] = []
        if kind == .regex {
            if let node = keys["patterns"], case .sequence(let sequence) = node, !sequence.isEmpty {
                for item in sequence {
                    if let text = item.scalar?.string, !text.isEmpty {
                        patterns.append(PatternSource(text: text, location: location(of: item)))
                    } else {
                        error(at: item, "a pattern is a non-empty string")
                    }
                }
            } else {
                error(at: keys["patterns"] ?? node, "a regex rule needs `patterns`: a non-empty list of strings")
            }
        }
        var exemplars: [String] = []
        var classifier: ClassifierReference?
        if kind == .semantic {
            classifier = parseClassifier(keys)
            if let node = keys["exemplars"] {
                if let list = stringList(node, "exemplars"), !list.isEmpty {
                    exemplars = list
                } else {
                    error(at: node, "`exemplars` must be a non-empty list of strings")
                }
            } else if keys["classifier"] == nil {
                error(at: node, "a semantic rule needs `exemplars` (non-empty strings), a `classifier`, or both")
            } else if let thresholdNode = keys["threshold"] {
                error(
                    at: thresholdNode,
                    "`threshold` is the exemplar similarity and this rule has no exemplars; use `classifier_threshold`")
            }
        }
        var cues: [LexicalCue] = []
        if kind == .lexical {
            if purpose != .refusal {
                error(at: keys["kind"] ?? node, "a lexical rule reads answers for refusals; put it in a `purpose: refusal` pack")
            }
            if scope != .output { error(at: keys["scope"] ?? node, "a lexical rule reads answers: `scope: output`") }
            cues = parseCues(keys["cues"])
            if keys["classifier"] == nil {
                error(at: node, "a lexical rule needs a `classifier` (trained by `airlock rules train --lexical`)")
            } else if readClassifiers {
                classifier = parseClassifier(keys)
                if let classifier, classifier.model.features == nil {
                    error(
                        at: keys["classifier"] ?? node, code: .invalidClassifier,
                        "classifier file `\(classifier.path)` is over an embedding; a lexical rule needs one with `features`")
                }
            }
        } else if kind == .semantic, let classifier, classifier.model.features != nil {
            error(
                at: keys["classifier"] ?? node, code: .invalidClassifier,
                "classifier file `\(classifier.path)` has named features (a lexical rule's); a semantic rule needs one over the embedding")
        }
        var guardSettings: GuardSettings?
        if kind == .guard {
            let endpoint = requiredString(keys, "endpoint") ?? ""
            if !endpoint.isEmpty, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
                error(at: keys["endpoint"]!, "`endpoint` must be an http:// or https:// URL")
            }
            let model = requiredString(keys, "model") ?? ""
            let timeout = optionalInt(keys, "timeout_ms", range: 1...600_000) ?? 2000
            var levels = ["Unsafe"]
            if let node = keys["levels"], let list = stringList(node, "levels") {
                for level in list where !["Safe", "Unsafe", "Controversial"].contains(level) {
                    error(at: node, "unknown level `\(level)`; expected Unsafe or Controversial")
                }
                levels = list
            }
            let categories = keys["categories"].flatMap { stringList($0, "categories") } ?? []
            guardSettings = GuardSettings(
                endpoint: endpoint, model: model, apiKeyEnvironment: optionalString(keys, "api_key_env"),
                categories: categories, levels: levels, timeout: .milliseconds(timeout))
        }

        var nerSettings: NERSettings?
        if kind == .ner {
            nerSettings = parseNER(keys, node: node)
        }

        var validators: [MatchValidator] = []
        if let node = keys["validators"], let list = stringList(node, "validators") {
            for name in list {
                if let validator = MatchValidator(rawValue: name) {
                    validators.append(validator)
                } else {
                    error(at: node, "unknown validator `\(name)`; expected one of "
                        + MatchValidator.allCases.map(\.rawValue).joined(separator: ", "))
                }
            }
        }
        var context: ContextWords?
        if let node = keys["context"] {
            context = parseContext(node)
        }
        let threshold = optionalDouble(keys, "threshold", range: 0...1) ?? 0.75
        let confidence = optionalDouble(keys, "confidence", range: 0...1) ?? 1.0
        let minConfidence = optionalDouble(keys, "min_confidence", range: 0...1) ?? 0.5
        let priority = optionalInt(keys, "priority", range: -1000...1000) ?? 0
        let group = optionalInt(keys, "group", range: 0...99) ?? 0
        let caseInsensitive = optionalBool(keys, "case_insensitive") ?? false

        var matchExamples: [String] = []
        var noMatchExamples: [String] = []
        if let node = keys["examples"] {
            if case .mapping(let examples) = node {
                let exampleKeys = Keys(examples, node: node)
                checkKeys(exampleKeys, allowed: ["match", "no_match"], what: "examples")
                matchExamples = exampleKeys["match"].flatMap { stringList($0, "examples.match") } ?? []
                noMatchExamples = exampleKeys["no_match"].flatMap { stringList($0, "examples.no_match") } ?? []
            } else {
                error(at: node, "`examples` is a mapping with `match` and `no_match` lists")
            }
        }
        if kind != .guard && matchExamples.isEmpty {
            error(at: keys["examples"] ?? node, "a \(kind) rule needs at least one `examples.match` entry")
        }
        if kind != .regex && kind != .ner, action == .mask || action == .tokenize || action == .redact {
            error(at: keys["action"] ?? node, "a \(kind) rule has no span to \(action.rawValue); use block or flag")
        }
        if (action == .tokenize || action == .redact || action == .mask), group != 0, validators.contains(.iban) {
            error(at: keys["group"] ?? node, "the iban validator works on the whole match; drop `group`")
        }
        guard errors.count == errorCount else { return nil }
        var definition = RuleDefinition(
            id: id, description: description, kind: kind, scope: scope, roles: roles, patterns: patterns,
            caseInsensitive: caseInsensitive, group: group, exemplars: exemplars, threshold: threshold,
            classifier: classifier, guardSettings: guardSettings, validators: validators, context: context,
            confidence: confidence, minConfidence: minConfidence, priority: priority, entity: entity, label: label,
            action: action, onError: onError, enabled: enabled, matchExamples: matchExamples,
            noMatchExamples: noMatchExamples, location: location(of: node))
        definition.cues = cues
        definition.nerSettings = nerSettings
        return definition
    }

    /// An NER rule's `entities` (required), `min_score` (all types, default 0.5), `thresholds` (per type), `allow`
    /// and `deny`.
    private mutating func parseNER(_ keys: Keys, node: Node) -> NERSettings? {
        guard let entitiesNode = keys["entities"] else {
            error(at: node, "an ner rule needs `entities`: a list of \(NERSettings.knownTypes.joined(separator: ", "))")
            return nil
        }
        let types = stringList(entitiesNode, "entities") ?? []
        if types.isEmpty { error(at: entitiesNode, "`entities` must not be empty") }
        for type in types where !NERSettings.knownTypes.contains(type) {
            error(
                at: entitiesNode,
                "unknown entity type `\(type)`; the NER model finds \(NERSettings.knownTypes.joined(separator: ", "))")
        }
        let base = optionalDouble(keys, "min_score", range: 0...1) ?? 0.5
        var thresholds = Dictionary(types.map { ($0, base) }, uniquingKeysWith: { first, _ in first })
        if let node = keys["thresholds"] {
            if case .mapping(let mapping) = node {
                for (key, value) in mapping {
                    let type = key.scalar?.string ?? ""
                    guard thresholds[type] != nil else {
                        error(at: key, "`thresholds` names `\(type)`, which is not in this rule's `entities`")
                        continue
                    }
                    guard let text = value.scalar?.string, let number = Double(text), (0...1).contains(number) else {
                        error(at: value, "a threshold is a number in 0.0…1.0")
                        continue
                    }
                    thresholds[type] = number
                }
            } else {
                error(at: node, "`thresholds` is a mapping from entity type to a score in 0…1")
            }
        }
        let allow = keys["allow"].flatMap { stringList($0, "allow") } ?? []
        let deny = keys["deny"].flatMap { stringList($0, "deny") } ?? []
        var seen: Set<String> = []
        return NERSettings(
            types: types.filter { seen.insert($0).inserted }, thresholds: thresholds, allow: allow, deny: deny)
    }

    /// A lexical rule's `cues`: a non-empty list of `{id, pattern}` with distinct ids.
    private mutating func parseCues(_ node: Node?) -> [LexicalCue] {
        guard let node else { return [] }
        guard case .sequence(let sequence) = node else {
            error(at: node, "`cues` must be a list of mappings with `id` and `pattern`")
            return []
        }
        var cues: [LexicalCue] = []
        var seen: Set<String> = []
        for item in sequence {
            guard case .mapping(let mapping) = item else {
                error(at: item, "a cue is a mapping with `id` and `pattern`")
                continue
            }
            let keys = Keys(mapping, node: item)
            checkKeys(keys, allowed: ["id", "pattern"], what: "cue")
            guard let id = requiredString(keys, "id", pattern: .ruleID), let text = requiredString(keys, "pattern")
            else { continue }
            if !seen.insert(id).inserted { error(at: item, "cue id `\(id)` is used twice") }
            cues.append(LexicalCue(id: id, pattern: PatternSource(text: text, location: location(of: keys["pattern"]!))))
        }
        return cues
    }

    /// Reads the `classifier` file (relative to the pack's directory) and the optional `classifier_threshold`.
    private mutating func parseClassifier(_ keys: Keys) -> ClassifierReference? {
        guard readClassifiers else { return nil }
        guard let node = keys["classifier"] else {
            if let thresholdNode = keys["classifier_threshold"] {
                error(at: thresholdNode, "`classifier_threshold` needs a `classifier`")
            }
            return nil
        }
        let override = optionalDouble(keys, "classifier_threshold", range: 0...1)
        guard let path = optionalString(keys, "classifier") else { return nil }
        let resolved =
            path.hasPrefix("/")
            ? path : ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: resolved) else {
            error(at: node, code: .invalidClassifier, "cannot read the classifier file `\(path)` (\(resolved))")
            return nil
        }
        let model: LogisticClassifier
        do {
            model = try LogisticClassifier.decode(data)
        } catch {
            self.error(at: node, code: .invalidClassifier, "classifier file `\(path)`: \(error.message)")
            return nil
        }
        return ClassifierReference(
            path: path, resolvedPath: resolved, sha256: SHA256.hex(Array(data)), model: model,
            threshold: override ?? model.threshold, location: location(of: node))
    }

    private mutating func parseContext(_ node: Node) -> ContextWords? {
        guard case .mapping(let mapping) = node else {
            error(at: node, "`context` is a mapping with `positive`, `negative`, `window`, `boost`, `penalty`")
            return nil
        }
        let keys = Keys(mapping, node: node)
        checkKeys(keys, allowed: ["positive", "negative", "window", "boost", "penalty"], what: "context")
        var context = ContextWords()
        context.positive = keys["positive"].flatMap { stringList($0, "context.positive") } ?? []
        context.negative = keys["negative"].flatMap { stringList($0, "context.negative") } ?? []
        context.window = optionalInt(keys, "window", range: 1...1000) ?? 40
        context.boost = optionalDouble(keys, "boost", range: 0...1) ?? 0.3
        context.penalty = optionalDouble(keys, "penalty", range: 0...1) ?? 0.5
        if context.positive.isEmpty && context.negative.isEmpty {
            error(at: node, "`context` needs `positive` or `negative` words")
        }
        return context
    }

    // MARK: - Typed access with located errors

    struct Keys {
        var values: [String: Node] = [:]
        var keyNodes: [(String, Node)] = []
        let node: Node
        init(_ mapping: Node.Mapping, node: Node) {
            self.node = node
            for (key, value) in mapping {
                let name = key.scalar?.string ?? "\(key)"
                values[name] = value
                keyNodes.append((name, key))
            }
        }
        subscript(_ key: String) -> Node? { values[key] }
    }

    enum NamePattern {
        case packName, ruleID, entity

        func accepts(_ text: String) -> Bool {
            guard let first = text.unicodeScalars.first else { return false }
            switch self {
            case .packName, .ruleID:
                let allowed = self == .packName ? "abcdefghijklmnopqrstuvwxyz0123456789-_" : "abcdefghijklmnopqrstuvwxyz0123456789-_."
                return ("a"..."z").contains(first) || ("0"..."9").contains(first)
                    ? text.unicodeScalars.allSatisfy { allowed.unicodeScalars.contains($0) } : false
            case .entity:
                return ("A"..."Z").contains(first)
                    && text.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
            }
        }

        var expected: String {
            switch self {
            case .packName: "lower-case letters, digits, `-` and `_`"
            case .ruleID: "lower-case letters, digits, `-`, `_` and `.`"
            case .entity: "upper-case letters, digits and `_`, starting with a letter"
            }
        }
    }

    private mutating func checkKeys(_ keys: Keys, allowed: Set<String>, what: String) {
        for (name, node) in keys.keyNodes where !allowed.contains(name) {
            error(at: node, "unknown \(what) key `\(name)`; expected one of \(allowed.sorted().joined(separator: ", "))")
        }
    }

    private mutating func requiredString(_ keys: Keys, _ key: String, pattern: NamePattern? = nil) -> String? {
        guard keys[key] != nil else {
            error(at: keys.node, "missing `\(key)`")
            return nil
        }
        return optionalString(keys, key, pattern: pattern)
    }

    private mutating func optionalString(_ keys: Keys, _ key: String, pattern: NamePattern? = nil) -> String? {
        guard let node = keys[key] else { return nil }
        guard let text = node.scalar?.string, !text.isEmpty else {
            error(at: node, "`\(key)` must be a non-empty string")
            return nil
        }
        if let pattern, !pattern.accepts(text) {
            error(at: node, "`\(key)` `\(text)` must use \(pattern.expected)")
            return nil
        }
        return text
    }

    private mutating func requiredEnum<E: RawRepresentable & CaseIterable>(_ keys: Keys, _ key: String, _: E.Type)
        -> E? where E.RawValue == String
    {
        guard keys[key] != nil else {
            error(at: keys.node, "missing `\(key)`; expected one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return optionalEnum(keys, key, E.self)
    }

    private mutating func optionalEnum<E: RawRepresentable & CaseIterable>(_ keys: Keys, _ key: String, _: E.Type)
        -> E? where E.RawValue == String
    {
        guard let node = keys[key] else { return nil }
        guard let text = node.scalar?.string, let value = E(rawValue: text) else {
            error(at: node, "`\(key)` must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return value
    }

    private mutating func optionalBool(_ keys: Keys, _ key: String) -> Bool? {
        guard let node = keys[key] else { return nil }
        guard let scalar = node.scalar, scalar.string == "true" || scalar.string == "false" else {
            error(at: node, "`\(key)` must be true or false")
            return nil
        }
        return scalar.string == "true"
    }

    private mutating func optionalInt(_ keys: Keys, _ key: String, range: ClosedRange<Int>) -> Int? {
        guard let node = keys[key] else { return nil }
        guard let text = node.scalar?.string, let value = Int(text), range.contains(value) else {
            error(at: node, "`\(key)` must be an integer in \(range.lowerBound)…\(range.upperBound)")
            return nil
        }
        return value
    }

    private mutating func optionalDouble(_ keys: Keys, _ key: String, range: ClosedRange<Double>) -> Double? {
        guard let node = keys[key] else { return nil }
        guard let text = node.scalar?.string, let value = Double(text), range.contains(value) else {
            error(at: node, "`\(key)` must be a number in \(range.lowerBound)…\(range.upperBound)")
            return nil
        }
        return value
    }

    private mutating func stringList(_ node: Node, _ key: String) -> [String]? {
        guard case .sequence(let sequence) = node else {
            error(at: node, "`\(key)` must be a list of strings")
            return nil
        }
        var result: [String] = []
        for item in sequence {
            guard let text = item.scalar?.string, !text.isEmpty else {
                error(at: item, "`\(key)` entries must be non-empty strings")
                continue
            }
            result.append(text)
        }
        return result
    }

    func location(of node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    private mutating func error(at node: Node, code: InspectionError.Code = .invalidPack, _ message: String) {
        let where_ = location(of: node)
        errors.append(InspectionError(code, message, file: file, line: where_.line, column: where_.column))
    }

    private mutating func report(yamlError: YamlError) {
        var line = 1
        var column: Int?
        var message = "\(yamlError)"
        switch yamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            line = mark.line
            column = mark.column
            message = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        case .duplicatedKeysInMapping(let duplicates, let context):
            line = context.mark.line
            column = context.mark.column
            message = "duplicate keys: \(duplicates.joined(separator: ", "))"
        default:
            break
        }
        errors.append(InspectionError(.invalidPack, "invalid YAML: \(message)", file: file, line: line, column: column))
    }
}
