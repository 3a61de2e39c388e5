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
    let cues: [(id: String, pattern: Pattern)]
    /// The weight of every named feature but the length.
    let weights: [String: Double]
    let lengthWeight: Double
    let bias: Double
    let threshold: Double

    /// Compiles the cues and maps the classifier's features onto them. Every cue must have both weights and every
    /// feature must name a cue of the rule (else the file was trained for other cues: retrain).
    public init(definition: RuleDefinition, pack: String, limits: Pattern.Limits) throws(RuleLoadFailure) {
        self.definition = definition
        self.pack = pack
        var errors: [InspectionError] = []
        var cues: [(id: String, pattern: Pattern)] = []
        for cue in definition.cues {
            do {
                cues.append(
                    (cue.id, try Pattern(
                        cue.pattern.text, options: definition.caseInsensitive ? [.caseInsensitive] : [],
                        limits: limits)))
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
        let named = Set(features)
        let cueIDs = Set(definition.cues.map(\.id))
        let length = zip(features, classifier.model.weights).first { $0.0 == LexicalFeatures.lengthFeature }
            .map { Double($0.1) }
        let unknown = features.filter { name in
            !(name.hasPrefix("w:") || name == LexicalFeatures.lengthFeature
                || (name.hasPrefix("opening:") && cueIDs.contains(String(name.dropFirst(8))))
                || (name.hasPrefix("body:") && cueIDs.contains(String(name.dropFirst(5)))))
        }
        let unweighted = definition.cues.map(\.id).filter {
            !named.contains("opening:" + $0) || !named.contains("body:" + $0)
        }
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
        self.weights = Dictionary(
            zip(features, classifier.model.weights.map(Double.init)).filter { $0.0 != LexicalFeatures.lengthFeature },
            uniquingKeysWith: { first, _ in first })
        self.lengthWeight = length ?? 0
        self.bias = classifier.model.bias
        self.threshold = classifier.threshold
    }

    /// The classifier's probability that `text` is a refusal. A cue that hits a match limit counts as absent.
    public func probability(_ text: String) -> Double {
        var sum = bias + lengthWeight * LexicalFeatures.logLength(text)
        for feature in LexicalFeatures.present(in: text, cues: cues) { sum += weights[feature] ?? 0 }
        return LogisticClassifier.sigmoid(sum)
    }

    /// The probability when it reaches the threshold, else nil.
    public func evidence(_ text: String) -> Double? {
        let score = probability(text)
        return score >= threshold ? score : nil
    }
}

extension LexicalFeatures {
    /// The binary features `text` has (every `w:` gram of its opening, and `opening:`/`body:` for each cue that
    /// matches): what training and scoring both read.
    public static func present(in text: String, cues: [(id: String, pattern: Pattern)]) -> Set<String> {
        let body = body(of: text)
        let opening = opening(ofBody: body)
        var present = grams(opening: opening)
        for cue in cues {
            if (try? cue.pattern.matches(opening)) == true { present.insert("opening:" + cue.id) }
            if (try? cue.pattern.matches(body)) == true { present.insert("body:" + cue.id) }
        }
        return present
    }

    /// The feature values of `text` for a rule's cues, in the order `names` lists them (training).
    public static func vector(
        _ text: String, names: [String], cues: [(id: String, pattern: Pattern)]
    ) -> [Float] {
        let present = present(in: text, cues: cues)
        let length = Float(logLength(text))
        return names.map { $0 == lengthFeature ? length : (present.contains($0) ? 1 : 0) }
    }
}
