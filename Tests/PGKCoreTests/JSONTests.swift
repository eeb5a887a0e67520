import Testing
@testable import PGKCore

@Suite struct JSONTests {
    @Test func roundTripsKeyOrderAndTypes() throws {
        let text = #"{"b":1,"a":[true,null,-2.5,"x\ny\"",{"z":9223372036854775807}],"c":18446744073709551616}"#
        let value = try JSON.decode(text)
        #expect(value.jsonText == text)
        #expect(value["b"] == .int(1))
        #expect(value["c"] == .decimal("18446744073709551616"))
    }

    @Test func decodesEscapesAndSurrogates() throws {
        let value = try JSON.decode(#""\u00e9\ud83d\ude00\t\\""#)
        #expect(value == .string("é😀\t\\"))
    }

    @Test(arguments: [
        ("{\"a\":1,}", 7), ("[1 2]", 3), ("\"abc", 0), ("01", 0), ("{\"a\" 1}", 5),
        ("tru", 0), ("1.", 2), ("[1]x", 3), ("", 0), ("\"\\x\"", 1),
    ])
    func rejectsMalformedInputWithOffset(input: String, offset: Int) {
        #expect(throws: CodecError.self) { try JSON.decode(input) }
        do { _ = try JSON.decode(input) } catch { #expect(error.offset == offset, "\(input): \(error)") }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        do {
            _ = try JSON.decode(bytes)
            Issue.record("accepted invalid UTF-8")
        } catch {
            #expect(error.format == "utf-8")
        }
    }

    @Test func nonFiniteBecomesNullOnlyWhenAsked() throws {
        let text = #"{"a":NaN,"b":-Infinity,"c":Infinity}"#
        #expect(throws: CodecError.self) { try JSON.decode(text) }
        let result = try JSON.read(Array(text.utf8), options: .init(nonFiniteAsNull: true))
        #expect(result.nonFiniteCount == 3)
        #expect(result.value.jsonText == #"{"a":null,"b":null,"c":null}"#)
    }

    @Test func preservesNumberTextWhenAsked() throws {
        let text = "[0.1000000000000000055511151231257827,1e400]"
        let exact = try JSON.decode(text, options: .init(preserveNumberText: true))
        #expect(exact.jsonText == text)
        let lossy = try JSON.decode(text)
        #expect(lossy.jsonText == "[0.1,null]")
    }

    @Test func escapesControlCharacters() {
        #expect(Value.string("a\u{01}b\u{1F}").jsonText == #""a\u0001b\u001f""#)
        #expect(Value.bytes([0, 1, 2, 255]).jsonText == #""AAEC/w==""#)
        #expect(Value.double(3).jsonText == "3.0")
    }

    @Test func duplicateKeysKeepFirstPositionLastValue() throws {
        #expect(try JSON.decode(#"{"a":1,"b":2,"a":3}"#).jsonText == #"{"a":3,"b":2}"#)
    }

    @Test func depthLimitStopsRunawayNesting() {
        let limit = JSON.ReadOptions().maxDepth
        let deep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(throws: CodecError.self) { try JSON.decode(deep) }
        var shallow = JSON.ReadOptions()
        shallow.maxDepth = 3
        #expect(throws: CodecError.self) { try JSON.decode("[[[[]]]]", options: shallow) }
        #expect(throws: Never.self) { try JSON.decode("[[[]]]", options: shallow) }
    }

    @Test func base64RoundTrip() {
        for n in 0..<8 {
            let bytes = (0..<n).map { UInt8($0 * 37 & 0xFF) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
    }
}
