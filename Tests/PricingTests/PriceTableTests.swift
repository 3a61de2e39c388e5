import AirlockTestSupport
import ChatWire
import Foundation
import Pricing
import Testing

private let demo = """
    format: airlock-prices/1
    regions:
      international: {currency: USD, hosts: [dashscope-intl.aliyuncs.com]}
      beijing: {currency: CNY, hosts: [dashscope.aliyuncs.com]}
    context_cache: {implicit_hit: 0.2, explicit_hit: 0.1, explicit_creation: 1.25}
    models:
      qwen-plus:
        aliases: [qwen-plus-latest]
        international:
          - {up_to: 256000, input: 0.4, output: 1.2, thinking_output: 4}
          - {up_to: 1000000, input: 1.2, output: 3.6, thinking_output: 12}
        beijing:
          - {up_to: 128000, input: 0.8, output: 2, thinking_output: 8}
          - {up_to: 256000, input: 2.4, output: 20, thinking_output: 24}
          - {up_to: 1000000, input: 4.8, output: 48, thinking_output: 64}
      qwen-max:
        international:
          - {input: 1.6, output: 6.4}
    """

/// Pico-units per token of a price per million tokens.
private func picos(_ perMillion: Double) -> Int64 { Int64((perMillion * 1_000_000).rounded()) }

@Suite struct PriceTableTests {
    let table: PriceTable

    init() throws { table = try PriceTable.parse(yaml: demo, file: "demo.yaml") }

    @Test(arguments: [
        // Beijing qwen-plus: a request's whole input picks the tier; a count equal to a bound is inside it.
        (128_000, 0), (128_001, 1), (256_000, 1), (256_001, 2), (1_000_000, 2),
    ])
    func beijingTierBoundaries(prompt: Int, tier: Int) throws {
        let usage = TokenUsage(promptTokens: prompt, completionTokens: 1000)
        let priced = try #require(table.price(usage, model: "qwen-plus", region: "beijing"))
        #expect(priced.tier == tier)
        let rates: [(Double, Double)] = [(0.8, 2), (2.4, 20), (4.8, 48)]
        #expect(priced.cost == Money(currency: "CNY", picos: Int64(prompt) * picos(rates[tier].0) + 1000 * picos(rates[tier].1)))
    }

    @Test(arguments: [(256_000, 0), (256_001, 1), (1_000_000, 1)])
    func internationalTierBoundaries(prompt: Int, tier: Int) throws {
        let priced = try #require(
            table.price(TokenUsage(promptTokens: prompt, completionTokens: 10), model: "qwen-plus", region: "international"))
        #expect(priced.tier == tier && priced.cost.currency == "USD")
    }

    @Test func pastTheLastBoundOrUnknownIsUnknownNeverGuessed() {
        let usage = TokenUsage(promptTokens: 1_000_001, completionTokens: 1)
        #expect(table.price(usage, model: "qwen-plus", region: "beijing") == nil)
        #expect(table.price(TokenUsage(promptTokens: 1, completionTokens: 1), model: "qwen-unknown", region: "beijing") == nil)
        #expect(table.price(TokenUsage(promptTokens: 1, completionTokens: 1), model: "qwen-max", region: "beijing") == nil)
        #expect(table.price(TokenUsage(promptTokens: 1, completionTokens: 1), model: "QWEN-PLUS", region: "beijing") == nil)
        // An unbounded single tier prices any input.
        #expect(table.price(TokenUsage(promptTokens: 5_000_000, completionTokens: 1), model: "qwen-max", region: "international") != nil)
    }

    @Test func currencyFollowsTheEndpoint() throws {
        #expect(table.region(forHost: "dashscope.aliyuncs.com")?.name == "beijing")
        #expect(table.region(forHost: "DashScope-Intl.aliyuncs.com")?.currency == "USD")
        #expect(table.region(forHost: "127.0.0.1") == nil)
        let usage = TokenUsage(promptTokens: 100, completionTokens: 100)
        #expect(try #require(table.price(usage, model: "qwen-plus", region: "beijing")).cost.currency == "CNY")
        #expect(try #require(table.price(usage, model: "qwen-plus", region: "international")).cost.currency == "USD")
    }

    @Test func cachedReasoningAndAliasesArePricedExactly() throws {
        // 1,000 input of which 600 from the implicit cache (20%), 50 output of which 30 reasoning (thinking rate).
        let usage = TokenUsage(promptTokens: 1000, completionTokens: 50, cachedTokens: 600, reasoningTokens: 30)
        let priced = try #require(table.price(usage, model: "qwen-plus-latest", region: "international"))
        #expect(priced.cost.picos == 400 * 400_000 + 600 * 80_000 + 50 * 4_000_000)
        // Explicit: hits at 10%, creation at 125%.
        var explicit = TokenUsage(promptTokens: 1000, completionTokens: 0, cachedTokens: 600, explicitCache: true)
        #expect(try #require(table.price(explicit, model: "qwen-plus", region: "international")).cost.picos == 400 * 400_000 + 600 * 40_000)
        explicit = TokenUsage(promptTokens: 1000, completionTokens: 0, cacheCreationTokens: 1000)
        #expect(try #require(table.price(explicit, model: "qwen-plus", region: "international")).cost.picos == 1000 * 500_000)
        // No reasoning tokens: the non-thinking output rate.
        let plain = TokenUsage(promptTokens: 0, completionTokens: 50)
        #expect(try #require(table.price(plain, model: "qwen-plus", region: "international")).cost.picos == 50 * 1_200_000)
        #expect(Money(currency: "USD", picos: 1_500_000_000_000).amount == 1.5)
    }

    @Test func usageIsReadFromQwensShapes() throws {
        let whole = try JSONValue.parse(Array(#"""
            {"prompt_tokens":120,"completion_tokens":40,"total_tokens":160,
             "prompt_tokens_details":{"cached_tokens":100},"completion_tokens_details":{"reasoning_tokens":25}}
            """#.utf8))
        let usage = try #require(TokenUsage(json: whole))
        #expect(usage == TokenUsage(promptTokens: 120, completionTokens: 40, totalTokens: 160, cachedTokens: 100, reasoningTokens: 25))
        #expect(TokenUsage(json: usage.json) == usage)
        let explicit = try JSONValue.parse(Array(#"""
            {"prompt_tokens":2000,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":0,"cache_creation_input_tokens":1889,"cache_type":"ephemeral"}}
            """#.utf8))
        let created = try #require(TokenUsage(json: explicit))
        #expect(created.cacheCreationTokens == 1889 && created.explicitCache && created.totalTokens == 2001)
        // Nonsense details never raise the cost: more cached than prompt counts as none.
        let odd = try JSONValue.parse(Array(#"{"prompt_tokens":10,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":50}}"#.utf8))
        #expect(TokenUsage(json: odd)?.cachedTokens == 0)
        #expect(TokenUsage(json: try JSONValue.parse(Array(#"{"prompt_tokens":-1,"completion_tokens":1}"#.utf8))) == nil)
        #expect(TokenUsage(json: .null) == nil)
    }

    @Test func errorsAreLocated() {
        func errors(_ yaml: String) -> [PriceTableError] {
            do {
                _ = try PriceTable.parse(yaml: yaml, file: "bad.yaml")
                return []
            } catch {
                return error.errors
            }
        }
        let base = demo
        #expect(errors(base.replacingOccurrences(of: "airlock-prices/1", with: "v2")).contains { $0.message.contains("format") })
        let descending = base.replacingOccurrences(of: "{up_to: 256000, input: 2.4", with: "{up_to: 100000, input: 2.4")
        #expect(errors(descending).contains { $0.message.contains("tiers go up") && $0.line == 14 })
        #expect(errors(base.replacingOccurrences(of: "output: 6.4", with: "output: -6.4")).contains { $0.message.contains("`output`") })
        #expect(errors(base.replacingOccurrences(of: "input: 1.6", with: "input: 1.6e0")).contains { $0.message.contains("`input`") })
        #expect(errors(base.replacingOccurrences(of: "currency: CNY", with: "currency: yuan")).contains { $0.message.contains("currency") })
        #expect(errors(base.replacingOccurrences(of: "  qwen-max:\n    international:", with: "  qwen-max:\n    mars:")).contains {
            $0.message.contains("`mars` is not a region")
        })
        #expect(errors(base.replacingOccurrences(of: "aliases: [qwen-plus-latest]", with: "aliases: [qwen-max]")).contains {
            $0.message.contains("already a name")
        })
        #expect(errors(base.replacingOccurrences(of: "thinking_output: 4}", with: "thinking: 4}")).contains {
            $0.message.contains("unknown tier key `thinking`")
        })
        #expect(errors("format: [").first?.message.contains("invalid YAML") == true)
    }

    @Test func theShippedTableLoads() throws {
        let shipped = try PriceTable.load(file: Repository.path("prices/qwen.yaml"))
        #expect(shipped.regions.keys.sorted() == ["beijing", "international", "us"])
        #expect(shipped.regions["beijing"]?.currency == "CNY" && shipped.regions["us"]?.currency == "USD")
        for model in ["qwen-max", "qwen3-max", "qwen-plus", "qwen-flash", "qwen-turbo", "qwq-plus"] {
            #expect(shipped.model(named: model)?.tiers["international"] != nil, "\(model)")
            #expect(shipped.model(named: model)?.tiers["beijing"] != nil, "\(model)")
        }
        // qwen-plus in Beijing at 100 input and 20 output tokens: 100 × 0.8 + 20 × 2 per million yuan.
        let priced = try #require(
            shipped.price(TokenUsage(promptTokens: 100, completionTokens: 20), model: "qwen-plus", region: "beijing"))
        #expect(priced.cost == Money(currency: "CNY", picos: 100 * 800_000 + 20 * 2_000_000))
    }
}
