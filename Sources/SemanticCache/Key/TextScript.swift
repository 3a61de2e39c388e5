/// The writing system of a text, as the cache partitions by it: two texts in different scripts never share an answer,
/// and a script the loaded embedding model cannot judge is served from the exact layer only.
public enum TextScript: String, Sendable, Hashable, CaseIterable, Codable {
    case latin
    /// Chinese characters without kana.
    case han
    /// Japanese: any kana (kanji beside it count as Japanese).
    case kana
    case hangul
    case cyrillic
    case arabic
    /// Letters of any other script (Greek, Hebrew, Devanagari, Thai, …).
    case other
    /// No letters at all (digits, symbols).
    case none

    /// The script most of `text`'s letters are in. A Han, kana or hangul character weighs three Latin letters (about
    /// one word each), so "我的iPhone怎么设置" is Han; any kana makes a Han text Japanese.
    public static func of(_ text: String) -> TextScript {
        var counts: [TextScript: Int] = [:]
        for scalar in text.unicodeScalars {
            guard let script = of(scalar) else { continue }
            let weight = script.isWrittenWithoutSpaces ? 3 : 1
            counts[script, default: 0] += weight
        }
        if counts[.kana, default: 0] > 0 {
            // Kanji beside kana are Japanese.
            counts[.kana, default: 0] += counts[.han, default: 0]
            counts[.han] = nil
        }
        guard let best = counts.max(by: { ($0.value, $1.key.rawValue) < ($1.value, $0.key.rawValue) }) else {
            return .none
        }
        return best.key
    }

    /// The script of one letter; nil for what is not a letter (digits, punctuation, symbols, spaces).
    static func of(_ scalar: Unicode.Scalar) -> TextScript? {
        let value = scalar.value
        switch value {
        case 0x41...0x5A, 0x61...0x7A, 0xC0...0x24F, 0x1E00...0x1EFF, 0xFF21...0xFF3A, 0xFF41...0xFF5A:
            return .latin
        case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x2FA1F:
            return .han
        case 0x3040...0x30FF, 0x31F0...0x31FF, 0xFF66...0xFF9F:
            return .kana
        case 0x1100...0x11FF, 0x3130...0x318F, 0xAC00...0xD7AF:
            return .hangul
        case 0x400...0x4FF, 0x500...0x52F:
            return .cyrillic
        case 0x600...0x6FF, 0x750...0x77F, 0xFB50...0xFDFF, 0xFE70...0xFEFF:
            return .arabic
        default:
            return scalar.properties.isAlphabetic && value > 0x7F ? .other : nil
        }
    }

    /// Han, kana and hangul: written without spaces between words, about one word a character.
    var isWrittenWithoutSpaces: Bool { self == .han || self == .kana || self == .hangul }
}
