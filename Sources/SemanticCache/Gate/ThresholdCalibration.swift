/// Threshold curves on labeled pairs, the way `airlock cache calibrate` reads them: pair by pair (each pair in a
/// namespace of its own) and crowded (every distinct `a` in one namespace, every `b` asked against all of them).
///
/// The crowded curve replays the cache's lookup without Redis: an exact hit when `b`'s exact text is stored, else
/// the `candidates` nearest entries by cosine at or above the threshold, in order, the first the lexical gate lets
/// through (at its required similarity) served. A hit is wrong unless the entry is labeled the same question as `b`
/// or the texts are identical, as in `airlock eval cache --crowded`.
public enum ThresholdCalibration {
    /// The thresholds swept: 0.800 to 0.999 in steps of 0.001.
    public static let thresholds: [Float] = (0...199).map { Float(800 + $0) / 1000 }

    public struct Pair: Sendable {
        /// Normalized texts (`CacheKey.normalize`): `a` is stored, `b` asked.
        public var a: String
        public var b: String
        public var same: Bool
        public init(a: String, b: String, same: Bool) {
            self.a = a
            self.b = b
            self.same = same
        }
    }

    public struct Point: Sendable, Equatable {
        public var threshold: Float
        // Pair by pair, the gate on.
        public var same = 0
        public var different = 0
        public var hitsSame = 0
        public var hitsDifferent = 0
        // Crowded.
        public var lookups = 0
        public var served = 0
        public var wrong = 0
        public var rightOnSame = 0

        public var precision: Double {
            hitsSame + hitsDifferent == 0 ? 1 : Double(hitsSame) / Double(hitsSame + hitsDifferent)
        }
        public var recall: Double { same == 0 ? 0 : Double(hitsSame) / Double(same) }
        public var falseHitRate: Double { different == 0 ? 0 : Double(hitsDifferent) / Double(different) }
        /// The share of crowded lookups served another question's answer.
        public var crowdedWrongRate: Double { lookups == 0 ? 0 : Double(wrong) / Double(lookups) }
        public var crowdedRecall: Double { same == 0 ? 0 : Double(rightOnSame) / Double(same) }
    }

    /// One curve over `thresholds` for one file's pairs of one script; `vector` gives a text's embedding.
    public static func curve(
        _ pairs: [Pair], vector: (String) -> [Float], gate: LexicalGate, candidates: Int
    ) -> [Point] {
        var points = thresholds.map { Point(threshold: $0) }
        func exact(_ text: String) -> String { text.lowercased() }

        // Pair by pair: the gate's required similarity does not depend on the base threshold but by addition.
        for pair in pairs {
            let similarity = similarity(vector(pair.a), vector(pair.b))
            let identical = exact(pair.a) == exact(pair.b)
            let margin: Float? = identical ? 0 : Self.margin(gate, query: pair.b, candidate: pair.a)
            for index in points.indices {
                let threshold = points[index].threshold
                let hit = identical || (margin.map { similarity >= threshold + $0 } ?? false)
                if pair.same {
                    points[index].same += 1
                    if hit { points[index].hitsSame += 1 }
                } else {
                    points[index].different += 1
                    if hit { points[index].hitsDifferent += 1 }
                }
            }
        }

        // Crowded: the entries are the distinct `a`, by exact text.
        var entries: [String] = []
        var entryByExact: [String: Int] = [:]
        for pair in pairs where entryByExact[exact(pair.a)] == nil {
            entryByExact[exact(pair.a)] = entries.count
            entries.append(pair.a)
        }
        var sameAs: [String: Set<Int>] = [:]
        for pair in pairs where pair.same {
            if let entry = entryByExact[exact(pair.a)] { sameAs[exact(pair.b), default: []].insert(entry) }
        }
        let entryVectors = entries.map(vector)
        let limit = max(1, candidates)
        for pair in pairs {
            let query = exact(pair.b)
            if entryByExact[query] != nil {
                // An exact hit at every threshold, and a right one.
                for index in points.indices {
                    points[index].lookups += 1
                    points[index].served += 1
                    if pair.same { points[index].rightOnSame += 1 }
                }
                continue
            }
            let queryVector = vector(pair.b)
            // The nearest `limit` entries, best first.
            var nearest: [(similarity: Float, entry: Int)] = []
            for (entry, entryVector) in entryVectors.enumerated() {
                let similarity = similarity(queryVector, entryVector)
                if nearest.count < limit || similarity > nearest[nearest.count - 1].similarity {
                    let position = nearest.firstIndex { similarity > $0.similarity } ?? nearest.count
                    nearest.insert((similarity, entry), at: position)
                    if nearest.count > limit { nearest.removeLast() }
                }
            }
            // Each candidate's margin once: nil when the gate rejects it.
            let margins: [Float?] = nearest.map { candidate in
                exact(entries[candidate.entry]) == query
                    ? nil : Self.margin(gate, query: pair.b, candidate: entries[candidate.entry])
            }
            for index in points.indices {
                let threshold = points[index].threshold
                points[index].lookups += 1
                var served: Int?
                for (position, candidate) in nearest.enumerated() where candidate.similarity >= threshold {
                    if let margin = margins[position], candidate.similarity >= threshold + margin {
                        served = candidate.entry
                        break
                    }
                }
                guard let served else { continue }
                points[index].served += 1
                if sameAs[query]?.contains(served) == true {
                    if pair.same { points[index].rightOnSame += 1 }
                } else {
                    points[index].wrong += 1
                }
            }
        }
        return points
    }

    /// The lowest threshold at which every curve keeps the pairwise false-hit rate at most `maxFalseHit` and the
    /// crowded wrong-answer share at most `maxCrowded`; nil when none does.
    public static func lowest(_ curves: [[Point]], maxFalseHit: Double, maxCrowded: Double) -> Float? {
        guard let first = curves.first else { return nil }
        for index in first.indices {
            let meets = curves.allSatisfy { curve in
                curve[index].falseHitRate <= maxFalseHit && curve[index].crowdedWrongRate <= maxCrowded
            }
            if meets { return first[index].threshold }
        }
        return nil
    }

    /// What the gate adds to the threshold for this pair; nil when it rejects the pair.
    static func margin(_ gate: LexicalGate, query: String, candidate: String) -> Float? {
        let verdict = gate.evaluate(query: query, candidate: candidate, threshold: 0)
        switch verdict {
        case .pass(_, let required): return required
        case .reject: return nil
        }
    }

    /// The index's own dot product (`VectorIndex`), so the replay compares vectors exactly as a lookup does.
    static func similarity(_ a: [Float], _ b: [Float]) -> Float {
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                dot(x.baseAddress!, y.baseAddress!, min(x.count, y.count))
            }
        }
    }
}
