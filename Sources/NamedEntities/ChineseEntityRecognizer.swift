/// Names, addresses, places and organizations in Chinese text, from LAC's word classes.
///
/// The text is read in pieces that end at a sentence end (or a line break), at most `maxPieceScalars` long, and only
/// pieces with a Han character go through the network: English text costs a scan, nothing more. LAC's `PER` words
/// are PERSON and its `ORG` words ORGANIZATION. Its `LOC` words are only place names ("上海市", "浦东新区", "张江路"),
/// so addresses are put together here: a run of places, then the numbers, buildings and rooms that follow a street
/// ("1000号", "3号", "楼", "502室") is one ADDRESS when it reaches a street, a house number or a room; a run that
/// stays at places ("江苏省南京市") is one LOCATION. An `ORG` word carrying a house number ("…高新南一道9号中国科技开发院")
/// starts an address too. An entity's score is the lowest probability, over its units, that LAC's class for the unit
/// is right (for an address, over its place words).
public struct ChineseEntityRecognizer: EntityRecognizer {
    public let model: LACModel
    /// Longest piece handed to the network at once, in Unicode scalars (LAC was trained on sentences).
    public let maxPieceScalars: Int

    public init(model: LACModel, maxPieceScalars: Int = 256) {
        self.model = model
        self.maxPieceScalars = max(16, maxPieceScalars)
    }

    public init(directory: String) throws {
        self.init(model: try LACModel(directory: directory))
    }

    /// A text with a Han character goes through the network; any other is not read.
    public func work(_ text: String) -> EntityWork {
        text.unicodeScalars.contains(where: Self.isHan) ? EntityWork(bytes: text.utf8.count, network: true) : .none
    }

    public func entities(in text: String) -> [RecognizedEntity] {
        // A text without Han is not cut into pieces at all.
        guard workBytes(text) > 0 else { return [] }
        var found: [RecognizedEntity] = []
        let read = pieces(text).filter(\.hasHan)
        let units = read.map { piece in
            var string = String.UnicodeScalarView()
            string.append(contentsOf: piece.scalars)
            return model.units(String(string))
        }
        // Every piece through the network at once.
        for ((piece, pieceUnits), decoded) in zip(zip(read, units), model.decode(pieces: units)) {
            let words = model.words(pieceUnits, decoded)
            for entity in Self.compose(words) {
                let range = piece.offsets[entity.start]..<piece.offsets[entity.end]
                found.append(RecognizedEntity(type: entity.type, range: range, score: Double(entity.score)))
            }
        }
        return found
    }

    // MARK: - Pieces

    struct Piece {
        var scalars: [Unicode.Scalar] = []
        /// UTF-8 offset in the whole text of each scalar, and one past the last.
        var offsets: [Int] = []
        var hasHan = false
    }

    /// The text cut after sentence ends and line breaks, and before `maxPieceScalars` (at the last comma or space of
    /// the piece's last quarter where there is one).
    func pieces(_ text: String) -> [Piece] {
        var pieces: [Piece] = []
        var current = Piece()
        var offset = 0
        func close(at end: Int) {
            guard !current.scalars.isEmpty else { return }
            current.offsets.append(end)
            pieces.append(current)
            current = Piece()
        }
        for scalar in text.unicodeScalars {
            if current.scalars.count == maxPieceScalars {
                // Too long without a sentence end: cut at a comma or space near the end, else here.
                let floor = maxPieceScalars * 3 / 4
                if let cut = current.scalars[floor...].lastIndex(where: Self.isSoftBreak), cut + 1 < current.scalars.count {
                    let rest = Piece(
                        scalars: Array(current.scalars[(cut + 1)...]), offsets: Array(current.offsets[(cut + 1)...]),
                        hasHan: current.scalars[(cut + 1)...].contains(where: Self.isHan))
                    current.scalars.removeSubrange((cut + 1)...)
                    let end = current.offsets[cut + 1]
                    current.offsets.removeSubrange((cut + 1)...)
                    current.hasHan = current.scalars.contains(where: Self.isHan)
                    close(at: end)
                    current = rest
                } else {
                    close(at: offset)
                }
            }
            current.scalars.append(scalar)
            current.offsets.append(offset)
            if Self.isHan(scalar) { current.hasHan = true }
            offset += UTF8.width(scalar)
            if Self.isSentenceEnd(scalar) { close(at: offset) }
        }
        close(at: offset)
        return pieces
    }

    static func isHan(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0xF900...0xFAFF, 0x20000...0x2EBEF, 0x30000...0x3134F: true
        default: false
        }
    }

    static func isSentenceEnd(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "。", "！", "？", "；", "!", "?", ";", "\n", "\r": true
        default: false
        }
    }

    static func isSoftBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "，", "、", ",", " ", "\t", "：", ":": true
        default: false
        }
    }

    // MARK: - From words to entities

    struct Composed: Equatable {
        var type: EntityType
        /// Scalar offsets in the piece.
        var start: Int
        var end: Int
        var score: Float
    }

    /// Entities from LAC's words (see the type's documentation).
    static func compose(_ words: [LACModel.Word]) -> [Composed] {
        var entities: [Composed] = []
        var index = 0
        while index < words.count {
            let word = words[index]
            let scalars = Array(word.text.unicodeScalars)
            switch word.tag {
            case "PER" where scalars.count >= 2 && scalars.contains(where: isHan):
                entities.append(
                    Composed(type: .person, start: word.start, end: word.start + word.length, score: word.confidence))
                index += 1
            case "LOC" where scalars.contains(where: isHan):
                let (entity, next) = place(words, from: index)
                entities.append(entity)
                index = next
            case "ORG" where scalars.contains(where: isHan):
                let numberedNext = index + 1 < words.count
                    && addressTail(Array(words[index + 1].text.unicodeScalars), afterNumber: false) == true
                if hasHouseNumber(scalars) || streetAhead(words, at: index + 1) != nil
                    || (isStreet(scalars) && numberedNext)
                {
                    let (entity, next) = place(words, from: index)
                    entities.append(entity)
                    index = next
                } else {
                    entities.append(
                        Composed(
                            type: .organization, start: word.start, end: word.start + word.length,
                            score: word.confidence))
                    index += 1
                }
            default:
                if hasStreetNumber(scalars) {
                    let (entity, next) = place(words, from: index)
                    entities.append(entity)
                    index = next
                } else {
                    index += 1
                }
            }
        }
        return entities
    }

    /// The place starting at `words[first]` (a `LOC`, or an `ORG` with a house number): an ADDRESS or a LOCATION, and
    /// the index of the first word after it.
    static func place(_ words: [LACModel.Word], from first: Int) -> (Composed, Int) {
        var index = first
        var detailed = false
        var numbered = false
        var score: Float = 1
        while index < words.count {
            let word = words[index]
            let scalars = Array(word.text.unicodeScalars)
            if word.tag == "LOC" && scalars.contains(where: isHan) {
                if isStreet(scalars) { detailed = true }
                score = min(score, word.confidence)
            } else if hasStreetNumber(scalars) {
                // A road and its number in one word, whatever LAC's class for it: the form decides.
                detailed = true
                numbered = true
            } else if word.tag == "ORG" && hasHouseNumber(scalars) {
                detailed = true
                numbered = true
                score = min(score, word.confidence)
            } else if index == first {
                // An organization named after its place, with a street after it ("株洲市醴陵市学院" "东路" "233号"), or an
                // estate LAC took for one ("新乐市金桥公寓" "2栋").
                if isStreet(scalars) { detailed = true }
                score = min(score, word.confidence)
            } else if !detailed, let length = streetAhead(words, at: index) {
                // A street LAC did not tag as a place ("繁荣" "中路", then "146号").
                detailed = true
                index += length
                continue
            } else if !detailed, words[index - 1].tag == "LOC", estates.contains(word.text) {
                // An estate whose name LAC tagged and whose kind it did not ("金桥" "公寓").
                detailed = true
            } else if detailed, let unit = addressTail(scalars, afterNumber: numbered) {
                // Numbers and rooms are taken by their form, after a street: the model's doubt is about the places.
                numbered = numbered || unit
            } else {
                break
            }
            index += 1
        }
        let last = words[index - 1]
        let entity = Composed(
            type: detailed ? .address : .location, start: words[first].start, end: last.start + last.length,
            score: score)
        return (entity, index)
    }

    static let roadSuffixes = ["路", "街", "道", "巷", "弄", "胡同"]
    static let estates: Set<String> = ["小区", "花园", "苑", "家园", "公寓", "大厦", "新村", "社区"]

    /// How many words (one or two, none of them punctuation or a name) at `index` spell a road ("中路", "建设" "中路")
    /// followed by a house number ("617号"); nil if they do not.
    static func streetAhead(_ words: [LACModel.Word], at index: Int) -> Int? {
        for length in 1...2 where index + length < words.count {
            let window = words[index..<(index + length)]
            guard window.allSatisfy({ $0.tag != "w" && $0.tag != "PER" && $0.length <= 6 }) else { return nil }
            let text = window.map(\.text).joined()
            guard !text.hasSuffix("街道"), roadSuffixes.contains(where: { text.hasSuffix($0) }) else { continue }
            let next = Array(words[index + length].text.unicodeScalars)
            if next.contains("号"), addressTail(next, afterNumber: false) == true { return length }
        }
        return nil
    }

    /// Whether one word holds a road and its house number ("工业东路169号", "人民大道894号14栋2单元1904室").
    static func hasStreetNumber(_ scalars: [Unicode.Scalar]) -> Bool {
        for (index, scalar) in scalars.enumerated() where scalar == "号" && index > 1 && numerals.contains(scalars[index - 1]) {
            var start = index - 1
            while start > 0 && numerals.contains(scalars[start - 1]) { start -= 1 }
            if start > 0, ["路", "街", "道", "巷", "弄"].contains(scalars[start - 1]) { return true }
        }
        return false
    }

    static let streetSuffixes: [String] = [
        "路", "街", "道", "巷", "弄", "胡同", "里", "村", "镇", "乡", "屯", "小区", "花园", "苑", "公寓", "大厦", "广场", "社区",
        "新村", "园区", "家园",
    ]

    /// A place word narrowed to a street or an estate ("张江路", "中关村大街", "幸福小区").
    static func isStreet(_ scalars: [Unicode.Scalar]) -> Bool {
        let text = String(String.UnicodeScalarView(scalars))
        // "街道" is a sub-district, not a street.
        if text.hasSuffix("街道") { return false }
        return streetSuffixes.contains { text.hasSuffix($0) } && scalars.count >= 2
    }

    static let numerals: Set<Unicode.Scalar> = Set("0123456789０１２３４５６７８９一二三四五六七八九十百千零〇两".unicodeScalars)
    static let units: [String] = [
        "号院", "号楼", "号", "栋", "幢", "座", "楼", "层", "室", "单元", "户", "弄", "巷", "排", "组", "期", "门", "铺",
    ]

    /// What a house or room number is written with.
    static let numberParts = numerals.union(
        Set("-－#ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz甲乙丙丁东西南北".unicodeScalars))

    /// Whether an organization's name carries a house number ("…一道9号中国科技开发院").
    static func hasHouseNumber(_ scalars: [Unicode.Scalar]) -> Bool {
        for (index, scalar) in scalars.enumerated() where scalar == "号" && index > 0 && numerals.contains(scalars[index - 1]) {
            return true
        }
        return false
    }

    /// Whether a word continues an address after its street: a number with a unit ("1000号", "3号", "502室", "2栋"), a
    /// unit alone ("楼"), a number joined by a dash ("3-502"), or a bare number right after a numbered part ("1201").
    /// Returns whether the word carried a unit, nil when it does not continue the address.
    static func addressTail(_ scalars: [Unicode.Scalar], afterNumber: Bool) -> Bool? {
        guard !scalars.isEmpty else { return nil }
        let text = String(String.UnicodeScalarView(scalars))
        if units.contains(text) { return true }
        var body = Substring(text)
        var unit = false
        if let suffix = units.first(where: { text.hasSuffix($0) && text.count > $0.count }) {
            body = body.dropLast(suffix.count)
            unit = true
        }
        guard !body.isEmpty, body.unicodeScalars.allSatisfy({ numberParts.contains($0) }),
            body.unicodeScalars.contains(where: { numerals.contains($0) })
        else { return nil }
        if unit { return true }
        return afterNumber ? false : nil
    }
}
