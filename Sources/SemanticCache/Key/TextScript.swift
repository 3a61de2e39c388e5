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
            let value = scalar.value
            let script: TextScript
            switch value {
            case 0x41...0x5A, 0x61...0x7A, 0xC0...0x24F, 0x1E00...0x1EFF, 0xFF21...0xFF3A, 0xFF41...0xFF5A:
                script = .latin
            case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x2FA1F:
                script = .han
            case 0x3040...0x30FF, 0x31F0...0x31FF, 0xFF66...0xFF9F:
                script = .kana
            case 0x1100...0x11FF, 0x3130...0x318F, 0xAC00...0xD7AF:
                script = .hangul
            case 0x400...0x4FF, 0x500...0x52F:
                script = .cyrillic
            case 0x600...0x6FF, 0x750...0x77F, 0xFB50...0xFDFF, 0xFE70...0xFEFF:
                script = .arabic
            default:
                guard scalar.properties.isAlphabetic, value > 0x7F else { continue }
                script = .other
            }
            let weight = (script == .han || script == .kana || script == .hangul) ? 3 : 1
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
}
