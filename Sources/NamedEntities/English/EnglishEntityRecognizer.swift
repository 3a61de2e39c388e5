/// Names, addresses, places and organizations in Latin-script text, from ``EnglishModel``. A text without a Latin
/// letter is not read; an entity the model finds over Han characters is dropped (Chinese is LAC's, see
/// ``ScriptRoutedRecognizer``).
public struct EnglishEntityRecognizer: EntityRecognizer {
    public let model: EnglishModel

    public init(model: EnglishModel) {
        self.model = model
    }

    public init(directory: String) throws {
        self.init(model: try EnglishModel(directory: directory))
    }

    /// Basic Latin, Latin-1, Latin Extended-A and -B, and Latin Extended Additional letters.
    static func isLatinLetter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x41...0x5A, 0x61...0x7A, 0xC0...0x24F, 0x1E00...0x1EFF: scalar.properties.isAlphabetic
        default: false
        }
    }

    /// A text with a Latin letter is read: feature sums and a Viterbi pass, linear work, no network.
    public func work(_ text: String) -> EntityWork {
        text.unicodeScalars.contains(where: Self.isLatinLetter) ? EntityWork(bytes: text.utf8.count, network: false) : .none
    }

    public func entities(in text: String) -> [RecognizedEntity] {
        guard workBytes(text) > 0 else { return [] }
        let found = model.entities(in: text)
        guard !found.isEmpty else { return [] }
        let utf8 = Array(text.utf8)
        return found.filter { entity in
            !String(decoding: utf8[entity.range], as: UTF8.self).unicodeScalars.contains(
                where: ChineseEntityRecognizer.isHan)
        }
    }
}

/// One recognizer per script behind one rule: LAC reads the Han text, the English model the Latin text. Where both
/// find an entity over the same bytes, LAC's is kept.
public struct ScriptRoutedRecognizer: EntityRecognizer {
    public let chinese: any EntityRecognizer
    public let english: any EntityRecognizer

    public init(chinese: any EntityRecognizer, english: any EntityRecognizer) {
        self.chinese = chinese
        self.english = english
    }

    /// Each model reads at most the whole text: the larger of the two; a network when either runs one.
    public func work(_ text: String) -> EntityWork {
        let han = chinese.work(text)
        let latin = english.work(text)
        return EntityWork(bytes: max(han.bytes, latin.bytes), network: han.network || latin.network)
    }

    public func entities(in text: String) -> [RecognizedEntity] {
        let han = chinese.entities(in: text)
        let latin = english.entities(in: text).filter { entity in
            !han.contains { $0.range.overlaps(entity.range) }
        }
        guard !han.isEmpty else { return latin }
        guard !latin.isEmpty else { return han }
        return (han + latin).sorted { $0.range.lowerBound < $1.range.lowerBound }
    }
}
