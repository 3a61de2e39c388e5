import ChatWire
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An embeddings request, validated as Qwen's compatible mode does.
struct EmbeddingRequest: Sendable, Equatable {
    enum Encoding: String, Sendable {
        case float
        case base64
    }

    var model: String
    var inputs: [String]
    var dimensions: Int
    var encoding: Encoding

    static func parse(_ body: some Collection<UInt8>) -> Result<EmbeddingRequest, QwenAPIError> {
        guard let json = try? JSONValue.parse(Array(body)), case .object = json else {
            return .failure(.invalidParameter("The request body is not valid JSON."))
        }
        guard let model = json["model"]?.stringValue, !model.isEmpty else {
            return .failure(.invalidParameter("Model not specified.", param: "model"))
        }
        guard let dimensionRule = QwenModelCatalog.embeddingDimensions(for: model) else {
            return .failure(.modelNotFound(model))
        }

        let inputs: [String]
        switch json["input"] {
        case .string(let text):
            inputs = [text]
        case .array(let values):
            var texts: [String] = []
            for value in values {
                guard let text = value.stringValue else {
                    return .failure(.invalidParameter("Each input must be a string.", param: "input"))
                }
                texts.append(text)
            }
            inputs = texts
        default:
            return .failure(
                .invalidParameter("Field required: input, a string or an array of strings.", param: "input"))
        }
        guard !inputs.isEmpty, inputs.allSatisfy({ !$0.isEmpty }) else {
            return .failure(.invalidParameter("Input must not be empty.", param: "input"))
        }
        guard inputs.count <= QwenModelCatalog.maxEmbeddingInputs else {
            return .failure(
                .invalidParameter(
                    "Value error, batch size is invalid, it should not be larger than \(QwenModelCatalog.maxEmbeddingInputs).",
                    param: "input"))
        }

        var dimensions = dimensionRule.default
        if let value = json["dimensions"], !value.isNull {
            guard let requested = value.integerValue, dimensionRule.allowed.contains(requested) else {
                let allowed = dimensionRule.allowed.map(String.init).joined(separator: ", ")
                return .failure(
                    .invalidParameter("Dimension of \(model) must be one of [\(allowed)].", param: "dimensions"))
            }
            dimensions = requested
        }

        var encoding = Encoding.float
        if let value = json["encoding_format"], !value.isNull {
            guard let name = value.stringValue, let requested = Encoding(rawValue: name) else {
                return .failure(
                    .invalidParameter("encoding_format must be `float` or `base64`.", param: "encoding_format"))
            }
            encoding = requested
        }

        return .success(EmbeddingRequest(model: model, inputs: inputs, dimensions: dimensions, encoding: encoding))
    }

    /// `{"data":[{"embedding":[…],"index":0,"object":"embedding"}],"model":…,"object":"list","usage":{…},"id":…}`
    func responseBody(id: String) -> [UInt8] {
        var json = JSONWriter(capacity: 64 + inputs.count * dimensions * 12)
        json.beginObject()
        json.key("data")
        json.beginArray()
        for (index, text) in inputs.enumerated() {
            let vector = DeterministicEmbedding.vector(for: text, dimensions: dimensions)
            json.beginObject()
            json.key("embedding")
            switch encoding {
            case .float:
                json.beginArray()
                for component in vector { json.float(component) }
                json.endArray()
            case .base64:
                json.string(DeterministicEmbedding.base64(vector))
            }
            json.member("index", index)
            json.member("object", "embedding")
            json.endObject()
        }
        json.endArray()
        json.member("model", model)
        json.member("object", "list")
        let tokens = inputs.reduce(0) { $0 + max(TokenEstimate.count($1), 1) }
        json.key("usage")
        json.beginObject()
        json.member("prompt_tokens", tokens)
        json.member("total_tokens", tokens)
        json.endObject()
        json.member("id", id)
        json.endObject()
        return json.bytes
    }
}

/// Unit vectors derived from a hash of the text: the same text always maps to the same vector, different texts to
/// unrelated ones.
enum DeterministicEmbedding {
    static func vector(for text: String, dimensions: Int) -> [Float] {
        var generator = SplitMix64(seed: StableHash.fnv1a(text))
        var vector = [Float](repeating: 0, count: dimensions)
        var squares: Float = 0
        for index in 0..<dimensions {
            // 24 random bits mapped onto [-1, 1).
            let component = Float(generator.next() >> 40) / Float(1 << 23) - 1
            vector[index] = component
            squares += component * component
        }
        let norm = squares.squareRoot()
        guard norm > 0 else {
            if dimensions > 0 { vector[0] = 1 }
            return vector
        }
        return vector.map { $0 / norm }
    }

    /// Little-endian float32, base64-encoded, as OpenAI's `encoding_format: "base64"` returns it.
    static func base64(_ vector: [Float]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(vector.count * 4)
        for component in vector {
            let bits = component.bitPattern
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 16))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 24))
        }
        return Data(bytes).base64EncodedString()
    }
}
