import Foundation

/// Labeled vectors to train and cross-validate a `LogisticClassifier` on.
public struct LabeledVectors: Sendable {
    public var vectors: [[Float]]
    public var labels: [Bool]
    /// Index into `sourceNames` of the file each row came from (threshold and counts are per file too).
    public var sources: [Int]
    public var sourceNames: [String]
    /// Rows with the same key (the text) always land in the same fold, so a duplicate cannot be scored by a model
    /// that was trained on its twin. Nil: every row is its own group.
    public var groupKeys: [String]?
    /// Rows the rest of the detector (the pack's other rules) already flags: they count as positive at every
    /// threshold, so the chosen threshold keeps the detector's false-positive rate, not the classifier's alone,
    /// within the budget. Nil: none.
    public var flaggedElsewhere: [Bool]?

    public init(
        vectors: [[Float]], labels: [Bool], sources: [Int]? = nil, sourceNames: [String] = ["data"],
        groupKeys: [String]? = nil, flaggedElsewhere: [Bool]? = nil
    ) {
        self.flaggedElsewhere = flaggedElsewhere
        self.vectors = vectors
        self.labels = labels
        self.sources = sources ?? [Int](repeating: 0, count: labels.count)
        self.sourceNames = sourceNames
        self.groupKeys = groupKeys
    }

    public var count: Int { labels.count }

    func subset(_ rows: [Int]) -> LabeledVectors {
        LabeledVectors(
            vectors: rows.map { vectors[$0] }, labels: rows.map { labels[$0] }, sources: rows.map { sources[$0] },
            sourceNames: sourceNames, groupKeys: groupKeys.map { keys in rows.map { keys[$0] } },
            flaggedElsewhere: flaggedElsewhere.map { flags in rows.map { flags[$0] } })
    }
}

extension LogisticClassifier {
    /// Settings of `train` and `crossValidate`.
    public struct TrainingOptions: Sendable, Hashable {
        /// The L2 penalties tried by default: a decade apart, from barely regularised to strongly.
        public static let defaultL2Candidates: [Double] = [1e-4, 1e-3, 1e-2, 1e-1]

        /// k of k-fold cross-validation.
        public var folds: Int
        /// L2 penalties on the weights (not the bias), per unit of the mean sample loss. Each is cross-validated
        /// on the same folds; the one with the highest out-of-fold recall within the budget is kept.
        public var l2Candidates: [Double]
        /// The chosen threshold keeps the out-of-fold false-positive rate at or below this on every source file.
        public var maxFalsePositiveRate: Double
        /// Seeds the fold assignment (SplitMix64), so the same data always splits the same way.
        public var seed: UInt64
        /// Newton iterations at most (it converges in under ten).
        public var maxIterations: Int

        public init(
            folds: Int = 5, l2: [Double] = defaultL2Candidates, maxFalsePositiveRate: Double = 0.01,
            seed: UInt64 = 20_250_601, maxIterations: Int = 50
        ) {
            self.folds = folds
            self.l2Candidates = l2
            self.maxFalsePositiveRate = maxFalsePositiveRate
            self.seed = seed
            self.maxIterations = maxIterations
        }
    }

    /// Out-of-fold predictions and the threshold chosen on them.
    public struct CrossValidation: Sendable {
        /// The L2 penalty kept.
        public var l2: Double
        /// Fold of each row.
        public var folds: [Int]
        /// Each row's probability from the model trained on the other folds (with `l2`).
        public var scores: [Double]
        public var threshold: Double
        /// Out-of-fold counts at `threshold`, per source file and overall.
        public var report: DetectionReport
        /// Every penalty tried, with its own out-of-fold threshold and counts.
        public var trials: [L2Trial]
    }

    /// k-fold cross-validation: fold assignment stratified by source and label (seeded, duplicates together), one
    /// model per fold trained on the others, the threshold chosen on the pooled out-of-fold scores. With several L2
    /// candidates, each runs on the same folds and the best out-of-fold recall within the budget wins (then the
    /// fewest false positives, then the stronger penalty). The penalty and the threshold are both chosen on the
    /// out-of-fold predictions that are reported, as any tuning on one data set is; held-out test data is the
    /// final check.
    public static func crossValidate(_ data: LabeledVectors, options: TrainingOptions = .init())
        throws(InspectionError) -> CrossValidation
    {
        try check(data, options: options)
        let folds = foldAssignment(data, folds: options.folds, seed: options.seed)
        var best: CrossValidation?
        var trials: [L2Trial] = []
        for l2 in options.l2Candidates {
            var scores = [Double](repeating: 0, count: data.count)
            for fold in 0..<options.folds {
                let training = data.subset(data.labels.indices.filter { folds[$0] != fold })
                guard Set(training.labels).count == 2 else {
                    throw InspectionError(
                        .invalidTrainingData, "fold \(fold + 1) leaves only one class to train on; use fewer folds")
                }
                let (weights, bias) = fit(training, l2: l2, maxIterations: options.maxIterations)
                for row in data.labels.indices where folds[row] == fold {
                    var sum = bias
                    for (w, x) in zip(weights, data.vectors[row]) { sum += w * Double(x) }
                    scores[row] = sigmoid(sum)
                }
            }
            let threshold = selectThreshold(
                scores: scores, labels: data.labels, sources: data.sources,
                maxFalsePositiveRate: options.maxFalsePositiveRate, flaggedElsewhere: data.flaggedElsewhere)
            let report = DetectionReport(
                threshold: threshold, names: data.sourceNames, sources: data.sources, labels: data.labels,
                predicted: scores.map { $0 >= threshold })
            trials.append(L2Trial(l2: l2, threshold: threshold, overall: report.overall))
            let candidate = CrossValidation(
                l2: l2, folds: folds, scores: scores, threshold: threshold, report: report, trials: [])
            if let current = best {
                let (a, b) = (report.overall, current.report.overall)
                if a.tp > b.tp || (a.tp == b.tp && (a.fp < b.fp || (a.fp == b.fp && l2 > current.l2))) {
                    best = candidate
                }
            } else {
                best = candidate
            }
        }
        guard var chosen = best else {
            throw InspectionError(.invalidTrainingData, "no L2 penalty to try")
        }
        chosen.trials = trials
        return chosen
    }

    /// Cross-validates, then fits on every row with the penalty kept: the returned classifier carries the
    /// out-of-fold threshold and, in `trained`, the out-of-fold counts (never counts on its own training rows).
    public static func train(
        _ data: LabeledVectors, options: TrainingOptions = .init(), embedding: String, files: [TrainingRecord.DataFile],
        input: String
    ) throws(InspectionError) -> (classifier: LogisticClassifier, crossValidation: CrossValidation) {
        let validation = try crossValidate(data, options: options)
        let (weights, bias) = fit(data, l2: validation.l2, maxIterations: options.maxIterations)
        let record = TrainingRecord(
            files: files, input: input, folds: options.folds, seed: options.seed, l2: validation.l2,
            l2Trials: validation.trials, maxFalsePositiveRate: options.maxFalsePositiveRate,
            crossValidation: validation.report)
        let classifier = LogisticClassifier(
            embedding: embedding, weights: weights.map { Float($0) }, bias: bias, threshold: validation.threshold,
            trained: record)
        return (classifier, validation)
    }

    private static func check(_ data: LabeledVectors, options: TrainingOptions) throws(InspectionError) {
        guard data.vectors.count == data.count, data.sources.count == data.count,
            data.groupKeys.map({ $0.count == data.count }) ?? true,
            data.flaggedElsewhere.map({ $0.count == data.count }) ?? true
        else {
            throw InspectionError(.invalidTrainingData, "vectors, labels, sources and keys differ in length")
        }
        guard let dimensions = data.vectors.first?.count, dimensions > 0,
            data.vectors.allSatisfy({ $0.count == dimensions })
        else {
            throw InspectionError(.invalidTrainingData, "the vectors are empty or differ in length")
        }
        guard data.sources.allSatisfy({ data.sourceNames.indices.contains($0) }) else {
            throw InspectionError(.invalidTrainingData, "a row names a source file that is not listed")
        }
        let positives = data.labels.filter { $0 }.count
        guard positives >= options.folds, data.count - positives >= options.folds else {
            throw InspectionError(
                .invalidTrainingData,
                "\(positives) positive and \(data.count - positives) negative rows; each class needs at least as many "
                    + "rows as folds (\(options.folds))")
        }
        guard options.folds >= 2 else { throw InspectionError(.invalidTrainingData, "folds must be at least 2") }
        guard !options.l2Candidates.isEmpty, options.l2Candidates.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw InspectionError(
                .invalidTrainingData, "l2 must be positive numbers (separable data has no finite fit without a penalty)"
            )
        }
        guard (0...1).contains(options.maxFalsePositiveRate) else {
            throw InspectionError(.invalidTrainingData, "the maximum false-positive rate must be in 0…1")
        }
    }

    // MARK: - Folds

    /// Stratified by (source, label): the distinct group keys of each stratum are shuffled with a seeded generator
    /// and dealt round-robin, the dealer carrying on across strata so the folds come out the same size.
    static func foldAssignment(_ data: LabeledVectors, folds: Int, seed: UInt64) -> [Int] {
        // Each group (distinct key) belongs to the stratum of its first row.
        var groupOfRow = [Int](repeating: 0, count: data.count)
        var groupStratum: [Int] = []
        var groupIndex: [String: Int] = [:]
        let strata = data.sourceNames.count * 2
        for row in 0..<data.count {
            let key = data.groupKeys?[row]
            if let key, let existing = groupIndex[key] {
                groupOfRow[row] = existing
                continue
            }
            let group = groupStratum.count
            groupStratum.append(data.sources[row] * 2 + (data.labels[row] ? 1 : 0))
            if let key { groupIndex[key] = group }
            groupOfRow[row] = group
        }
        var generator = SplitMix64(seed: seed)
        var foldOfGroup = [Int](repeating: 0, count: groupStratum.count)
        var dealt = 0
        for stratum in 0..<strata {
            var members = groupStratum.indices.filter { groupStratum[$0] == stratum }
            generator.shuffle(&members)
            for group in members {
                foldOfGroup[group] = dealt % folds
                dealt += 1
            }
        }
        return groupOfRow.map { foldOfGroup[$0] }
    }

    // MARK: - Threshold

    /// The threshold with the highest recall whose false-positive rate is at most `maxFalsePositiveRate` on every
    /// source (and so overall); among equal recall the fewest false positives. It lies halfway between the lowest
    /// score counted positive and the next score below, so it does not sit on a training point.
    ///
    /// Rows in `flaggedElsewhere` count as positive whatever the threshold (the rest of the detector flags them).
    public static func selectThreshold(
        scores: [Double], labels: [Bool], sources: [Int], maxFalsePositiveRate: Double,
        flaggedElsewhere: [Bool]? = nil
    ) -> Double {
        let flagged = flaggedElsewhere ?? [Bool](repeating: false, count: scores.count)
        let order = scores.indices.filter { !flagged[$0] }.sorted { scores[$0] > scores[$1] }
        let sourceCount = (sources.max() ?? 0) + 1
        var negatives = [Int](repeating: 0, count: sourceCount)
        for (label, source) in zip(labels, sources) where !label { negatives[source] += 1 }
        var falsePositives = [Int](repeating: 0, count: sourceCount)
        var truePositives = 0
        var fpTotal = 0
        for row in scores.indices where flagged[row] {
            if labels[row] {
                truePositives += 1
            } else {
                falsePositives[sources[row]] += 1
                fpTotal += 1
            }
        }
        // Cut after position `cut` (exclusive): rows order[0..<cut] are predicted positive.
        var best = (cut: 0, tp: truePositives, fp: fpTotal)
        var position = 0
        while position < order.count {
            // Equal scores fall on the same side of any threshold: take them together.
            let score = scores[order[position]]
            while position < order.count && scores[order[position]] == score {
                let row = order[position]
                if labels[row] {
                    truePositives += 1
                } else {
                    falsePositives[sources[row]] += 1
                    fpTotal += 1
                }
                position += 1
            }
            let feasible = (0..<sourceCount).allSatisfy { source in
                negatives[source] == 0
                    || Double(falsePositives[source]) <= maxFalsePositiveRate * Double(negatives[source]) + 1e-12
            }
            if feasible && (truePositives > best.tp || (truePositives == best.tp && fpTotal < best.fp)) {
                best = (position, truePositives, fpTotal)
            }
        }
        guard best.cut > 0 else {
            // Nothing can be flagged within the budget: a threshold above every score.
            let top = order.first.map { scores[$0] } ?? 0.5
            return min(1, (top + 1) / 2)
        }
        let lowestIn = scores[order[best.cut - 1]]
        let nextOut = best.cut < order.count ? scores[order[best.cut]] : 0
        return (lowestIn + nextOut) / 2
    }

    // MARK: - Fitting

    /// Class-balanced, L2-regularised logistic regression by Newton's method with a backtracking line search:
    /// minimises `(1/n) Σ cᵢ·logloss(yᵢ, σ(w·xᵢ + b)) + (l2/2)·|w|²`, where `cᵢ = n / (2·n_class)` so both classes
    /// weigh the same. Deterministic: a fixed start (zero), a fixed order of summation, no randomness.
    static func fit(_ data: LabeledVectors, l2: Double, maxIterations: Int) -> (weights: [Double], bias: Double) {
        let n = data.count
        let d = data.vectors.first?.count ?? 0
        let width = d + 1  // the last column is the bias
        var matrix = [Double](repeating: 0, count: n * width)
        for row in 0..<n {
            for column in 0..<d { matrix[row * width + column] = Double(data.vectors[row][column]) }
            matrix[row * width + d] = 1
        }
        let x = matrix
        let positives = data.labels.filter { $0 }.count
        // Each class carries half of the total weight, however many rows it has.
        let sampleWeight = data.labels.map { label in 1 / (2 * Double(label ? positives : n - positives)) }
        let y = data.labels.map { $0 ? 1.0 : 0.0 }
        var theta = [Double](repeating: 0, count: width)

        func margins(_ theta: [Double]) -> [Double] {
            var z = [Double](repeating: 0, count: n)
            x.withUnsafeBufferPointer { x in
                for row in 0..<n {
                    var sum = 0.0
                    let base = row * width
                    for column in 0..<width { sum += x[base + column] * theta[column] }
                    z[row] = sum
                }
            }
            return z
        }
        func objective(_ theta: [Double], _ z: [Double]) -> Double {
            var loss = 0.0
            for row in 0..<n {
                // log(1 + e^z) - y·z, computed without overflow.
                let softplus = z[row] > 0 ? z[row] + log1p(exp(-z[row])) : log1p(exp(z[row]))
                loss += sampleWeight[row] * (softplus - y[row] * z[row])
            }
            var norm = 0.0
            for column in 0..<d { norm += theta[column] * theta[column] }
            return loss + l2 / 2 * norm
        }

        var z = margins(theta)
        var value = objective(theta, z)
        for _ in 0..<maxIterations {
            var gradient = [Double](repeating: 0, count: width)
            var hessian = [Double](repeating: 0, count: width * width)
            x.withUnsafeBufferPointer { x in
                gradient.withUnsafeMutableBufferPointer { gradient in
                    hessian.withUnsafeMutableBufferPointer { hessian in
                        for row in 0..<n {
                            let p = sigmoid(z[row])
                            let residual = sampleWeight[row] * (p - y[row])
                            let curvature = sampleWeight[row] * p * (1 - p)
                            let base = row * width
                            for j in 0..<width {
                                let xj = x[base + j]
                                gradient[j] += residual * xj
                                let scaled = curvature * xj
                                if scaled == 0 { continue }
                                let hRow = j * width
                                for k in j..<width { hessian[hRow + k] += scaled * x[base + k] }
                            }
                        }
                    }
                }
            }
            for j in 0..<d {
                gradient[j] += l2 * theta[j]
                hessian[j * width + j] += l2
            }
            hessian[d * width + d] += 1e-9  // keeps the bias row positive definite when every p saturates
            for j in 0..<width { for k in 0..<j { hessian[j * width + k] = hessian[k * width + j] } }
            guard let step = solveSymmetricPositiveDefinite(hessian, gradient, size: width) else { break }
            let decrement = zip(gradient, step).reduce(0) { $0 + $1.0 * $1.1 }
            if decrement / 2 < 1e-12 { break }
            // Backtracking (Armijo) line search on the objective.
            var scale = 1.0
            var accepted = false
            for _ in 0..<40 {
                let candidate = zip(theta, step).map { $0 - scale * $1 }
                let candidateZ = margins(candidate)
                let candidateValue = objective(candidate, candidateZ)
                if candidateValue <= value - 1e-4 * scale * decrement {
                    theta = candidate
                    z = candidateZ
                    value = candidateValue
                    accepted = true
                    break
                }
                scale /= 2
            }
            if !accepted { break }
        }
        return (Array(theta[0..<d]), theta[d])
    }

    /// Solves `A·v = b` for a symmetric positive-definite `A` (row-major) by Cholesky; nil if `A` is not.
    static func solveSymmetricPositiveDefinite(_ a: [Double], _ b: [Double], size: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: size * size)
        for i in 0..<size {
            for j in 0...i {
                var sum = a[i * size + j]
                for k in 0..<j { sum -= l[i * size + k] * l[j * size + k] }
                if i == j {
                    guard sum > 0 else { return nil }
                    l[i * size + i] = sum.squareRoot()
                } else {
                    l[i * size + j] = sum / l[j * size + j]
                }
            }
        }
        var v = b
        for i in 0..<size {
            var sum = v[i]
            for k in 0..<i { sum -= l[i * size + k] * v[k] }
            v[i] = sum / l[i * size + i]
        }
        for i in stride(from: size - 1, through: 0, by: -1) {
            var sum = v[i]
            for k in (i + 1)..<size { sum -= l[k * size + i] * v[k] }
            v[i] = sum / l[i * size + i]
        }
        return v
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator, so fold assignment is the same on every run and
/// every platform (the standard library's generator is not seedable).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Fisher–Yates with this generator. (`Array.shuffle(using:)` would do, but its draws are an implementation
    /// detail of the standard library; this order is fixed.)
    mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            array.swapAt(i, j)
        }
    }
}
