#if canImport(Glibc)
import Glibc
#endif

/// What OutputEncoder's fast path needs of a sink whose changelog records
/// can be written straight from PostgreSQL's JSON of a row: a JSON value
/// of scalar columns (INT, BIGINT, DOUBLE, STRING, BOOLEAN) and one INT,
/// BIGINT or STRING key column in KAFKA or JSON. Decoding each row into a
/// Value tree and encoding that again took a table's writer about a
/// tenth of its CPU (60k changelog records for 1M events).
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
    var key: (postgres: [UInt8], type: SQLType, json: Bool)

    init?(_ encoder: OutputEncoder) {
        let sink = encoder.sink
        guard sink.valueFormat == "JSON", sink.wrapSingleValue, !encoder.windowed, encoder.keyColumns.count == 1,
              ["KAFKA", "JSON"].contains(sink.keyFormat) else { return nil }
        let keyColumn = encoder.keyColumns[0]
        guard [.integer, .bigint, .string].contains(keyColumn.type) else { return nil }
        key = (Array(keyColumn.postgres.utf8), keyColumn.type, sink.keyFormat == "JSON")
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
            guard let keyValue = Self.flatKey(key, layout) else { return nil }
            if case .null = keyValue {
                encodedKey = nil
            } else if layout.key.json {
                encodedKey = JSON.encodeBytes(keyValue)
            } else {
                guard let bytes = try? KafkaPrimitive.encode(keyValue, as: layout.key.type) else { return nil }
                encodedKey = bytes
            }
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
                JSONWriter.appendDouble(Self.double(value[text]), to: &out)
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

    /// The key column's value in the key object, or nil for the general path.
    private static func flatKey(_ key: UnsafeBufferPointer<UInt8>, _ layout: FlatChangelogLayout) -> Value? {
        var found: FlatJSONObject.Scalar?
        var members = 0
        let flat = FlatJSONObject.scan(key) { member, scalar in
            members += 1
            guard members == 1, layout.key.postgres.elementsEqual(key[member]) else { return false }
            found = scalar
            return true
        }
        guard flat, let found else { return nil }
        switch (found, layout.key.type) {
        case (.null, _):
            return .null
        case (.integer(let text), .integer), (.integer(let text), .bigint):
            return PgValueMapper.integer(key[text]).map(Value.int)
        case (.string(let text), .string):
            return .string(String(decoding: key[text], as: UTF8.self))
        default:
            return nil
        }
    }

    /// A JSON number's value as JSON.decode gives it (strtod, which rounds as Double(Int64) does).
    private static func double(_ text: Slice<UnsafeBufferPointer<UInt8>>) -> Double {
        var terminated = [CChar](repeating: 0, count: text.count + 1)
        for (offset, byte) in text.enumerated() { terminated[offset] = CChar(bitPattern: byte) }
        return strtod(terminated, nil)
    }
}
