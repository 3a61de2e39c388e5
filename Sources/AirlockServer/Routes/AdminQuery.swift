import HTTPTypes

/// Parsing of admin query parameters.
enum AdminQuery {
    /// `30s`, `15m`, `1h`, `24h`, `7d`; at most 7 days.
    static func duration(_ text: some StringProtocol, name: String) throws -> Duration {
        let units: [(Character, Int64)] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        // Checked arithmetic: a huge count (`9223372036854775807d`) is refused, never an overflow trap.
        guard text.count <= 32, let last = text.last, let unit = units.first(where: { $0.0 == last }),
            let value = Int64(text.dropLast()), value > 0, value <= 7 * 86_400 / unit.1
        else {
            throw AirlockHTTPError(
                status: .badRequest, message: "'\(name)' must be a duration such as 15m, 1h or 24h (at most 7d).",
                type: "invalid_request_error", param: name, code: "invalid_value")
        }
        return .seconds(value * unit.1)
    }
}
