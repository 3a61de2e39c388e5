import Digest
public import Foundation

/// Logistic regression over an embedding vector: `sigmoid(w·x + b)` is the probability that the text is in the
/// positive class (an injection, a refusal). Trained by `airlock rules train`, stored as JSON beside the pack that
/// names it (`classifier:` on a semantic rule), and read only at load: the hot path is one dot product.
public struct LogisticClassifier: Sendable, Hashable, Codable {
    /// The `format` value this version reads and writes.
    public static let currentFormat = "airlock-logistic/1"

    public var format: String
    /// The embedding model the weights were trained on (informational; only `dimensions` is checked at load).
    public var embedding: String
    public var dimensions: Int
    /// One weight per embedding dimension, stored at `Float` precision (the vectors are `Float` too).
    public var weights: [Float]
    public var bias: Double
    /// Probability at or above which a text counts as positive, chosen on out-of-fold predictions.
    public var threshold: Double
    /// How the weights were trained and measured; nil for hand-made files (tests).
    public var trained: TrainingRecord?
    /// The name of each weight, for a classifier over named features (a lexical rule's words and cues); nil for
    /// one over an embedding.
    public var features: [String]?

    public init(
        embedding: String, weights: [Float], bias: Double, threshold: Double, trained: TrainingRecord? = nil,
        features: [String]? = nil
    ) {
        self.features = features
        self.format = Self.currentFormat
        self.embedding = embedding
        self.dimensions = weights.count
        self.weights = weights
        self.bias = bias
        self.threshold = threshold
        self.trained = trained
    }

    /// `w·x + b`.
    public func logit(_ vector: [Float]) -> Double {
        var sum = 0.0
        for index in 0..<min(weights.count, vector.count) { sum += Double(weights[index]) * Double(vector[index]) }
        return sum + bias
    }

    /// `sigmoid(w·x + b)`.
    public func probability(_ vector: [Float]) -> Double { Self.sigmoid(logit(vector)) }

    static func sigmoid(_ z: Double) -> Double {
        z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
    }

    // MARK: - File format

    /// The file's JSON: snake_case keys, sorted, indented (so a retrained file diffs readably).
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Every field is a plain number, string or array: encoding cannot fail.
        return (try? encoder.encode(self)) ?? Data()
    }

    /// Reads and validates a classifier file's contents. The message of the error says what is wrong, not where
    /// (the caller knows the file and the rule).
    public static func decode(_ data: Data) throws(InspectionError) -> LogisticClassifier {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let classifier: LogisticClassifier
        do {
            classifier = try decoder.decode(LogisticClassifier.self, from: data)
        } catch let error as DecodingError {
            throw InspectionError(.invalidClassifier, "not a classifier file: \(Self.describe(error))")
        } catch {
            throw InspectionError(.invalidClassifier, "not a classifier file: \(error)")
        }
        try classifier.validate()
        return classifier
    }

    /// Checks what the decoder cannot: the format, the vector length, finite numbers, a threshold in 0…1.
    public func validate() throws(InspectionError) {
        guard format == Self.currentFormat else {
            throw InspectionError(.invalidClassifier, "format `\(format)` is not \(Self.currentFormat)")
        }
        guard dimensions > 0, weights.count == dimensions else {
            throw InspectionError(
                .invalidClassifier, "\(weights.count) weights for \(dimensions) dimensions; they must be equal")
        }
        if let features, features.count != dimensions || Set(features).count != features.count {
            throw InspectionError(
                .invalidClassifier, "\(features.count) feature names for \(dimensions) weights; they must be distinct, one each")
        }
        guard weights.allSatisfy(\.isFinite), bias.isFinite else {
            throw InspectionError(.invalidClassifier, "weights and bias must be finite numbers")
        }
        guard (0...1).contains(threshold) else {
            throw InspectionError(.invalidClassifier, "threshold \(threshold) is not in 0…1")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        // Keys as the file spells them (snake_case), not as Swift does.
        func fileKey(_ key: any CodingKey) -> String {
            if let index = key.intValue { return "[\(index)]" }
            return key.stringValue.reduce(into: "") { name, character in
                if character.isUppercase { name += "_" + character.lowercased() } else { name.append(character) }
            }
        }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map(fileKey)
            return keys.isEmpty ? "" : " at `\(keys.joined(separator: "."))`"
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing `\(fileKey(key))`\(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return context.debugDescription + path(context)
        @unknown default: return "\(error)"
        }
    }
}

/// Out-of-fold (or baseline) detection counts at one threshold.
public struct DetectionCounts: Sendable, Hashable, Codable {
    public var tp = 0
    public var fp = 0
    public var tn = 0
    public var fn = 0

    public init(tp: Int = 0, fp: Int = 0, tn: Int = 0, fn: Int = 0) {
        self.tp = tp
        self.fp = fp
        self.tn = tn
        self.fn = fn
    }

    /// Counts one prediction.
    public mutating func add(truth: Bool, predicted: Bool) {
        switch (truth, predicted) {
        case (true, true): tp += 1
        case (false, true): fp += 1
        case (false, false): tn += 1
        case (true, false): fn += 1
        }
    }

    /// 0 when nothing was predicted positive.
    public var precision: Double { tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp) }
    /// Detection rate; 0 when there are no positives.
    public var recall: Double { tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn) }
    public var falsePositiveRate: Double { fp + tn == 0 ? 0 : Double(fp) / Double(fp + tn) }

    private enum CodingKeys: String, CodingKey {
        case tp, fp, tn, fn, precision, recall, falsePositiveRate
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tp = try container.decode(Int.self, forKey: .tp)
        fp = try container.decode(Int.self, forKey: .fp)
        tn = try container.decode(Int.self, forKey: .tn)
        fn = try container.decode(Int.self, forKey: .fn)
    }

    /// The counts and, for readers of the file, the three rates they imply (rounded to 4 places).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tp, forKey: .tp)
        try container.encode(fp, forKey: .fp)
        try container.encode(tn, forKey: .tn)
        try container.encode(fn, forKey: .fn)
        try container.encode(Self.rounded(precision), forKey: .precision)
        try container.encode(Self.rounded(recall), forKey: .recall)
        try container.encode(Self.rounded(falsePositiveRate), forKey: .falsePositiveRate)
    }

    static func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }

    public static func + (lhs: DetectionCounts, rhs: DetectionCounts) -> DetectionCounts {
        DetectionCounts(tp: lhs.tp + rhs.tp, fp: lhs.fp + rhs.fp, tn: lhs.tn + rhs.tn, fn: lhs.fn + rhs.fn)
    }
}

/// Detection counts per data file and over all of them.
public struct DetectionReport: Sendable, Hashable, Codable {
    public struct FileCounts: Sendable, Hashable, Codable {
        public var name: String
        public var counts: DetectionCounts
        public init(name: String, counts: DetectionCounts) {
            self.name = name
            self.counts = counts
        }
    }

    /// What was measured: a rule id or a pack, or nil for the classifier itself.
    public var rule: String?
    /// The threshold the counts were taken at (nil for a whole pack, whose rules each have their own).
    public var threshold: Double?
    public var files: [FileCounts]
    public var overall: DetectionCounts

    public init(rule: String? = nil, threshold: Double?, files: [FileCounts]) {
        self.rule = rule
        self.threshold = threshold
        self.files = files
        self.overall = files.reduce(DetectionCounts()) { $0 + $1.counts }
    }

    /// Counts of `predicted` against `labels`, split by `sources` (indices into `names`).
    public init(
        rule: String? = nil, threshold: Double?, names: [String], sources: [Int], labels: [Bool], predicted: [Bool]
    ) {
        var counts = [DetectionCounts](repeating: DetectionCounts(), count: names.count)
        for index in labels.indices where names.indices.contains(sources[index]) {
            counts[sources[index]].add(truth: labels[index], predicted: predicted[index])
        }
        self.init(
            rule: rule, threshold: threshold,
            files: zip(names, counts).map { FileCounts(name: $0.0, counts: $0.1) })
    }
}

/// How a classifier file came to be: its data, its settings, and what it scored out of fold.
public struct TrainingRecord: Sendable, Hashable, Codable {
    /// One training file: its base name, the SHA-256 of its bytes, and the labeled rows used.
    public struct DataFile: Sendable, Hashable, Codable {
        public var name: String
        public var sha256: String
        public var rows: Int
        public init(name: String, sha256: String, rows: Int) {
            self.name = name
            self.sha256 = sha256
            self.rows = rows
        }

        /// Hashes `contents` (the file's bytes).
        public init(name: String, contents: Data, rows: Int) {
            self.init(name: name, sha256: SHA256.hex(Array(contents)), rows: rows)
        }
    }

    public var files: [DataFile]
    /// What the text of a row is (`text`, `response[0..<400]`).
    public var input: String
    public var folds: Int
    public var seed: UInt64
    /// The L2 penalty the weights were fitted with.
    public var l2: Double
    /// Every penalty cross-validated, with its out-of-fold threshold and counts; `l2` had the best recall.
    public var l2Trials: [L2Trial]?
    public var maxFalsePositiveRate: Double
    /// Out-of-fold counts at the stored threshold: the honest estimate of what the classifier does on unseen rows.
    public var crossValidation: DetectionReport
    /// The pack's nearest-exemplar rule on the same rows (no training involved), for comparison.
    public var nearestExemplarBaseline: DetectionReport?
    /// The whole pack without this classifier's rule on the same rows (no training involved).
    public var packWithoutClassifier: DetectionReport?
    /// That pack or the classifier's out-of-fold verdict: what the pack with the classifier rule is expected to do
    /// on rows it was not trained on.
    public var packWithClassifierOutOfFold: DetectionReport?

    public init(
        files: [DataFile], input: String, folds: Int, seed: UInt64, l2: Double, l2Trials: [L2Trial]? = nil,
        maxFalsePositiveRate: Double,
        crossValidation: DetectionReport, nearestExemplarBaseline: DetectionReport? = nil,
        packWithoutClassifier: DetectionReport? = nil, packWithClassifierOutOfFold: DetectionReport? = nil
    ) {
        self.files = files
        self.input = input
        self.folds = folds
        self.seed = seed
        self.l2 = l2
        self.l2Trials = l2Trials
        self.maxFalsePositiveRate = maxFalsePositiveRate
        self.crossValidation = crossValidation
        self.nearestExemplarBaseline = nearestExemplarBaseline
        self.packWithoutClassifier = packWithoutClassifier
        self.packWithClassifierOutOfFold = packWithClassifierOutOfFold
    }
}

/// One L2 penalty's out-of-fold result: the threshold chosen for it and the counts there.
public struct L2Trial: Sendable, Hashable, Codable {
    public var l2: Double
    public var threshold: Double
    public var overall: DetectionCounts

    public init(l2: Double, threshold: Double, overall: DetectionCounts) {
        self.l2 = l2
        self.threshold = threshold
        self.overall = overall
    }
}
