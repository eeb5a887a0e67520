import Testing
@testable import PGKCore

@Suite struct AvroTests {
    static let everyTypeSchema = #"""
    {"type": "record", "name": "Every", "namespace": "test", "fields": [
      {"name": "n", "type": "null"},
      {"name": "b", "type": "boolean"},
      {"name": "i", "type": "int"},
      {"name": "l", "type": "long"},
      {"name": "f", "type": "float"},
      {"name": "d", "type": "double"},
      {"name": "s", "type": "string"},
      {"name": "raw", "type": "bytes"},
      {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
      {"name": "tags", "type": {"type": "array", "items": "string"}},
      {"name": "scores", "type": {"type": "map", "values": "long"}},
      {"name": "maybe", "type": ["null", "string", "long"]},
      {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 4}},
      {"name": "address", "type": {"type": "record", "name": "Address", "fields": [
        {"name": "street", "type": "string"},
        {"name": "zip", "type": "string"}]}},
      {"name": "again", "type": ["null", "Color"]}
    ]}
    """#

    static let everyValue: Value = [
        "n": nil, "b": true, "i": -42, "l": .int(Int64.min), "f": 1.5, "d": -2.25e-300, "s": "héllo 😀",
        "raw": .bytes([0, 255, 7]), "color": "GREEN", "tags": ["a", "", "c"], "scores": ["x": 1, "y": -1],
        "maybe": .int(1 << 40), "hash": .bytes([1, 2, 3, 4]), "address": ["street": "Main", "zip": "12345"],
        "again": "RED",
    ]

    @Test func roundTripsEveryTypeAndAgreesWithAvroC() throws {
        let schema = try AvroSchema(json: Self.everyTypeSchema)
        #expect(schema.name == "test.Every")
        let bytes = try schema.encode(Self.everyValue)
        let decoded = try schema.decode(bytes)
        #expect(decoded == Self.everyValue)
        #expect(decoded.jsonText == Self.everyValue.jsonText, "field order is schema order")
        #expect(try schema.referenceDecode(bytes) == Self.everyValue, "avro-c reads our bytes the same")
    }

    @Test func decodesHandWrittenBinary() throws {
        let schema = try AvroSchema(json: #"{"type":"record","name":"R","fields":[{"name":"id","type":"long"},{"name":"name","type":["null","string"]},{"name":"ok","type":"boolean"}]}"#)
        // id = -3 (zig-zag 5), name = branch 1 "ab", ok = true
        #expect(try schema.decode([0x05, 0x02, 0x04, 0x61, 0x62, 0x01]).jsonText == #"{"id":-3,"name":"ab","ok":true}"#)
        #expect(try schema.decode([0x80, 0x01, 0x00, 0x00]).jsonText == #"{"id":64,"name":null,"ok":false}"#)
    }

    @Test func decodesLogicalTypes() throws {
        let schema = try AvroSchema(json: #"""
        {"type":"record","name":"L","fields":[
          {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
          {"name":"big","type":{"type":"fixed","name":"F16","size":16,"logicalType":"decimal","precision":38,"scale":5}},
          {"name":"id","type":{"type":"string","logicalType":"uuid"}},
          {"name":"day","type":{"type":"int","logicalType":"date"}},
          {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
          {"name":"atMicros","type":{"type":"long","logicalType":"timestamp-micros"}},
          {"name":"local","type":{"type":"long","logicalType":"local-timestamp-millis"}},
          {"name":"tm","type":{"type":"int","logicalType":"time-millis"}},
          {"name":"tu","type":{"type":"long","logicalType":"time-micros"}},
          {"name":"badLogical","type":{"type":"string","logicalType":"date"}}
        ]}
        """#)
        let value: Value = [
            "price": .decimal("-1234.56"), "big": .decimal("-12345678901234567890123456789.01234"),
            "id": "6f1c2b4e-8a2d-4f4e-9d7e-0a1b2c3d4e5f", "day": "2022-01-08", "at": "2023-11-14T22:13:20.123Z",
            "atMicros": "1969-12-31T23:59:59.999999Z", "local": "2023-11-14T22:13:20.123", "tm": "13:45:01.250",
            "tu": "00:00:00.000001", "badLogical": "not a date",
        ]
        let bytes = try schema.encode(value)
        let decoded = try schema.decode(bytes)
        #expect(decoded == value)
        // The raw integers underneath, read by avro-c, pin the encodings.
        let raw = try schema.referenceDecode(bytes)
        #expect(raw["day"] == .int(19000))
        #expect(raw["at"] == .int(1_700_000_000_123))
        #expect(raw["atMicros"] == .int(-1))
        #expect(raw["tm"] == .int(49_501_250))
        #expect(raw["price"] == .bytes([0xFE, 0x1D, 0xC0]), "-123456 in two's complement")
    }

    @Test(arguments: [
        ("0", 2, "0.00"), ("1", 0, "1"), ("-1", 3, "-0.001"), ("127", 0, "127"), ("128", 1, "12.8"),
        ("-128", 0, "-128"), ("-129", 0, "-129"), ("99999999999999999999999999", 4, "9999999999999999999999.9999"),
        ("-170141183460469231731687303715884105728", 0, "-170141183460469231731687303715884105728"),
    ])
    func decimalTextRoundTrips(unscaled: String, scale: Int, expected: String) throws {
        let bytes = try AvroDecimal.unscaledBytes(unscaled, precision: 40, scale: 0).get()
        let text = bytes.withUnsafeBufferPointer { AvroDecimal.text(unscaled: $0, scale: scale) }
        #expect(text == expected)
        let again = try AvroDecimal.unscaledBytes(expected, precision: 40, scale: scale).get()
        #expect(again == bytes)
    }

    @Test func decimalInputsAreExactOrRejected() throws {
        let schema = try AvroSchema(json: #"{"type":"bytes","logicalType":"decimal","precision":6,"scale":2}"#)
        for (input, expected) in [(Value.decimal("12.5"), "12.50"), (.string("1.5E+2"), "150.00"), (.int(7), "7.00"),
                                  (.double(0.25), "0.25"), (.string("-0.10"), "-0.10"), (.decimal("3.000"), "3.00")] {
            #expect(try schema.decode(schema.encode(input)) == .decimal(expected), "\(input)")
        }
        #expect(throws: CodecError.self) { try schema.encode(.decimal("1.234")) }
        #expect(throws: CodecError.self) { try schema.encode(.decimal("12345.6")) }
        #expect(throws: CodecError.self) { try schema.encode(.string("abc")) }
    }

    @Test func encoderFillsDefaultsAndNamesMissingFieldPaths() throws {
        let schema = try AvroSchema(json: #"""
        {"type":"record","name":"Customer","fields":[
          {"name":"name","type":"string"},
          {"name":"tier","type":{"type":"enum","name":"Tier","symbols":["FREE","PRO"]},"default":"FREE"},
          {"name":"note","type":["null","string"],"default":null},
          {"name":"blob","type":"bytes","default":"\u00ff\u0001"},
          {"name":"address","type":{"type":"record","name":"Address","fields":[
            {"name":"city","type":"string","default":"Berlin"},
            {"name":"zip","type":"string"}]}}
        ]}
        """#)
        let full = try schema.decode(schema.encode(["name": "Ada", "address": ["zip": "10115"]]))
        #expect(full.jsonText == #"{"name":"Ada","tier":"FREE","note":null,"blob":"/wE=","address":{"city":"Berlin","zip":"10115"}}"#)
        do {
            _ = try schema.encode(["name": "Ada", "address": ["city": "Paris"]])
            Issue.record("encoded a record without its required field")
        } catch {
            #expect(error.description.contains(".address.zip"), "\(error)")
            #expect(error.description.contains("missing field"), "\(error)")
        }
    }

    @Test(arguments: [
        (#"{"type":"int"}"#, Value.int(1 << 31), "out of range"),
        (#"{"type":"int"}"#, Value.double(1.5), "expected int"),
        (#"{"type":"long"}"#, Value.string("12x"), "expected long"),
        (#"{"type":"enum","name":"E","symbols":["A","B"]}"#, Value.string("C"), "not a symbol of enum E (A, B)"),
        (#"{"type":"record","name":"R","fields":[{"name":"xs","type":{"type":"array","items":"int"}}]}"#,
         Value.object(ValueObject([("xs", [1, "two"])])), ".xs[1]: expected int"),
        (#"["null","long"]"#, Value.string("x"), "no branch of the union [null, long] accepts"),
        (#"["string","long"]"#, Value.null, "no null branch"),
        (#"{"type":"fixed","name":"F","size":2}"#, Value.bytes([1]), "exactly 2 bytes"),
        (#"{"type":"int","logicalType":"date"}"#, Value.string("2023-02-30"), "not a date"),
    ])
    func encoderRejectsValuesThatDoNotFit(schemaText: String, value: Value, message: String) throws {
        let schema = try AvroSchema(json: schemaText)
        do {
            let bytes = try schema.encode(value)
            Issue.record("encoded \(value) as \(bytes)")
        } catch {
            #expect(error.format == "avro")
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func unionsPickTheBestBranchAndAcceptAvroJSONWrapping() throws {
        let schema = try AvroSchema(json: #"["null","string","long","double",{"type":"record","name":"P","fields":[{"name":"x","type":"int"}]}]"#)
        func branch(_ value: Value) throws -> UInt8 { try schema.encode(value)[0] / 2 }
        #expect(try branch(nil) == 0)
        #expect(try branch("5") == 1, "a string stays a string even though it is numeric")
        #expect(try branch(5) == 2)
        #expect(try branch(5.5) == 3)
        #expect(try branch(["x": 1]) == 4)
        #expect(try branch(["long": 9]) == 2, "Avro JSON {\"long\": 9}")
        #expect(try schema.decode(schema.encode(["P": ["x": 3]])) == ["x": 3])
    }

    @Test func bytesFromStringsAreUTF8UnlessBase64IsAsked() throws {
        let schema = try AvroSchema(json: #""bytes""#)
        #expect(try schema.decode(schema.encode("AQI=")) == .bytes(Array("AQI=".utf8)))
        #expect(try schema.decode(schema.encode("AQI=", options: .init(bytesAsBase64: true))) == .bytes([1, 2]))
        #expect(throws: CodecError.self) { try schema.encode("%%%", options: .init(bytesAsBase64: true)) }
    }

    @Test func rejectsBadSchemaTextClearly() {
        for (text, fragment) in [("{", "not JSON"), (#"{"type":"recrod","name":"x","fields":[]}"#, "recrod"),
                                 (#"{"type":"record","name":"R","fields":[{"name":"a","type":"Missing"}]}"#, "Missing"),
                                 (#"["null","null"]"#, "twice")] {
            do {
                let schema = try AvroSchema(json: text)
                Issue.record("accepted \(text) as \(schema.name)")
            } catch {
                #expect(error.format == "avro schema")
                #expect(error.description.contains(fragment), "\(error)")
            }
        }
    }

    @Test func recursiveSchemasWorkAndDeepDataIsRejected() throws {
        let schema = try AvroSchema(json: #"{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}"#)
        let list: Value = ["v": 1, "next": ["v": 2, "next": ["v": 3, "next": nil]]]
        #expect(try schema.decode(schema.encode(list)) == list)
        // 10,000 links: each is "v=0, branch 1"; then v=0, branch 0.
        let deep = [UInt8](repeating: 0, count: 1) + Array(repeating: [0x02, 0x00], count: 10_000).flatMap { $0 } + [0x00]
        do {
            _ = try schema.decode(deep)
            Issue.record("decoded 10,000 levels")
        } catch {
            #expect(error.reason.contains("nested deeper"), "\(error)")
        }
    }

    @Test func hostileCountsAndLengthsFailFast() throws {
        let nulls = try AvroSchema(json: #"{"type":"array","items":"null"}"#)
        // block count 2^62 of zero-size items: avro-c would spin here.
        #expect(throws: CodecError.self) { try nulls.decode([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00]) }
        let strings = try AvroSchema(json: #"{"type":"array","items":"string"}"#)
        #expect(throws: CodecError.self) { try strings.decode([0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0x00]) }
        let text = try AvroSchema(json: #""string""#)
        do {
            _ = try text.decode([0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0x61])
            Issue.record("accepted a string longer than the input")
        } catch {
            #expect(error.reason.contains("exceeds the 1 bytes left"), "\(error)")
            #expect(error.offset == 0)
        }
        #expect(throws: CodecError.self) { try text.decode([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]) }
        #expect(throws: CodecError.self) { try text.decode([0x04, 0xC3, 0x28]) }
    }

    @Test func reportsTruncationAndTrailingBytesWithPaths() throws {
        let schema = try AvroSchema(json: Self.everyTypeSchema)
        let bytes = try schema.encode(Self.everyValue)
        for length in 0..<bytes.count {
            #expect(throws: CodecError.self) { try schema.decode(Array(bytes[..<length])) }
        }
        do {
            _ = try schema.decode(Array(bytes.dropLast(3)))
            Issue.record("accepted truncated input")
        } catch {
            #expect(error.reason.contains(".address.zip"), "\(error)")
        }
        do {
            _ = try schema.decode(bytes + [0x00])
            Issue.record("accepted trailing bytes")
        } catch {
            #expect(error.offset == bytes.count)
            #expect(error.reason.contains("unexpected bytes"))
        }
    }

    /// Random corruptions never trap, and whatever we accept avro-c reads
    /// the same way (we are stricter: booleans, UTF-8, varint overflow).
    @Test func survivesByteFlipsAndAgreesWithAvroC() throws {
        let schema = try AvroSchema(json: Self.everyTypeSchema)
        let valid = try schema.encode(Self.everyValue)
        var rng = SplitMix64(seed: 42)
        var accepted = 0, rejected = 0
        for _ in 0..<5000 {
            var bytes = valid
            for _ in 0..<Int(rng.next() % 3 + 1) {
                bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            do {
                let ours = try schema.decode(bytes)
                accepted += 1
                let theirs = try schema.referenceDecode(bytes)
                #expect(ours.jsonText == theirs.jsonText)
            } catch {
                rejected += 1
            }
        }
        #expect(accepted > 100 && rejected > 100, "accepted \(accepted), rejected \(rejected)")
    }

    /// Random bytes and flips against schemas with logical types, recursion,
    /// maps and zero-size items: every outcome must be a value or a CodecError.
    @Test func randomInputNeverTraps() throws {
        let schemas = [
            Self.everyTypeSchema,
            #"{"type":"record","name":"Node","fields":[{"name":"v","type":{"type":"long","logicalType":"timestamp-nanos"}},{"name":"kids","type":{"type":"array","items":"Node"}}]}"#,
            #"{"type":"map","values":{"type":"array","items":["null",{"type":"bytes","logicalType":"decimal","precision":30,"scale":4}]}}"#,
            #"{"type":"array","items":{"type":"record","name":"Empty","fields":[]}}"#,
            #"[{"type":"fixed","name":"U","size":16,"logicalType":"uuid"},{"type":"fixed","name":"D","size":12,"logicalType":"duration"},{"type":"int","logicalType":"time-millis"},{"type":"long","logicalType":"local-timestamp-micros"},"float"]"#,
        ]
        var rng = SplitMix64(seed: 7)
        var accepted = 0
        for text in schemas {
            let schema = try AvroSchema(json: text)
            // Arrays of empty records may legally hold up to a million items; fewer rounds there.
            for _ in 0..<(schema.name == "array" ? 100 : 3000) {
                let length = Int(rng.next() % 40)
                let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if let value = try? schema.decode(bytes) {
                    accepted += 1
                    // What decodes must encode back to bytes that decode the same.
                    #expect(try schema.decode(schema.encode(value)).jsonText == value.jsonText, "\(text)")
                }
            }
        }
        #expect(accepted > 0)
    }

    /// Decode speed for small records; set PGK_BENCH_RECORDS for a longer run.
    @Test func measuresDecodeSpeed() throws {
        let schema = try AvroSchema(json: #"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"customer","type":"string"},{"name":"amount","type":"double"},{"name":"status","type":{"type":"enum","name":"S","symbols":["NEW","PAID"]}},{"name":"note","type":["null","string"]}]}"#)
        let bytes = try schema.encode(["id": 123_456, "customer": "customer-0042", "amount": 19.99, "status": "PAID", "note": nil])
        let count = Int(TestEnvironment.get("PGK_BENCH_RECORDS") ?? "") ?? 100_000
        let start = SystemClock.shared.nowMilliseconds
        var checksum = 0
        for _ in 0..<count {
            if case .object(let object) = try schema.decode(bytes) { checksum += object.count }
        }
        let elapsed = SystemClock.shared.nowMilliseconds - start
        let micros = Double(elapsed) * 1000 / Double(count)
        print("avro decode: \(count) records in \(elapsed) ms = \(micros) µs/record")
        #expect(checksum == count * 5)
        // For comparison only: avro-c's generic reader (no logical types), and msgpack.
        let referenceCount = count / 10
        let referenceStart = SystemClock.shared.nowMilliseconds
        for _ in 0..<referenceCount { _ = try schema.referenceDecode(bytes) }
        let referenceMicros = Double(SystemClock.shared.nowMilliseconds - referenceStart) * 1000 / Double(referenceCount)
        let packed = MsgPack.encode(try schema.decode(bytes))
        let packStart = SystemClock.shared.nowMilliseconds
        for _ in 0..<referenceCount { _ = try MsgPack.decode(packed) }
        let packMicros = Double(SystemClock.shared.nowMilliseconds - packStart) * 1000 / Double(referenceCount)
        let encodeStart = SystemClock.shared.nowMilliseconds
        let record = try schema.decode(bytes)
        for _ in 0..<referenceCount { _ = try schema.encode(record) }
        let encodeMicros = Double(SystemClock.shared.nowMilliseconds - encodeStart) * 1000 / Double(referenceCount)
        print("avro-c generic read: \(referenceMicros) µs/record; msgpack decode: \(packMicros) µs; avro encode: \(encodeMicros) µs")
        #expect(micros < 50, "\(micros) µs/record")
    }
}
