import Testing
@testable import PGKCore

@Suite struct PgArrayTextTests {
    func parse(_ text: String, delimiter: Character = ",") throws -> PgArrayText.Node {
        try PgArrayText.parse(Array(text.utf8), delimiter: UInt8(ascii: delimiter.unicodeScalars.first!))
    }

    @Test func plainQuotedNullAndEmpty() throws {
        #expect(try parse("{1,2,3}") == .array([.element("1"), .element("2"), .element("3")]))
        #expect(try parse("{}") == .array([]))
        #expect(try parse(#"{"a b","c\"d","e\\f",NULL,"NULL",null}"#) ==
                .array([.element("a b"), .element("c\"d"), .element("e\\f"), .element(nil), .element("NULL"), .element(nil)]))
        #expect(try parse(#"{"",x\,y}"#) == .array([.element(""), .element("x,y")]))
        #expect(try parse("{ 1 , 2 }") == .array([.element("1"), .element("2")]))
        #expect(try parse(#"{"{\"k\": 1}"}"#) == .array([.element(#"{"k": 1}"#)]))
    }

    @Test func nestedDimensionsAndDelimiters() throws {
        #expect(try parse("{{1,2},{3,NULL}}") ==
                .array([.array([.element("1"), .element("2")]), .array([.element("3"), .element(nil)])]))
        #expect(try parse("[0:1]={7,8}") == .array([.element("7"), .element("8")]))
        #expect(try parse("[1:1][1:2]={{a,b}}") == .array([.array([.element("a"), .element("b")])]))
        #expect(try parse("{(2,2),(0,0);(1,1),(0,0)}", delimiter: ";") ==
                .array([.element("(2,2),(0,0)"), .element("(1,1),(0,0)")]))
    }

    @Test func malformedArraysThrow() {
        for bad in ["", "{", "{1,2", "1,2}", "{1,,2}", "{\"a}", "{a\"b}", "{1}x", "[1:2]{1,2}", "{1\\"] {
            #expect(throws: CodecError.self, "\(bad)") { try parse(bad) }
        }
        let deep = String(repeating: "{", count: 100) + String(repeating: "}", count: 100)
        #expect(throws: CodecError.self) { try parse(deep) }
    }
}

@Suite struct PgValueMapperTests {
    func map(_ kind: PgValueKind, _ text: String) -> Value { PgValueMapper.value(kind, ArraySlice(Array(text.utf8))) }

    @Test func scalarKinds() {
        #expect(map(.integer, "-42") == .int(-42))
        #expect(map(.integer, "9223372036854775807") == .int(.max))
        #expect(map(.integer, "99999999999999999999") == .string("99999999999999999999"))
        #expect(map(.float, "1.25") == .double(1.25))
        #expect(map(.float, "NaN") == .string("NaN"))
        #expect(map(.float, "-Infinity") == .string("-Infinity"))
        #expect(map(.numeric, "12345678901234567890.000000001") == .string("12345678901234567890.000000001"))
        #expect(map(.boolean, "t") == .bool(true) && map(.boolean, "f") == .bool(false))
        #expect(map(.json, #"{"a": [1, 2.50, "x"]}"#) == .object(ValueObject([("a", .array([1, .decimal("2.50"), "x"]))])))
        #expect(map(.json, "not json") == .string("not json"))
        #expect(map(.bytea, "\\x00ff41") == .bytes([0, 255, 65]))
        #expect(map(.bytea, "a\\\\b\\001") == .bytes([97, 92, 98, 1]))
        #expect(map(.text, "P1Y2M3DT4H5M6S") == .string("P1Y2M3DT4H5M6S"))
    }

    @Test func timestampsBecomeRFC3339() {
        #expect(map(.timestamptz, "2024-01-02 03:04:05.123456+00") == .string("2024-01-02T03:04:05.123456Z"))
        #expect(map(.timestamptz, "2024-01-02 03:04:05+05:30") == .string("2024-01-02T03:04:05+05:30"))
        #expect(map(.timestamptz, "2024-01-02 03:04:05-08") == .string("2024-01-02T03:04:05-08:00"))
        #expect(map(.timestamp, "2024-01-02 03:04:05") == .string("2024-01-02T03:04:05Z"))
        #expect(map(.timestamptz, "infinity") == .string("infinity"))
        #expect(map(.timestamp, "0044-03-15 12:00:00 BC") == .string("0044-03-15 12:00:00 BC"))
    }

    @Test func arraysMapTheirElements() {
        #expect(map(.array(element: .integer, delimiter: 44), "{1,NULL,3}") == .array([1, .null, 3]))
        #expect(map(.array(element: .integer, delimiter: 44), "{{1,2},{3,4}}") == .array([[1, 2], [3, 4]]))
        #expect(map(.array(element: .text, delimiter: 44), #"{"a,b","c\"d"}"#) == .array(["a,b", "c\"d"]))
        #expect(map(.array(element: .json, delimiter: 44), #"{"{\"k\": true}"}"#) == .array([.object(ValueObject([("k", true)]))]))
        #expect(map(.array(element: .timestamptz, delimiter: 44), #"{"2024-01-02 03:04:05+00"}"#) == .array(["2024-01-02T03:04:05Z"]))
        #expect(map(.array(element: .integer, delimiter: 44), "{broken") == .string("{broken"))
    }

    @Test func builtinKindsByOID() {
        #expect(PgValueKind.builtin(oid: 23) == .integer)
        #expect(PgValueKind.builtin(oid: 1007) == .array(element: .integer, delimiter: 44))
        #expect(PgValueKind.builtin(oid: 1020) == .array(element: .text, delimiter: UInt8(ascii: ";")))
        #expect(PgValueKind.builtin(oid: 3802) == .json)
        #expect(PgValueKind.builtin(oid: 999_999) == nil)
    }
}
