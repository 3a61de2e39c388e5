import ChatWire
import Testing

@Suite struct JSONParserTests {
    @Test func numbersKeepTheirExactText() throws {
        let value = try JSONValue.parse(#"{"seed":1152921504606846977,"t":0.20,"e":-1.5E+3,"z":0}"#)
        #expect(value["seed"]?.numberValue?.text == "1152921504606846977")
        #expect(value["seed"]?.numberValue?.int == 1_152_921_504_606_846_977)
        #expect(value["t"]?.numberValue?.text == "0.20")
        #expect(value["e"]?.numberValue?.double == -1500)
        #expect(String(decoding: value.encoded(), as: UTF8.self) == #"{"e":-1.5E+3,"seed":1152921504606846977,"t":0.20,"z":0}"#)
    }

    @Test func aKeyGivenTwiceIsRefusedWithItsPath() {
        #expect {
            _ = try JSONValue.parse(#"{"model":"a","messages":[{"role":"user","content":"x","content":"y"}]}"#)
        } throws: { error in
            guard let error = error as? JSONParseError else { return false }
            return error.kind == .duplicateKey && error.path == "messages[0].content"
        }
        #expect(throws: JSONParseError.self) { _ = try JSONValue.parse(#"{"messages":[],"messages":[]}"#) }
    }

    @Test(arguments: [
        "", "{", "{\"a\":}", "[1,]", "{\"a\":1,}", "01", "1.", "-", ".5", "1e", "tru", "nul", "\"abc", "\"\\x\"",
        "\"\\ud800\"", "\"\\udc00\"", "{\"a\" 1}", "[1 2]", "{} {}", "\"a\u{01}b\"", "NaN", "Infinity", "+1",
    ])
    func malformedDocumentsAreRefused(_ text: String) {
        #expect(throws: JSONParseError.self) { _ = try JSONValue.parse(text) }
    }

    @Test func stringsUnescapeAndEncodeBack() throws {
        let text = #"["a\"b\\c\/d\n\t\u00e9\ud83d\ude00 é 中文"]"#
        let value = try JSONValue.parse(text)
        #expect(value.arrayValue?.first?.stringValue == "a\"b\\c/d\n\té😀 é 中文")
        #expect(try JSONValue.parse(value.encoded()) == value)
        #expect(String(decoding: JSONValue.string("\u{01}").encoded(), as: UTF8.self) == #""\u0001""#)
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: JSONParseError.self) { _ = try JSONValue.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func nestingIsBounded() throws {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect {
            _ = try JSONValue.parse(deep)
        } throws: { ($0 as? JSONParseError)?.kind == .tooDeep }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try JSONValue.parse(fine).arrayValue != nil)
        // Far deeper than any stack would take: refused, never a crash.
        let hostile = String(repeating: "[", count: 1_000_000)
        #expect(throws: JSONParseError.self) { _ = try JSONValue.parse(hostile) }
    }

    @Test func encodingIsCanonical() throws {
        let a = try JSONValue.parse(#"{"b":[1,{"d":null,"c":true}],"a":"x"}"#)
        let b = try JSONValue.parse(#"  { "a" : "x" , "b" : [ 1 , { "c" : true , "d" : null } ] }  "#)
        #expect(a == b)
        #expect(a.encoded() == b.encoded())
        #expect(a.canonicalText == #"{"a":"x","b":[1,{"c":true,"d":null}]}"#)
    }

    @Test func numberLiteralsAreValidated() {
        #expect(JSONNumber("12.5e-3")?.double == 0.0125)
        #expect(JSONNumber("1e300")?.int == nil)
        #expect(JSONNumber("abc") == nil)
        #expect(JSONNumber(" 1") == nil)
    }
}
