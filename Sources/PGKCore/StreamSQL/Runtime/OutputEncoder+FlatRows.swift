#if canImport(Glibc)
import Glibc
#endif

/// A sink key OutputEncoder can write straight from PostgreSQL's JSON of
/// the key columns (`json_build_object`): one INT, BIGINT or STRING key
/// column in KAFKA or JSON, not windowed.
struct FlatKeyLayout {
    /// The key column's PostgreSQL name, as the key object spells its member.
    var postgres: [UInt8]
    var type: SQLType
    var json: Bool

    init?(_ encoder: OutputEncoder) {
        let sink = encoder.sink
        guard !encoder.windowed, encoder.keyColumns.count == 1, ["KAFKA", "JSON"].contains(sink.keyFormat),
              [.integer, .bigint, .string].contains(encoder.keyColumns[0].type) else { return nil }
        postgres = Array(encoder.keyColumns[0].postgres.utf8)
        type = encoder.keyColumns[0].type
        json = sink.keyFormat == "JSON"
    }
}

/// What OutputEncoder's fast path needs of a sink whose changelog records
/// can be written straight from PostgreSQL's JSON of a row: a flat key
/// (FlatKeyLayout) and a JSON value of scalar columns (INT, BIGINT,
/// DOUBLE, STRING, BOOLEAN). Decoding each row into a Value tree and
/// encoding that again took a table's writer about a tenth of pgk's CPU
/// (60k changelog records for 1M events).
struct FlatChangelogLayout {
    enum Kind { case integer, double, string, boolean }
    struct Column {
        /// Its PostgreSQL name, as `to_json` spells the member.
        var postgres: [UInt8]
        /// `"NAME":`, as the general path writes it.
        var prefix: [UInt8]
        var kind: Kind
    }
    var values: [Column]

    init?(_ encoder: OutputEncoder) {
        let sink = encoder.sink
        guard sink.valueFormat == "JSON", sink.wrapSingleValue, encoder.flatKeyLayout != nil else { return nil }
        var values: [Column] = []
        for column in encoder.valueColumns {
            let kind: Kind
            switch column.type {
            case .integer, .bigint: kind = .integer
            case .double: kind = .double
            case .string: kind = .string
            case .boolean: kind = .boolean
            default: return nil
            }
            var prefix: [UInt8] = []
            JSONWriter.appendString(column.name, to: &prefix)
            prefix.append(UInt8(ascii: ":"))
            values.append(Column(postgres: Array(column.postgres.utf8), prefix: prefix, kind: kind))
        }
        self.values = values
    }
}

extension OutputEncoder {
    /// A changelog record's key and value from the key's and the row's
    /// JSON as PostgreSQL renders them (`json_build_object`, `to_json`),
    /// byte for byte what `key` and `value` write from their Values; nil
    /// where the fast path cannot say (a string with escapes or beyond
    /// ASCII, NaN, a number a column cannot take), and the general path
    /// encodes the record.
    func encodeFlat(key: UnsafeBufferPointer<UInt8>?, value: UnsafeBufferPointer<UInt8>?) -> (key: [UInt8]?, value: [UInt8]?)? {
        guard let layout = flatLayout else { return nil }
        var encodedKey: [UInt8]?
        if let key {
            guard let flat = encodeFlatKey(key) else { return nil }
            encodedKey = flat.bytes
        }
        // A deleted row: a tombstone.
        guard let value else { return (encodedKey, nil) }
        var fields = [FlatJSONObject.Scalar?](repeating: nil, count: layout.values.count)
        let flat = FlatJSONObject.scan(value, numbers: true) { member, scalar in
            // Other members (the key columns) are not in the value.
            guard let index = layout.values.firstIndex(where: { $0.postgres.elementsEqual(value[member]) }) else { return true }
            guard fields[index] == nil else { return false }
            fields[index] = scalar
            return true
        }
        guard flat else { return nil }
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(value.count + 8 * layout.values.count)
        for (index, column) in layout.values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += column.prefix
            switch (fields[index] ?? .null, column.kind) {
            case (.null, _):
                out += "null".utf8
            case (.integer(let text), .integer):
                out += value[text]
            // As JSON.decode reads it, then as a DOUBLE column's value is written.
            case (.integer(let text), .double), (.number(let text), .double):
                JSONWriter.appendDouble(FlatJSONObject.double(value[text]) ?? .nan, to: &out)
            case (.string(let text), .string):
                out.append(UInt8(ascii: "\""))
                out += value[text]
                out.append(UInt8(ascii: "\""))
            case (.bool(let flag), .boolean):
                out += (flag ? "true" : "false").utf8
            default:
                return nil
            }
        }
        out.append(UInt8(ascii: "}"))
        return (encodedKey, out)
    }

    /// A key as `key` writes it from the key object's Value.
    struct EncodedKey { var bytes: [UInt8]? }

    /// The key, written straight from PostgreSQL's JSON of the key
    /// columns (bytes nil for a NULL key), or nil for the general path.
    func encodeFlatKey(_ key: UnsafeBufferPointer<UInt8>) -> EncodedKey? {
        guard let layout = flatKeyLayout else { return nil }
        var found: FlatJSONObject.Scalar?
        var members = 0
        let flat = FlatJSONObject.scan(key) { member, scalar in
            members += 1
            guard members == 1, layout.postgres.elementsEqual(key[member]) else { return false }
            found = scalar
            return true
        }
        guard flat, let found else { return nil }
        let value: Value
        switch (found, layout.type) {
        case (.null, _):
            return EncodedKey(bytes: nil)
        case (.integer(let text), .integer), (.integer(let text), .bigint):
            guard let number = PgValueMapper.integer(key[text]) else { return nil }
            value = .int(number)
        case (.string(let text), .string):
            value = .string(String(decoding: key[text], as: UTF8.self))
        default:
            return nil
        }
        if layout.json { return EncodedKey(bytes: JSON.encodeBytes(value)) }
        return (try? KafkaPrimitive.encode(value, as: layout.type)).map { EncodedKey(bytes: $0) }
    }
}
