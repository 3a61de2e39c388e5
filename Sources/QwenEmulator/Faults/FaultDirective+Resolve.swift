extension FaultDirective {
    /// The fault a chat request asks for. A forced fault wins over the header, the header over a marker in the
    /// last user message. Unknown names and bad counts are the caller's mistake, answered with a 400.
    static func resolve(
        forced: String?,
        headerName: String?,
        headerCount: String?,
        lastUserText: String?
    ) -> Result<FaultDirective?, QwenAPIError> {
        if let forced {
            return parse(name: forced, count: nil, source: "forced fault").map { $0.map { .init(fault: $0.fault) } }
        }
        if let headerName, !headerName.trimmingSpaces().isEmpty {
            return parse(name: headerName, count: headerCount, source: "x-emulator-fault")
        }
        if let lastUserText, let marker = FaultMarker.first(in: lastUserText) {
            return parse(name: marker.name, count: marker.count ?? headerCount, source: "fault marker")
        }
        return .success(nil)
    }

    private static func parse(name: String, count: String?, source: String) -> Result<FaultDirective?, QwenAPIError> {
        let name = name.trimmingSpaces().lowercased()
        guard let fault = EmulatorFault(rawValue: name) else {
            let known = EmulatorFault.allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(.invalidParameter("Unknown emulator fault `\(name)` in \(source); known faults: \(known)."))
        }
        guard let count, !count.trimmingSpaces().isEmpty else {
            return .success(FaultDirective(fault: fault, limit: fault.defaultLimit))
        }
        guard let limit = Int(count.trimmingSpaces()), limit >= 1 else {
            return .failure(.invalidParameter("Emulator fault count `\(count)` must be a positive integer."))
        }
        return .success(FaultDirective(fault: fault, limit: limit))
    }
}

extension FaultDirective {
    init(fault: EmulatorFault) {
        self.init(fault: fault, limit: nil)
    }
}
