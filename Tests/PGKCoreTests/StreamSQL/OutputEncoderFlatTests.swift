import Testing
@testable import PGKCore

/// A changelog record written straight from PostgreSQL's JSON of a row
/// (OutputEncoder.encodeFlat) must be byte for byte what decoding that
/// JSON and encoding the Values gives; where the fast path cannot say, it
/// returns nil and the general path takes the record.
@Suite struct OutputEncoderFlatTests {
    static func sink(key: SQLType, keyFormat: String = "KAFKA", value: [ColumnDefinition]? = nil) -> CatalogSource {
        let values = value ?? [ColumnDefinition(name: "N", type: .bigint), ColumnDefinition(name: "TOTAL", type: .integer),
                               ColumnDefinition(name: "MEAN", type: .double), ColumnDefinition(name: "NAME", type: .string),
                               ColumnDefinition(name: "On", type: .boolean)]
        return CatalogSource(name: "T", kind: .table, topic: "T", keyFormat: keyFormat, valueFormat: "JSON",
                             columns: [ColumnDefinition(name: "K", type: key, role: .primaryKey)] + values,
                             keyColumns: ["K"], partitions: 1, queryID: nil, resultTable: nil, statement: "")
    }

    /// The fast path's record, and the general path's.
    static func bothWays(_ encoder: OutputEncoder, key: String?, value: String?) throws -> (fast: ([UInt8]?, [UInt8]?)?, general: ([UInt8]?, [UInt8]?)) {
        let keyBytes = key.map { Array($0.utf8) }, valueBytes = value.map { Array($0.utf8) }
        let fast = withOptionalBytes(keyBytes) { k in
            withOptionalBytes(valueBytes) { v in
                encoder.encodeFlat(key: k.map { $0.assumingMemoryBound(to: UInt8.self) }, value: v.map { $0.assumingMemoryBound(to: UInt8.self) })
            }
        }
        let general = (try encoder.key(try keyBytes.map { try JSON.decode($0) } ?? .null),
                       try encoder.value(try valueBytes.map { try JSON.decode($0) }))
        return (fast.map { ($0.key, $0.value) }, general)
    }

    @Test func writesWhatTheGeneralPathWrites() throws {
        let encoder = OutputEncoder(sink: Self.sink(key: .integer), registry: nil)
        let taken: [(String?, String?)] = [
            (#"{"k" : 7}"#, #"{"k":7,"n":3,"total":10,"mean":3.3333333333333335,"name":"ann","On":true}"#),
            (#"{"k" : -2147483648}"#, #"{"k":-2147483648,"n":9223372036854775807,"total":null,"mean":500,"name":null,"On":false}"#),
            (#"{"k" : 1}"#, #"{"n":92233720368547758070,"mean":1e+20,"name":"a b/c"}"#),
            (#"{"k" : 1}"#, #"{"mean":1.5e-07}"#), (#"{"k" : 1}"#, #"{"mean":-0}"#), (#"{"k" : 1}"#, #"{"mean":0.1}"#),
            (#"{"k" : 1}"#, #"{"mean":123456789012345678901234567890}"#), (#"{"k" : 1}"#, #"{"mean":1E2}"#),
            (#"{"k" : 1}"#, nil), (#"{"k" : null}"#, #"{"n":1}"#), (nil, #"{"n":1}"#), (#"{"k" : 1}"#, "{}"),
        ]
        for (key, value) in taken {
            let (fast, general) = try Self.bothWays(encoder, key: key, value: value)
            #expect(fast != nil, "\(key ?? "nil") \(value ?? "nil")")
            #expect(fast?.0 == general.0 && fast?.1 == general.1, "\(key ?? "nil") \(value ?? "nil"): \(String(decoding: fast?.1 ?? [], as: UTF8.self)) vs \(String(decoding: general.1 ?? [], as: UTF8.self))")
        }
        #expect(try Self.bothWays(encoder, key: #"{"k" : 7}"#, value: #"{"n":1,"mean":500}"#).fast?.1 == Array(#"{"N":1,"TOTAL":null,"MEAN":500.0,"NAME":null,"On":null}"#.utf8))
        // Left to the general path: escapes, non-ASCII, NaN, numbers a column cannot take, a key past BIGINT.
        let declined: [(String?, String?)] = [
            (#"{"k" : 1}"#, #"{"name":"a\"b"}"#), (#"{"k" : 1}"#, #"{"name":"é"}"#), (#"{"k" : 1}"#, #"{"mean":"NaN"}"#),
            (#"{"k" : 1}"#, #"{"n":1.5}"#), (#"{"k" : 1}"#, #"{"n":"1"}"#), (#"{"k" : 1}"#, #"{"On":1}"#),
            (#"{"k" : 1}"#, #"{"n":1,"n":2}"#), (#"{"k" : 92233720368547758070}"#, #"{"n":1}"#), (#"{"other" : 1}"#, #"{"n":1}"#),
            (#"{"k" : 1}"#, #"{"n":[1]}"#),
        ]
        for (key, value) in declined {
            let fast = try? Self.bothWays(encoder, key: key, value: value).fast
            #expect(fast.map { $0 == nil } ?? true, "\(key ?? "nil") \(value ?? "nil")")
        }
    }

    @Test func stringAndJSONKeysToo() throws {
        for (type, format, key) in [(SQLType.string, "KAFKA", #"{"k" : "x-1"}"#), (.string, "JSON", #"{"k" : "x-1"}"#),
                                    (.bigint, "JSON", #"{"k" : 9007199254740993}"#), (.bigint, "KAFKA", #"{"k" : -1}"#)] {
            let encoder = OutputEncoder(sink: Self.sink(key: type, keyFormat: format), registry: nil)
            let (fast, general) = try Self.bothWays(encoder, key: key, value: #"{"n":1,"mean":2.5}"#)
            #expect(fast != nil && fast?.0 == general.0 && fast?.1 == general.1, "\(type) \(format)")
        }
    }

    /// A stream's rows carry their value as text already: only the key is written fast,
    /// whatever the value columns.
    @Test func keysAloneWhateverTheValue() throws {
        let sink = Self.sink(key: .integer, value: [ColumnDefinition(name: "D", type: .decimal(precision: 4, scale: 2))])
        let encoder = OutputEncoder(sink: sink, registry: nil)
        #expect(encoder.flatLayout == nil && encoder.flatKeyLayout != nil)
        for key in [#"{"k" : 42}"#, #"{"k" : -7}"#, #"{"k" : null}"#] {
            let fast = Array(key.utf8).withUnsafeBufferPointer { encoder.encodeFlatKey($0) }
            let general = try encoder.key(try JSON.decode(Array(key.utf8)))
            #expect(fast != nil && fast?.bytes == general, "\(key)")
        }
        for key in [#"{"k" : "42"}"#, #"{"k" : 1.5}"#, #"{"id" : 1}"#, #"{"k" : 1, "j" : 2}"#, "not json"] {
            #expect(Array(key.utf8).withUnsafeBufferPointer { encoder.encodeFlatKey($0) } == nil, "\(key)")
        }
    }

    @Test func otherSinksTakeTheGeneralPath() {
        // A DECIMAL column, an AVRO key, a windowed table, DELIMITED values: no layout.
        #expect(OutputEncoder(sink: Self.sink(key: .integer, value: [ColumnDefinition(name: "D", type: .decimal(precision: 4, scale: 2))]),
                              registry: nil).flatLayout == nil)
        #expect(OutputEncoder(sink: Self.sink(key: .integer, keyFormat: "AVRO"), registry: nil).flatLayout == nil)
        #expect(OutputEncoder(sink: Self.sink(key: .double), registry: nil).flatLayout == nil)
        var delimited = Self.sink(key: .integer)
        delimited.valueFormat = "DELIMITED"
        #expect(OutputEncoder(sink: delimited, registry: nil).flatLayout == nil)
        var windowed = Self.sink(key: .integer)
        windowed.columns.append(ColumnDefinition(name: "WINDOWSTART", type: .bigint, role: .key))
        windowed.keyColumns.append("WINDOWSTART")
        #expect(OutputEncoder(sink: windowed, registry: nil).flatLayout == nil)
        #expect(OutputEncoder(sink: Self.sink(key: .integer), registry: nil).flatLayout != nil)
    }
}
