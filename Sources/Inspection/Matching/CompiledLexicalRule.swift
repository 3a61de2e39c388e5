import Foundation
public import Patterns

/// What a lexical rule reads of an answer, shared by training (`airlock rules train --lexical`) and service so both
/// see the same features. Bounded work whatever the answer's size: the whitespace-collapsed first
/// `bodyCharacters` characters, and the answer's length in bytes.
///
/// Features, each named in the classifier file:
/// - `w:<word>` and `w:<word> <word>`: lower-cased ASCII words (apostrophes kept, `’` read as `'`) and the marks
///   `. , ! ? : ;` of the first `openingCharacters` characters, and each pair of neighbours: 1 if present.
/// - `opening:<cue>` and `body:<cue>`: 1 if the cue's pattern matches the opening, or the first `bodyCharacters`.
/// - `log_length`: `ln(1 + UTF-8 bytes of the answer) / 8`.
public enum LexicalFeatures {
    public static let openingCharacters = 300
    public static let bodyCharacters = 1000
    public static let lengthFeature = "log_length"

    /// The first `bodyCharacters` characters (Unicode scalars) with runs of white space made one space, trimmed.
    public static func body(of text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var pendingSpace = false
        var count = 0
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = count > 0
                continue
            }
            if pendingSpace {
                guard count < bodyCharacters else { break }
                scalars.append(" ")
                count += 1
                pendingSpace = false
            }
            guard count < bodyCharacters else { break }
            scalars.append(scalar)
            count += 1
        }
        return String(scalars)
    }

    /// The first `openingCharacters` characters of a `body(of:)`.
    public static func opening(ofBody body: String) -> String {
        String(String.UnicodeScalarView(body.unicodeScalars.prefix(openingCharacters)))
    }

    /// The words and marks of `text`, in order.
    public static func tokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var word = ""
        func flush() {
            if !word.isEmpty {
                tokens.append(word)
                word = ""
            }
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "a"..."z": word.unicodeScalars.append(scalar)
            case "A"..."Z": word.unicodeScalars.append(Unicode.Scalar(scalar.value + 32)!)
            case "'", "\u{2019}": word.append("'")
            case ".", ",", "!", "?", ":", ";":
                flush()
                tokens.append(String(scalar))
            default: flush()
            }
        }
        flush()
        return tokens
    }

    /// The `w:` features of an opening: every word and every pair of neighbours.
    public static func grams(opening: String) -> Set<String> {
        let words = tokens(opening)
        var grams = Set(words.map { "w:" + $0 })
        for index in words.indices.dropLast() { grams.insert("w:\(words[index]) \(words[index + 1])") }
        return grams
    }

    public static func logLength(_ text: String) -> Double { log1p(Double(text.utf8.count)) / 8 }
}

/// A lexical rule ready to score: its cue patterns compiled, the classifier's weights looked up by feature name.
public struct CompiledLexicalRule: Sendable {
    public let definition: RuleDefinition
    public let pack: String
    public var id: String { definition.id }
    let cues: [Pattern]
    let openingCueWeights: [Double]
    let bodyCueWeights: [Double]
    let gramWeights: [String: Double]
    let lengthWeight: Double
    let bias: Double
    let threshold: Double

    /// Compiles the cues and maps the classifier's features onto them. Every cue must have both weights and every
    /// feature must name a cue of the rule (else the file was trained for other cues: retrain).
    public init(definition: RuleDefinition, pack: String, limits: Pattern.Limits) throws(RuleLoadFailure) {
        self.definition = definition
        self.pack = pack
        var errors: [InspectionError] = []
        var cues: [Pattern] = []
        for cue in definition.cues {
            do {
                cues.append(
                    try Pattern(
                        cue.pattern.text, options: definition.caseInsensitive ? [.caseInsensitive] : [],
                        limits: limits))
            } catch {
                errors.append(
                    InspectionError(
                        .invalidPattern, "cue `\(cue.id)`: \(error.message)", file: cue.pattern.location.file,
                        line: cue.pattern.location.line, column: cue.pattern.location.column, ruleID: definition.id))
            }
        }
        guard let classifier = definition.classifier, let features = classifier.model.features else {
            throw RuleLoadFailure(
                errors + [
                    InspectionError(
                        .invalidClassifier, "a lexical rule needs a classifier with named features",
                        file: definition.location.file, line: definition.location.line, ruleID: definition.id)
                ])
        }
        let cueIndex = Dictionary(uniqueKeysWithValues: definition.cues.enumerated().map { ($1.id, $0) })
        var opening = [Double?](repeating: nil, count: definition.cues.count)
        var body = [Double?](repeating: nil, count: definition.cues.count)
        var grams: [String: Double] = [:]
        var length: Double?
        var unknown: [String] = []
        for (name, weight) in zip(features, classifier.model.weights) {
            let weight = Double(weight)
            if name.hasPrefix("w:") {
                grams[name] = weight
            } else if name == LexicalFeatures.lengthFeature {
                length = weight
            } else if name.hasPrefix("opening:"), let index = cueIndex[String(name.dropFirst(8))] {
                opening[index] = weight
            } else if name.hasPrefix("body:"), let index = cueIndex[String(name.dropFirst(5))] {
                body[index] = weight
            } else {
                unknown.append(name)
            }
        }
        let unweighted = definition.cues.indices.filter { opening[$0] == nil || body[$0] == nil }
            .map { definition.cues[$0].id }
        if !unknown.isEmpty || !unweighted.isEmpty || length == nil {
            var problems: [String] = []
            if !unknown.isEmpty {
                problems.append("features not among the rule's cues: \(unknown.prefix(5).joined(separator: ", "))")
            }
            if !unweighted.isEmpty { problems.append("cues without weights: \(unweighted.joined(separator: ", "))") }
            if length == nil { problems.append("no `\(LexicalFeatures.lengthFeature)` weight") }
            errors.append(
                InspectionError(
                    .invalidClassifier,
                    "classifier file `\(classifier.path)` was not trained for this rule's cues ("
                        + problems.joined(separator: "; ") + "); retrain it with `airlock rules train --lexical "
                        + "\(definition.id)`",
                    file: classifier.location.file, line: classifier.location.line,
                    column: classifier.location.column, ruleID: definition.id))
        }
        guard errors.isEmpty else { throw RuleLoadFailure(errors) }
        self.cues = cues
        self.openingCueWeights = opening.map { $0 ?? 0 }
        self.bodyCueWeights = body.map { $0 ?? 0 }
        self.gramWeights = grams
        self.lengthWeight = length ?? 0
        self.bias = classifier.model.bias
        self.threshold = classifier.threshold
    }

    /// The classifier's probability that `text` is a refusal. A cue that hits a match limit counts as absent.
    public func probability(_ text: String) -> Double {
        let body = LexicalFeatures.body(of: text)
        let opening = LexicalFeatures.opening(ofBody: body)
        var sum = bias + lengthWeight * LexicalFeatures.logLength(text)
        for gram in LexicalFeatures.grams(opening: opening) { sum += gramWeights[gram] ?? 0 }
        for (index, cue) in cues.enumerated() {
            if openingCueWeights[index] != 0, (try? cue.matches(opening)) == true { sum += openingCueWeights[index] }
            if bodyCueWeights[index] != 0, (try? cue.matches(body)) == true { sum += bodyCueWeights[index] }
        }
        return LogisticClassifier.sigmoid(sum)
    }

    /// The probability when it reaches the threshold, else nil.
    public func evidence(_ text: String) -> Double? {
        let score = probability(text)
        return score >= threshold ? score : nil
    }
}

extension LexicalFeatures {
    /// The feature values of `text` for a rule's cues, in the order `names` lists them (training).
    public static func vector(
        _ text: String, names: [String], cues: [(id: String, pattern: Pattern)]
    ) -> [Float] {
        let body = body(of: text)
        let opening = opening(ofBody: body)
        var present = grams(opening: opening)
        for cue in cues {
            if (try? cue.pattern.matches(opening)) == true { present.insert("opening:" + cue.id) }
            if (try? cue.pattern.matches(body)) == true { present.insert("body:" + cue.id) }
        }
        let length = Float(logLength(text))
        return names.map { $0 == lengthFeature ? length : (present.contains($0) ? 1 : 0) }
    }
}
