import Foundation
import NamedEntities

/// An NER rule ready to run: its types and thresholds, its allow list folded for comparison, its deny terms as bytes.
/// The model runs once per text for every NER rule; each rule picks its findings from the entities found.
final class CompiledNERRule: SpanRule {
    let definition: RuleDefinition
    let pack: String
    let settings: NERSettings
    private let allowed: Set<String>
    private let denyTerms: [[UInt8]]

    var id: String { definition.id }

    init(definition: RuleDefinition, pack: String) {
        self.definition = definition
        self.pack = pack
        self.settings = definition.nerSettings ?? NERSettings(types: [], thresholds: [:])
        self.allowed = Set(settings.allow.map(Self.folded))
        self.denyTerms = settings.deny.map { Array($0.lowercased().utf8) }.filter { !$0.isEmpty }
    }

    /// The text an allow entry and an entity are compared as.
    static func folded(_ text: some StringProtocol) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// This rule's findings among `entities` (found in `bytes`), and its deny terms wherever they occur.
    func hits(_ entities: [RecognizedEntity], in bytes: UnsafeBufferPointer<UInt8>) -> [SpanHit] {
        var hits: [SpanHit] = []
        for entity in entities where entity.range.upperBound <= bytes.count {
            guard let threshold = settings.thresholds[entity.type.rawValue], entity.score >= threshold else { continue }
            if !allowed.isEmpty {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[entity.range]), as: UTF8.self)
                if allowed.contains(Self.folded(text)) { continue }
            }
            hits.append(SpanHit(rule: self, range: entity.range, score: entity.score, type: entity.type.rawValue))
        }
        if let type = settings.types.first {
            for term in denyTerms {
                for range in Self.occurrences(of: term, in: bytes) {
                    hits.append(SpanHit(rule: self, range: range, score: 1, type: type))
                }
            }
        }
        return hits
    }

    /// Every occurrence of the lower-cased `needle` in `haystack` (see `CompiledRegexRule.firstOccurrence`).
    static func occurrences(of needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var found: [Range<Int>] = []
        var position = 0
        while let range = CompiledRegexRule.firstOccurrence(of: needle, in: haystack, from: position) {
            found.append(range)
            position = range.upperBound
        }
        return found
    }
}
