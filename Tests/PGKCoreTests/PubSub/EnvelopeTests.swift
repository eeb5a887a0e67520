import Testing
@testable import PGKCore

@Suite struct EnvelopeTests {
    private func wrap(_ schema: String, _ data: String) -> String {
        String(decoding: EnvelopeWriter(schema: schema).encode(data: Array(data.utf8)), as: UTF8.self)
    }

    /// The bytes orjson.dumps({"schema": ..., "data": ...}) gives kafkaesk.
    @Test func encodesAsKafkaeskDoes() {
        #expect(wrap("Order:1", #"{"id":1,"lines":[{"sku":"A"}]}"#)
                == #"{"schema":"Order:1","data":{"id":1,"lines":[{"sku":"A"}]}}"#)
        #expect(wrap("Order:12", "{}") == #"{"schema":"Order:12","data":{}}"#)
        #expect(wrap(#"We"ird\:1"#, "{}") == #"{"schema":"We\"ird\\:1","data":{}}"#)
    }

    @Test func dropsWhitespaceBetweenTokensButNotInsideStrings() {
        #expect(wrap("E:1", " {\t\"a\" : [ 1 , 2.50 ] ,\r\n \"b\": \"x  y\\\" z \\\\\" , \"c\":\"é\"}  ")
                == #"{"schema":"E:1","data":{"a":[1,2.50],"b":"x  y\" z \\","c":"é"}}"#)
    }

    @Test func decodesEnvelopesAndNamesWhatIsWrong() throws {
        let envelope = try Envelope.decode(Array(#"{"schema":"Order:3","data":{"n":1.10}}"#.utf8))
        #expect(envelope.schema == "Order:3")
        #expect(try envelope.schemaID() == SchemaID(name: "Order", version: 3))
        #expect(envelope.data["n"] == .decimal("1.10"), "number text is kept for exact validation")

        func failure(_ text: String) -> EnvelopeError? {
            do {
                _ = try Envelope.decode(Array(text.utf8))
                return nil
            } catch {
                return error
            }
        }
        #expect(failure("nope")?.description.hasPrefix("not JSON: invalid json at byte 0") == true)
        #expect(failure("[1]") == .notEnvelope("the value is not a JSON object"))
        #expect(failure(#"{"data":{}}"#) == .notEnvelope("no \"schema\" member"))
        #expect(failure(#"{"schema":1,"data":{}}"#) == .notEnvelope("\"schema\" is not a string"))
        #expect(failure(#"{"schema":"A:1"}"#) == .notEnvelope("no \"data\" member"))
        #expect(failure(#"{"schema":"A:1","data":[]}"#) == .notEnvelope("\"data\" is not a JSON object"))
        let badID = try Envelope.decode(Array(#"{"schema":"Order","data":{}}"#.utf8))
        #expect(throws: EnvelopeError.self) { try badID.schemaID() }
    }

    /// The JSON reader finds duplicate keys by raw bytes; escaped spellings
    /// of a key are still the same key.
    @Test func duplicateKeysKeepTheirFirstPositionAndLastValue() throws {
        let value = try JSON.decode(#"{"a":1,"b":2,"a":3,"c":{"a":1,"a":2,"d":{"a":0}},"\u0062":4,"bb":5,"a":6}"#)
        #expect(value.jsonText == #"{"a":6,"b":4,"c":{"a":2,"d":{"a":0}},"bb":5}"#)
    }

    @Test(arguments: ["Order", "Order:", "Order:x", "Order:0", "Order:-1", ":1", "a/b:1", ".hidden:1", "Order:1.5"])
    func rejectsBadSchemaIDs(text: String) {
        #expect(throws: SchemaCatalogError.self) { try SchemaID.parse(text) }
    }

    @Test func parsesSchemaIDs() throws {
        #expect(try SchemaID.parse("content.edited:12") == SchemaID(name: "content.edited", version: 12))
        #expect(try SchemaID.parse("a:b:2") == SchemaID(name: "a:b", version: 2))
        #expect(SchemaID(name: "Order", version: 2).fileName == "Order.2.json")
    }
}

/// The subscribe fast path for compact envelopes agrees with the full
/// decoder, and leaves everything unusual to it.
@Suite struct CompactEnvelopeTests {
    static func fast(_ text: String) -> EnvelopeFilter.Accepted? {
        Array(text.utf8).withUnsafeBytes { EnvelopeFilter.acceptCompact($0) }
    }

    static func full(_ text: String) -> EnvelopeFilter.Accepted? {
        guard let envelope = try? Envelope.decode(Array(text.utf8)) else { return nil }
        return EnvelopeFilter.Accepted(schema: envelope.schema, data: JSON.encodeBytes(envelope.data))
    }

    @Test func compactEnvelopesTakeTheFastPathWithTheSameResult() throws {
        for text in [#"{"schema":"Order:1","data":{"id":1,"tags":["a","b"],"n":{"x":null}}}"#,
                     #"{"schema":"Order:1","data":{ "id" : 1 , "s":"a b" }}"# + "\n",
                     #"{"schema":"Ünï:2","data":{}}"#] {
            let fast = try #require(Self.fast(text), "\(text)")
            let full = try #require(Self.full(text))
            #expect(fast.schema == full.schema, "\(text)")
            #expect(try JSON.decode(String(decoding: fast.data, as: UTF8.self)) == JSON.decode(String(decoding: full.data, as: UTF8.self)))
            #expect(!fast.data.contains(UInt8(ascii: " ")) || text.contains("a b"))
        }
    }

    @Test func anythingElseIsLeftToTheFullDecoder() {
        for text in [#"{"schema":"Or\"der:1","data":{}}"#, #"{"data":{},"schema":"Order:1"}"#,
                     #"{"schema":"Order:1","data":{},"extra":1}"#, #"{"schema":"Order:1","data":[1]}"#,
                     #"{"schema":"Order:1","data":{"x":NaN}}"#, #"{"schema":"Order:1","data":{"x":1}"#,
                     #"{"schema":"Order:1","data":{"x":"\u0000"}}"#, #"{"schema":"Order:1","data":{}} x"#,
                     #"{"schema":"Order:1","data":"#, "[]"] {
            #expect(Self.fast(text) == nil, "\(text)")
        }
    }
}
