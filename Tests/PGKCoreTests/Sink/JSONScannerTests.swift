import Testing
@testable import PGKCore

@Suite struct JSONScannerTests {
    static func scan(_ text: String) throws(CodecError) -> JSONScanner.Summary {
        try JSONScanner.scan(Array(text.utf8))
    }

    static func normalized(_ text: String) -> String {
        var out: [UInt8] = []
        Array(text.utf8).withUnsafeBytes { JSONScanner.appendNormalized($0, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func acceptsValidDocumentsAsTheyAre() throws {
        for text in ["{}", "[]", "0", "-0.5e-3", "\"x\"", "true", " null ", "{\"a\":[1,{\"b\":\"\\u00e9\\n\"}],\"c\":false}",
                     "\"😀 é\"", "\"\\ud83d\\ude00\"", "[1E+2, 1e-16383, 123456789012345678901234567890]"] {
            let summary = try Self.scan(text)
            #expect(!summary.needsRewrite, "\(text)")
            #expect(summary.nonFiniteCount == 0)
        }
        #expect(try Self.scan("{\"a\":1}").isObject)
        #expect(try !Self.scan("[{}]").isObject)
    }

    @Test func rewritesNonFiniteNumbersAndTheByteOrderMark() throws {
        let text = "{\"a\":NaN,\"b\":[Infinity,-Infinity,\"NaN\",-1],\"c\":\"\\\"NaN\"}"
        let summary = try Self.scan(text)
        #expect(summary.nonFiniteCount == 3 && summary.needsRewrite)
        #expect(Self.normalized(text) == "{\"a\":null,\"b\":[null,null,\"NaN\",-1],\"c\":\"\\\"NaN\"}")
        let bom = "\u{FEFF}[1]"
        #expect(try Self.scan(bom).needsRewrite)
        #expect(Self.normalized(bom) == "[1]")
    }

    @Test func rejectsWhatJSONOrJsonbRejects() {
        let bad: [(String, String)] = [
            ("", "empty"), ("{", "string key"), ("[1", "unterminated"), ("[1,]", "unexpected"), ("{\"a\" 1}", "':'"), ("01", "leading zeros"),
            ("\"\\u0000\"", "\\u0000"), ("\"\\ud800\"", "surrogate"), ("\"\\udc00x\"", "surrogate"),
            ("\"a\u{1}\"", "control"), ("1e-20000", "decimal point"), ("1e200000", "too large"), ("[1] 2", "after"),
            ("nul", "literal"), ("\"\\x\"", "escape"), ("{\"a\":1,}", "string key"),
        ]
        for (text, reason) in bad {
            #expect(throws: CodecError.self, "\(text)") { try Self.scan(text) }
            do { _ = try Self.scan(text) } catch {
                #expect(error.description.contains(reason), "\(text): \(error)")
            }
        }
        #expect(throws: CodecError.self) { try JSONScanner.scan([0x22, 0xC3, 0x28, 0x22]) } // invalid UTF-8
        #expect(throws: CodecError.self) { try JSONScanner.scan([0x22, 0xED, 0xA0, 0x80, 0x22]) } // UTF-8 surrogate
        #expect(throws: CodecError.self) { try JSONScanner.scan([0x22, 0xC0, 0x80, 0x22]) } // overlong
        let deep = String(repeating: "[", count: JSONScanner.maxDepth + 1) + String(repeating: "]", count: JSONScanner.maxDepth + 1)
        #expect(throws: CodecError.self) { try Self.scan(deep) }
        let fine = String(repeating: "[", count: JSONScanner.maxDepth) + String(repeating: "]", count: JSONScanner.maxDepth)
        #expect(throws: Never.self) { try Self.scan(fine) }
    }

    @Test func findsTopLevelArrayElements() throws {
        let text = Array(" [ {\"a\": [1]}, 2 ,\"x,]\", [] , [[3]] ] ".utf8)
        let ranges = try text.withUnsafeBytes { raw in try JSONScanner.topLevelElements(raw) }
        #expect(ranges.map { String(decoding: text[$0], as: UTF8.self) } == ["{\"a\": [1]}", "2", "\"x,]\"", "[]", "[[3]]"])
        #expect(throws: CodecError.self) { try Array("{}".utf8).withUnsafeBytes { try JSONScanner.topLevelElements($0) } }
        #expect(try Array("[]".utf8).withUnsafeBytes { try JSONScanner.topLevelElements($0) }.isEmpty)
    }

    @Test func textCheckFindsNulAndBadUTF8() {
        #expect(TextCheck.problem(UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
        #expect(Array("héllo 😀".utf8).withUnsafeBytes { TextCheck.problem($0) } == nil)
        #expect(([0x61, 0x00] as [UInt8]).withUnsafeBytes { TextCheck.problem($0) }?.offset == 1)
        #expect(([0x61, 0xFF] as [UInt8]).withUnsafeBytes { TextCheck.problem($0) }?.format == "utf-8")
        #expect(([0xE2, 0x82] as [UInt8]).withUnsafeBytes { TextCheck.problem($0) } != nil)
    }

    /// The scanner's verdict must match PostgreSQL's jsonb input exactly:
    /// accepted documents never fail a COPY, rejected ones really are bad.
    @Test func agreesWithPostgresJsonb() throws {
        let db = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("scanner"))
        var corpus = ["{}", "[]", "1", "-0", "1.5e300", "1e131071", "1e131072", "1e-16383", "1e-16384", "0.00001e-16378",
                      "123.456e-16380", "\"\\u0000\"", "\"\\u0001\"", "\"\\ud800\\udc00\"", "\"\\udbff\\udfff\"", "\"\\ud800\"",
                      "\"\\ud800\\u0041\"", "{\"a\":1,\"a\":2}", "\"\\/\"", "[1,2", "tru", "  [ 1 , 2 ]  ", "\"é\"",
                      "-", "1.", ".5", "+1", "0x10", "[\"\t\"]", "{\"\":0}", "1E5", "-1.0E-5", "[-0.0]", "\"\\u00e9\"",
                      "9" + String(repeating: "9", count: 5000), "0." + String(repeating: "0", count: 16382) + "1",
                      "0." + String(repeating: "0", count: 16383) + "1"]
        var generator = SystemRandomNumberGenerator()
        let atoms = ["1", "\"s\"", "null", "true", "[", "]", "{", "}", ",", ":", "\"k\"", "-", "e", "0", "\\", "\"", " "]
        for _ in 0..<300 {
            corpus.append((0..<Int.random(in: 1...8, using: &generator)).map { _ in atoms.randomElement(using: &generator)! }.joined())
        }
        for text in corpus {
            let ours: Bool
            do { _ = try Self.scan(text); ours = true } catch { ours = false }
            let theirs: Bool
            do {
                _ = try db.query("SELECT $1::jsonb", [text])
                theirs = true
            } catch {
                theirs = false
            }
            #expect(ours == theirs, "scanner \(ours ? "accepts" : "rejects") but jsonb \(theirs ? "accepts" : "rejects"): \(text.prefix(80))")
        }
    }
}
