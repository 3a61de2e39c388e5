/// Character classes of the reference BERT normalizer and pre-tokenizer, looked up in the generated tables.
enum BertCharacterClass {
    static func isRemoved(_ value: UInt32) -> Bool {
        value < 0x80 ? asciiRemoved(value) : contains(BertCharacterTables.removed, value)
    }

    static func isWhitespace(_ value: UInt32) -> Bool {
        value < 0x80
            ? (value == 0x20 || value == 0x09 || value == 0x0A || value == 0x0D)
            : contains(BertCharacterTables.whitespace, value)
    }

    static func isPunctuation(_ value: UInt32) -> Bool {
        if value < 0x80 {
            return (0x21...0x2F).contains(value) || (0x3A...0x40).contains(value) || (0x5B...0x60).contains(value)
                || (0x7B...0x7E).contains(value)
        }
        return contains(BertCharacterTables.punctuation, value)
    }

    static func isNonspacingMark(_ value: UInt32) -> Bool {
        value >= 0x300 && contains(BertCharacterTables.nonspacingMarks, value)
    }

    static func isIdeograph(_ value: UInt32) -> Bool {
        value >= 0x3400 && contains(BertCharacterTables.ideographs, value)
    }

    private static func asciiRemoved(_ value: UInt32) -> Bool {
        (value < 0x20 && value != 0x09 && value != 0x0A && value != 0x0D) || value == 0x7F
    }

    /// Binary search in a flattened list of sorted closed ranges.
    private static func contains(_ ranges: [UInt32], _ value: UInt32) -> Bool {
        var low = 0
        var high = ranges.count / 2
        while low < high {
            let middle = (low + high) / 2
            if value < ranges[2 * middle] {
                high = middle
            } else if value > ranges[2 * middle + 1] {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }
}
