/// Every `[[…]]` marker at once (faults, `[[echo]]`, `[[guard:…]]`), for text that must not show any of them.
enum MarkerText {
    static let opening = "[["
    static let closing = "]]"

    /// `text` without any `[[…]]` marker, trimmed. An unclosed `[[` is kept as written.
    static func strippedAll(_ text: String) -> String {
        guard text.contains(opening) else { return text.trimmingSpaces() }
        var result = ""
        var rest = text[...]
        while let start = rest.firstRange(of: opening) {
            result += rest[rest.startIndex..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstRange(of: closing) else {
                rest = rest[start.lowerBound...]
                break
            }
            rest = rest[end.upperBound...]
        }
        result += rest
        return result.trimmingSpaces()
    }
}
