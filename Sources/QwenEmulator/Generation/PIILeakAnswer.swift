/// The `pii_leak` fault's answer: personal data no prompt contained (a test card number, an e-mail address, a phone
/// number), so that output-side redaction has something to find. The card number arrives split over several tokens,
/// as a real stream would deliver it.
enum PIILeakAnswer {
    static let text =
        "Sure. The customer's card is 4111 1111 1111 1111, their email is jane.doe@example.com and their phone is "
        + "+1 415 555 0100."

    static var tokens: [String] { TextTokens.split(text) }
}
