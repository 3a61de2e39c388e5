import Synchronization

/// The kinds of named entity Airlock's NER rules act on.
public enum EntityType: String, Sendable, Hashable, CaseIterable, Comparable {
    /// A person's name.
    case person = "PERSON"
    /// A street address: a place narrowed down to a street, a number, a building or a room.
    case address = "ADDRESS"
    /// A place named without a street: a country, province, city, district, landmark.
    case location = "LOCATION"
    /// A company, institution, agency.
    case organization = "ORGANIZATION"

    public static func < (lhs: EntityType, rhs: EntityType) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One entity found in a text.
public struct RecognizedEntity: Sendable, Hashable {
    public var type: EntityType
    /// UTF-8 byte offsets in the text that was read.
    public var range: Range<Int>
    /// How sure the model is, 0 to 1 (what a rule's per-type threshold compares against).
    public var score: Double

    public init(type: EntityType, range: Range<Int>, score: Double) {
        self.type = type
        self.range = range
        self.score = score
    }
}

/// A model that finds names, addresses, places and organizations. Implementations are immutable and safe to call
/// from any thread; a call is CPU work on the calling thread, linear in the text.
public protocol EntityRecognizer: Sendable {
    /// What reading `text` would cost, from one scan of it. Cheap; for budgets and for choosing where the work runs.
    func work(_ text: String) -> EntityWork
    /// The entities of `text`, in order, not overlapping.
    func entities(in text: String) -> [RecognizedEntity]
}

/// What a recognizer would do with a text.
public struct EntityWork: Sendable, Equatable {
    /// The bytes the model would read: 0 when it has nothing to say about the text (for the Chinese model, a text
    /// without a Han character).
    public var bytes: Int
    /// Whether a neural network runs: model time, which belongs on the work pool however short the text. A model that
    /// only sums feature weights (the English perceptron) costs linear work, like a regex scan.
    public var network: Bool

    public init(bytes: Int, network: Bool) {
        self.bytes = bytes
        self.network = network
    }

    public static let none = EntityWork(bytes: 0, network: false)
}

extension EntityRecognizer {
    /// The bytes of `text` the model would read (0: nothing to say about it).
    public func workBytes(_ text: String) -> Int { work(text).bytes }
}

/// Loads the NER models the first time a rule set needs them and keeps them: a rule file that gains an NER rule on
/// reload gets them then, and a deployment without NER rules never pays for them. Two models behind one recognizer
/// (``ScriptRoutedRecognizer``): LAC for Chinese from `directory`, the English model from `englishDirectory`.
public final class EntityRecognizerLoader: Sendable {
    public let directory: String
    public let englishDirectory: String
    private let loaded = Mutex<(any EntityRecognizer)?>(nil)

    public init(directory: String, englishDirectory: String) {
        self.directory = directory
        self.englishDirectory = englishDirectory
    }

    /// The models, loaded now if they were not yet. Throws a message naming the directory when one cannot be read.
    public func recognizer() throws(EntityModelError) -> any EntityRecognizer {
        if let model = loaded.withLock({ $0 }) { return model }
        let chinese: ChineseEntityRecognizer
        do {
            chinese = try ChineseEntityRecognizer(directory: directory)
        } catch {
            throw EntityModelError(
                "cannot load the NER model from \(directory) (\(error)); run `make models` or set rules.ner_model_dir")
        }
        let english: EnglishEntityRecognizer
        do {
            english = try EnglishEntityRecognizer(directory: englishDirectory)
        } catch {
            throw EntityModelError(
                "cannot load the English NER model from \(englishDirectory) (\(error)); run `make models` or set "
                    + "rules.ner_english_model_dir")
        }
        let model = ScriptRoutedRecognizer(chinese: chinese, english: english)
        return loaded.withLock { current in
            if let current { return current }
            current = model
            return model
        }
    }
}

public struct EntityModelError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
