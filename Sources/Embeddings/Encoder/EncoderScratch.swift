/// The working memory of one encoder worker: every intermediate of a forward pass, allocated up front and
/// reused, so the per-layer loop never allocates. Not thread-safe: one worker owns one scratch.
public final class EncoderScratch {
    private(set) var tokenCapacity = 0
    private(set) var sequenceCapacity = 0
    private var storage: UnsafeMutableRawPointer?

    // Views into `storage`, rows of the packed token matrix.
    private(set) var hidden: UnsafeMutablePointer<Float>!  // [tokens, hidden]
    private(set) var qkv: UnsafeMutablePointer<Float>!  // [tokens, 3·hidden]
    private(set) var context: UnsafeMutablePointer<Float>!  // [tokens, hidden]
    private(set) var attention: UnsafeMutablePointer<Float>!  // [tokens, hidden]
    private(set) var intermediate: UnsafeMutablePointer<Float>!  // [tokens, intermediate]
    private(set) var scores: UnsafeMutablePointer<Float>!  // [sequence, sequence]
    private(set) var panel: UnsafeMutablePointer<Float>!  // [Q4Matrix.panelOutputs, max(hidden, intermediate)]

    private let hiddenSize: Int
    private let intermediateSize: Int

    /// Sized for `tokens` packed tokens and sequences of up to `sequenceLength` tokens; grows on demand.
    public init(configuration: BertConfiguration, tokens: Int = 256, sequenceLength: Int = 256) {
        hiddenSize = configuration.hiddenSize
        intermediateSize = configuration.intermediateSize
        reserve(tokens: tokens, sequenceLength: sequenceLength)
    }

    deinit { storage?.deallocate() }

    /// Makes room for a batch; called before the layer loop, never inside it.
    func reserve(tokens: Int, sequenceLength: Int) {
        guard tokens > tokenCapacity || sequenceLength > sequenceCapacity else { return }
        let newTokens = max(tokens, tokenCapacity)
        let newSequence = max(sequenceLength, sequenceCapacity)
        // Each region is rounded to 16 floats so every view stays 64-byte aligned.
        func padded(_ count: Int) -> Int { (count + 15) / 16 * 16 }
        let sizes = [
            padded(newTokens * hiddenSize), padded(newTokens * 3 * hiddenSize), padded(newTokens * hiddenSize),
            padded(newTokens * hiddenSize), padded(newTokens * intermediateSize), padded(newSequence * newSequence),
            padded(Q4Matrix.panelOutputs * max(hiddenSize, intermediateSize)),
        ]
        storage?.deallocate()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: sizes.reduce(0, +) * 4, alignment: 64)
        let base = raw.bindMemory(to: Float.self, capacity: sizes.reduce(0, +))
        var offset = 0
        var views: [UnsafeMutablePointer<Float>] = []
        for size in sizes {
            views.append(base + offset)
            offset += size
        }
        storage = raw
        (hidden, qkv, context, attention, intermediate, scores, panel) = (
            views[0], views[1], views[2], views[3], views[4], views[5], views[6]
        )
        tokenCapacity = newTokens
        sequenceCapacity = newSequence
    }
}
