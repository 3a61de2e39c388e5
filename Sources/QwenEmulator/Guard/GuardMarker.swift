/// `[[guard:LEVEL]]` / `[[guard:LEVEL:Category1,Category2]]` in judged text: forces the verdict, so a test does not
/// depend on the keyword table. Level and category names are matched ignoring case.
enum GuardMarker {
    static let opening = "[[guard:"
    static let closing = "]]"

    /// The verdict the first marker in `text` forces, `nil` when there is none, or a 400 naming what is known when
    /// the level or a category is misspelled.
    static func forced(in text: String) -> Result<(safety: GuardSafety, categories: [GuardCategory])?, QwenAPIError> {
        guard let start = text.firstRange(of: opening),
            let end = text[start.upperBound...].firstRange(of: closing)
        else { return .success(nil) }
        let body = text[start.upperBound..<end.lowerBound]
        let parts = body.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let levelName = parts.first.map(String.init) ?? ""
        guard let safety = GuardSafety(named: levelName) else {
            let known = GuardSafety.allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(
                .invalidParameter(
                    "Unknown guard level `\(levelName.trimmingSpaces())` in guard marker; known: \(known)."))
        }
        var categories: [GuardCategory] = []
        if parts.count > 1 {
            for name in parts[1].split(separator: ",") where !String(name).trimmingSpaces().isEmpty {
                guard let category = GuardCategory(named: String(name)) else {
                    let known = GuardCategory.allCases.map(\.rawValue).joined(separator: ", ")
                    return .failure(
                        .invalidParameter(
                            "Unknown guard category `\(String(name).trimmingSpaces())` in guard marker; known: \(known)."
                        ))
                }
                if !categories.contains(category) { categories.append(category) }
            }
        }
        return .success((safety, categories))
    }
}
