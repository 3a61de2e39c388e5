import AirlockTestSupport
import Inspection
import Testing

@Suite struct ValidatorTests {
    private func entities(_ text: String) async throws -> [String] {
        try await shippedRegexRuleSet().detectEntities(in: text).compactMap(\.entity)
    }

    @Test func luhn() async throws {
        #expect(try await entities("pay 4539 1488 0343 6467 now") == ["CREDIT_CARD"])
        #expect(try await entities("pay 4539 1488 0343 6468 now").contains("CREDIT_CARD") == false)
    }

    @Test func ibanPerCountryLengthAndChecksum() async throws {
        #expect(try await entities("to GB82WEST12345698765432 ok") == ["IBAN"])
        #expect(try await entities("to gb82 west 1234 5698 7654 32 ok") == ["IBAN"])
        #expect(try await entities("to FR1420041010050500013M02606 ok") == ["IBAN"])
        // Right checksum digits moved to a country with another length, and a wrong checksum.
        #expect(try await entities("to GB82WEST123456987654 ok").contains("IBAN") == false)
        #expect(try await entities("to GB83WEST12345698765432 ok").contains("IBAN") == false)
    }

    @Test func prcResidentIDChecksum() async throws {
        #expect(try await entities("证件 11010519491231002X") == ["CN_ID"])
        #expect(try await entities("证件 110105194912310021").contains("CN_ID") == false)
        #expect(try await entities("证件 110105194913310028").contains("CN_ID") == false)
    }

    @Test func ipAddresses() async throws {
        #expect(try await entities("host 10.0.0.255 up") == ["IP_ADDRESS"])
        #expect(try await entities("host 10.0.0.256 up").contains("IP_ADDRESS") == false)
        #expect(try await entities("host fe80::1ff:fe23:4567:890a up") == ["IP_ADDRESS"])
        #expect(try await entities("host ::ffff:192.0.2.1 up") == ["IP_ADDRESS"])
        #expect(try await entities("at 10:30:00 sharp").isEmpty)
    }

    @Test func byteOffsetsAreUTF8() async throws {
        let findings = try await shippedRegexRuleSet().detectEntities(in: "邮箱：a@b.cn")
        #expect(findings.first?.range == 9..<15)
    }
}
