#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension MatchValidator {
    /// Checks `bytes[range]`; returns the range to report (the IBAN check may narrow it), or nil to reject.
    func check(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int>? {
        let slice = UnsafeBufferPointer(rebasing: bytes[range])
        switch self {
        case .luhn: return Checksums.luhn(slice) ? range : nil
        case .iban:
            guard let length = Checksums.ibanPrefixLength(slice) else { return nil }
            return range.lowerBound..<(range.lowerBound + length)
        case .cnID: return Checksums.prcResidentID(slice) ? range : nil
        case .ipv4: return Checksums.ipv4(slice) ? range : nil
        case .ipv6: return Checksums.ipv6(slice) ? range : nil
        case .ip: return Checksums.ipv4(slice) || Checksums.ipv6(slice) ? range : nil
        case .usSSN: return Checksums.usSSN(slice) ? range : nil
        case .phone: return Checksums.phoneNumber(slice) ? range : nil
        }
    }
}

/// The checks behind the validators, on UTF-8 bytes.
enum Checksums {
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }

    /// Luhn over the ASCII digits, ignoring spaces and dashes; 12 to 19 digits.
    static func luhn(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var digits: [Int] = []
        digits.reserveCapacity(19)
        for byte in text {
            if isDigit(byte) {
                digits.append(Int(byte - 0x30))
            } else if byte != 0x20 && byte != 0x2D {
                return false
            }
        }
        guard (12...19).contains(digits.count) else { return false }
        var sum = 0
        for (position, digit) in digits.reversed().enumerated() {
            if position % 2 == 1 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return sum % 10 == 0
    }

    /// IBAN lengths by country (ISO 13616 registry).
    static let ibanLengths: [String: Int] = [
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
        "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
        "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
        "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
        "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
        "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
        "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
        "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
    ]

    /// If `text` starts with a valid IBAN (spaces allowed between characters, letters in either case), the number
    /// of bytes it spans; else nil. A match that runs on with more letters or digits right after is rejected.
    static func ibanPrefixLength(_ text: UnsafeBufferPointer<UInt8>) -> Int? {
        guard text.count >= 4, isLetter(text[0]), isLetter(text[1]) else { return nil }
        let country = String(decoding: [text[0] & 0xDF, text[1] & 0xDF], as: UTF8.self)
        guard let length = ibanLengths[country] else { return nil }
        var characters: [UInt8] = []
        characters.reserveCapacity(length)
        var end = 0
        for (index, byte) in text.enumerated() {
            if characters.count == length { break }
            if byte == 0x20 { continue }
            guard isDigit(byte) || isLetter(byte) else { return nil }
            characters.append(isLetter(byte) ? byte & 0xDF : byte)
            end = index + 1
        }
        guard characters.count == length else { return nil }
        if end < text.count, isDigit(text[end]) || isLetter(text[end]) { return nil }
        guard isDigit(characters[2]), isDigit(characters[3]) else { return nil }
        // Move the first four characters to the end, letters to 10…35, then mod 97 digit by digit.
        var remainder = 0
        for byte in characters[4...] + characters[..<4] {
            if isDigit(byte) {
                remainder = (remainder * 10 + Int(byte - 0x30)) % 97
            } else {
                remainder = (remainder * 100 + Int(byte - 0x41 + 10)) % 97
            }
        }
        return remainder == 1 ? end : nil
    }

    /// GB 11643-1999: 17 digits (region, birth date, sequence) and a check character 0–9 or X.
    static func prcResidentID(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard text.count == 18 else { return false }
        for index in 0..<17 where !isDigit(text[index]) { return false }
        let last = text[17]
        guard isDigit(last) || last == 0x58 || last == 0x78 else { return false }
        func number(_ range: Range<Int>) -> Int { range.reduce(0) { $0 * 10 + Int(text[$1] - 0x30) } }
        let year = number(6..<10)
        let month = number(10..<12)
        let day = number(12..<14)
        guard (1900...2099).contains(year), (1...12).contains(month), (1...31).contains(day) else { return false }
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        var sum = 0
        for index in 0..<17 { sum += Int(text[index] - 0x30) * weights[index] }
        let check = Array("10X98765432".utf8)[sum % 11]
        return (last & 0xDF == 0x58 ? 0x58 : last) == check
    }

    static func ipv4(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var parts = 0
        var value = 0
        var digits = 0
        for byte in text {
            if isDigit(byte) {
                // A leading zero ("010") is how versions and dates look, not how addresses are written.
                if digits == 1 && value == 0 { return false }
                value = value * 10 + Int(byte - 0x30)
                digits += 1
                if digits > 3 || value > 255 { return false }
            } else if byte == 0x2E {
                guard digits > 0 else { return false }
                parts += 1
                value = 0
                digits = 0
            } else {
                return false
            }
        }
        return digits > 0 && parts == 3
    }

    static func ipv6(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard text.count >= 2, text.count < 46 else { return false }
        // "::" alone or a bare run of colons is not an address anyone writes as PII.
        guard text.contains(where: { isDigit($0) || isLetter($0) }) else { return false }
        var cString = [CChar](repeating: 0, count: text.count + 1)
        for (index, byte) in text.enumerated() { cString[index] = CChar(bitPattern: byte) }
        var address = in6_addr()
        return inet_pton(AF_INET6, cString, &address) == 1
    }

    static func phoneNumber(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var digits: [UInt8] = []
        for byte in text {
            // An extension ("x123", "ext. 12") does not count toward the number's length.
            if byte == 0x78 || byte == 0x58 || byte == 0x65 || byte == 0x45 { break }
            if isDigit(byte) { digits.append(byte) }
        }
        guard (7...15).contains(digits.count) else { return false }
        return Set(digits).count > 1
    }

    /// ddd-dd-dddd or nine digits, outside the ranges the SSA never issues.
    static func usSSN(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        let digits = text.filter(isDigit).map { Int($0 - 0x30) }
        guard digits.count == 9 else { return false }
        let area = digits[0] * 100 + digits[1] * 10 + digits[2]
        let group = digits[3] * 10 + digits[4]
        let serial = digits[5] * 1000 + digits[6] * 100 + digits[7] * 10 + digits[8]
        if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 { return false }
        // Runs of one digit and the well-known advertising numbers are placeholders, not people.
        if Set(digits).count == 1 || digits == [1, 2, 3, 4, 5, 6, 7, 8, 9] { return false }
        return true
    }
}
