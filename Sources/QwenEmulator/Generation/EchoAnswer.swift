/// `[[echo]]` in the last user message: the answer is that message said back, markers removed and trimmed, so a
/// test can see exactly what text the model was sent (redaction placeholders such as `<EMAIL_1>` included).
enum EchoAnswer {
    static let marker = "[[echo]]"

    /// Whether `lastUserText` asks to be echoed.
    static func isRequested(in lastUserText: String?) -> Bool {
        lastUserText?.contains(marker) ?? false
    }

    /// The echoed text, split as ``TextTokens`` splits it.
    static func tokens(of lastUserText: String) -> [String] {
        TextTokens.split(MarkerText.strippedAll(lastUserText))
    }
}
