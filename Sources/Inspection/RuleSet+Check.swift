import Patterns

/// The result of `RuleSet.check`.
public struct RuleCheckReport: Sendable {
    public var packs: [RulePackDefinition] = []
    public var errors: [InspectionError] = []
    /// The version the enabled rules would have.
    public var version: String = ""
    public var ruleCount: Int { packs.reduce(0) { $0 + $1.rules.count } }
}

extension RuleSet {
    /// Validates a rule directory without loading models: schema, every pattern of every rule (enabled or not),
    /// duplicate ids among enabled rules, and the combined per-pack patterns. Errors carry file and line.
    public static func check(directory: String, configuration: Configuration = .init()) -> RuleCheckReport {
        var report = RuleCheckReport()
        do {
            report.packs = try parsePacks(directory: directory)
        } catch {
            report.errors = error.errors
            return report
        }
        var seen: [String: SourceLocation] = [:]
        for pack in report.packs {
            var compiled: [CompiledRegexRule] = []
            for rule in pack.rules {
                if pack.enabled && rule.enabled {
                    if let other = seen[rule.id] {
                        report.errors.append(
                            InspectionError(
                                .duplicateRule, "rule id `\(rule.id)` is also used at \(other)",
                                file: rule.location.file, line: rule.location.line, column: rule.location.column,
                                ruleID: rule.id))
                    }
                    seen[rule.id] = rule.location
                }
                guard rule.kind == .regex else { continue }
                do {
                    compiled.append(try CompiledRegexRule(definition: rule, pack: pack.name, limits: configuration.limits))
                } catch {
                    report.errors += error.errors
                }
            }
            if compiled.count > 1 {
                do {
                    _ = try ScanGroup(members: compiled, limits: configuration.limits)
                } catch {
                    report.errors.append(
                        InspectionError(
                            .invalidPattern, "the pack's patterns do not combine: \(error.message)", file: pack.file,
                            line: 1))
                }
            }
        }
        report.version = versionHash(packs: report.packs, configuration: configuration)
        return report
    }

    /// The version a set of packs compiles to (what `RuleSet.version` will be).
    public static func version(of packs: [RulePackDefinition], configuration: Configuration = .init()) -> String {
        versionHash(packs: packs, configuration: configuration)
    }
}
