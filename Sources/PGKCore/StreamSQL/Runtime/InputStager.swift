import Foundation

/// The formats `pgk sql` reads and writes, named as in ksqlDB.
enum SourceFormats {
    static let values = ["JSON", "AVRO", "DELIMITED", "KAFKA"]
    static let keys = ["KAFKA", "JSON", "DELIMITED", "AVRO", "NONE"]

    /// `VALUE_DELIMITER` (`KEY_DELIMITER` with `part: "KEY"`): one
    /// character, SPACE or TAB, for a DELIMITED value (key) only.
    static func checkDelimiter(_ delimiter: String, valueFormat format: String, part: String = "VALUE") throws {
        let property = "\(part)_DELIMITER"
        guard format == "DELIMITED" else { throw PlanError("\(property) applies to \(part)_FORMAT='DELIMITED' only") }
        guard ["SPACE", "TAB"].contains(delimiter.uppercased()) || delimiter.unicodeScalars.count == 1 else {
            throw PlanError("\(property) is one character, SPACE or TAB, not '\(delimiter)'")
        }
        guard !delimiter.allSatisfy(\.isWhitespace) else {
            throw PlanError("\(property) cannot be whitespace: write 'SPACE' or 'TAB'")
        }
    }

    /// `WRAP_SINGLE_VALUE`: only false changes anything, and only for one
    /// value column; unset, `ksql.persistence.wrap.single.values` decides.
    static func wrapSingleValue(_ text: String?, valueFormat: String, valueColumns: Int, byDefault: Bool = true) throws -> Bool {
        guard let text else { return byDefault || valueColumns != 1 || !["JSON", "AVRO"].contains(valueFormat) }
        guard ["TRUE", "FALSE"].contains(text.uppercased()) else { throw PlanError("WRAP_SINGLE_VALUE is true or false, not '\(text)'") }
        // DELIMITED and KAFKA values are never wrapped in a record.
        if text.uppercased() == "TRUE" && ["DELIMITED", "KAFKA"].contains(valueFormat) {
            throw PlanError("format '\(valueFormat)' does not support 'WRAP_SINGLE_VALUE' set to 'true'")
        }
        if valueColumns != 1 {
            throw PlanError("'WRAP_SINGLE_VALUE' is only valid for single-field value schemas, and there are \(valueColumns) value columns")
        }
        return text.uppercased() == "TRUE"
    }

    /// What each format can hold, as in ksqlDB: DELIMITED and KAFKA hold
    /// no ARRAY, MAP or STRUCT, KAFKA no DECIMAL or BOOLEAN and one value
    /// column only, and no key holds a MAP (its serialized form is not
    /// stable, so equal keys could differ).
    static func checkTypes(keyFormat: String, valueFormat: String, columns: [(name: String, type: SQLType, isKey: Bool)]) throws {
        let values = columns.filter { !$0.isKey && !["WINDOWSTART", "WINDOWEND"].contains($0.name) }
        if valueFormat == "KAFKA" && values.count > 1 {
            throw PlanError("the 'KAFKA' format only supports a single field, and there are \(values.count): "
                + values.map(\.name).joined(separator: ", "))
        }
        for column in columns {
            let format = column.isKey ? keyFormat : valueFormat
            if column.isKey && containsMap(column.type) {
                throw PlanError("key column \(column.name) is \(column.type): a MAP cannot be (or be inside) a key")
            }
            let complex: String?
            switch column.type {
            case .array: complex = "ARRAY"
            case .map: complex = "MAP"
            case .struct: complex = "STRUCT"
            case .decimal where format == "KAFKA": complex = "DECIMAL"
            case .boolean where format == "KAFKA": complex = "BOOLEAN"
            default: complex = nil
            }
            if let complex, ["DELIMITED", "KAFKA"].contains(format) {
                throw PlanError("the '\(format)' format does not support type '\(complex)' (column \(column.name))")
            }
        }
    }

    static func containsMap(_ type: SQLType) -> Bool {
        switch type {
        case .map: return true
        case .array(let element): return containsMap(element)
        case .struct(let fields): return fields.contains { containsMap($0.1) }
        default: return false
        }
    }

    static func check(key: String, value: String) throws {
        guard values.contains(value) else {
            throw PlanError("unsupported VALUE_FORMAT \(value)" + didYouMean(value, among: values))
        }
        guard keys.contains(key) else {
            throw PlanError("unsupported KEY_FORMAT \(key)" + didYouMean(key, among: keys))
        }
    }
}

/// A record that cannot be staged; it goes to the query's dead-letter table.
struct StageError: Error, CustomStringConvertible {
    var description: String
    /// The record's TIMESTAMP column holds no valid time: skipped, unless
    /// `ksql.timestamp.throw.on.invalid` makes it stop the query.
    var invalidTimestamp = false
    init(_ description: String, invalidTimestamp: Bool = false) {
        self.description = description
        self.invalidTimestamp = invalidTimestamp
    }
}

/// A record that stops its query instead of going to the dead letters
/// (`ksql.timestamp.throw.on.invalid`): the query fails, as ksqlDB's does,
/// and the record stays unconsumed.
struct QueryFailure: Error, CustomStringConvertible {
    var description: String
}

/// Turns one Kafka record into the COPY fields of an input's staging table
/// (its columns, then `_key`, `_deleted`; the runner adds `_ts`, `_seq`,
/// `_part` and `_off`).
final class InputStager {
    let source: CatalogSource
    private let registry: SchemaRegistryClient?
    private var schemas: [Int32: AvroSchema] = [:]
    /// The TIMESTAMP column's position, when the source has one.
    private lazy var timestampIndex: Int? = source.timestampColumn.flatMap { name in source.columns.firstIndex { $0.name == name } }
    private lazy var rowtimeFormat: RowtimeFormat? = source.timestampFormat.flatMap { try? RowtimeFormat(javaPattern: $0) }
    /// The record's ROWTIME as the last `stage` found it in its TIMESTAMP column.
    private(set) var extractedRowtime: Int64?
    /// Off, every JSON value is decoded the general way (tests compare the two).
    var allowsFlatJSON = true
    /// Records staged by the flat path (tests check which path took a record).
    var flatJSONRecords = 0

    init(source: CatalogSource, registry: SchemaRegistryClient?) {
        self.source = source
        self.registry = registry
    }

    /// Where each column's value comes from, worked out once: a record's
    /// staging looks at every column, and comparing names there cost more
    /// than the rendering.
    struct ColumnSource {
        var column: ColumnDefinition
        var lowercasedName: String
        /// Read from the key: a key column, or a window's end.
        var isKey: Bool
        /// Named in the key columns (also a legacy `KEY='col'` value column).
        var inKeyColumns: Bool
        var plainKeyIndex: Int?
        var isWindowStart: Bool
        var isWindowEnd: Bool
    }

    private(set) lazy var columnSources: [ColumnSource] = source.columns.map { column in
        ColumnSource(column: column, lowercasedName: column.name.lowercased(),
                     isKey: column.role == .key || column.role == .primaryKey,
                     inKeyColumns: source.keyColumns.contains(column.name),
                     plainKeyIndex: source.plainKeyColumns.firstIndex(of: column.name),
                     isWindowStart: column.name == "WINDOWSTART", isWindowEnd: column.name == "WINDOWEND")
    }
    private lazy var keyColumnDefinitions = source.plainKeyColumns.compactMap { source.column(named: $0) }
    /// Worked out once: CatalogSource answers these by searching its key columns.
    private(set) lazy var isWindowed = source.isWindowed
    private(set) lazy var keyHoldsFields = isWindowed || !keyColumnDefinitions.isEmpty

    /// Appends the record's COPY fields for the input's staging table: its
    /// columns, then `_key` and `_deleted`. A record without a value is a
    /// deleted row: a table's tombstone, or a stream's null record, which
    /// only a projection without WHERE passes on.
    func stage(key: [UInt8]?, value: [UInt8]?, into row: inout CopyTextEncoder) throws {
        try withOptionalBytes(key) { key in
            try withOptionalBytes(value) { value in try stage(key: key, value: value, into: &row) }
        }
    }

    /// `stage` reading the record where it lies (librdkafka's memory):
    /// a key is copied only where it holds columns or a window, a value
    /// only where the flat JSON path cannot take it.
    func stage(key keyBytes: UnsafeRawBufferPointer?, value valueBytes: UnsafeRawBufferPointer?,
               into row: inout CopyTextEncoder) throws {
        extractedRowtime = nil
        let key = keyHoldsFields ? keyBytes.map { Array($0) } : nil
        let (plainKey, window) = try splitWindow(key)
        let keyValues = try decodeKey(plainKey)
        func keyValue(_ column: ColumnSource) -> Value? {
            if let window {
                if column.isWindowStart { return .int(window.start) }
                if column.isWindowEnd { return .int(window.end) }
            }
            return column.plainKeyIndex.flatMap { keyValues?[$0] }
        }
        guard let valueBytes else {
            guard keyValues != nil || !source.isTable else { throw StageError("a tombstone without a key") }
            for column in columnSources {
                let inKey = column.inKeyColumns || window != nil && column.isWindowEnd
                row.append(field: inKey ? try ValueText.render(keyValue(column) ?? .null, as: column.column.type, column: column.column.name) : nil)
            }
            if let keyBytes { row.append(byteaHex: keyBytes) } else { row.appendNull() }
            row.append(field: "t")
            return
        }
        if try stageFlatJSON(valueBytes, keyValue: keyValue, key: keyBytes, into: &row) { return }
        let object = try decodeValue(Array(valueBytes))
        var valueIndex = 0
        for (columnIndex, column) in columnSources.enumerated() {
            var field: Value?
            if column.isKey || window != nil && column.isWindowEnd {
                field = keyValue(column)
            } else {
                field = object.field(column.column.name, lowercased: column.lowercasedName, position: valueIndex)
                valueIndex += 1
                // A legacy KEY='col' column may live only in the record key.
                if (field == nil || field == .null) && column.inKeyColumns { field = keyValue(column) }
            }
            let text = try ValueText.render(field ?? .null, as: column.column.type, column: column.column.name)
            if text == nil && source.isTable && column.inKeyColumns { throw StageError("the key column \(column.column.name) is null") }
            row.append(field: text)
            if columnIndex == timestampIndex {
                // ksqlDB's TIMESTAMP columns hold epoch milliseconds (a number,
                // or its text), or a string in TIMESTAMP_FORMAT.
                switch field {
                case .string(let text)? where rowtimeFormat != nil: extractedRowtime = rowtimeFormat?.milliseconds(text)
                case .int(let milliseconds)?: extractedRowtime = milliseconds
                case .string(let text)?: extractedRowtime = Int64(text)
                default: extractedRowtime = nil
                }
                guard let rowtime = extractedRowtime else {
                    throw StageError("the TIMESTAMP column \(column.column.name) holds no "
                        + (source.timestampFormat.map { "time in TIMESTAMP_FORMAT '\($0)'" } ?? "epoch milliseconds"),
                                     invalidTimestamp: true)
                }
                // Kafka Streams skips a record whose timestamp is negative.
                guard rowtime >= 0 else {
                    throw StageError("the TIMESTAMP column \(column.column.name) holds a negative time, \(rowtime)", invalidTimestamp: true)
                }
            }
        }
        if let keyBytes { row.append(byteaHex: keyBytes) } else { row.appendNull() }
        row.append(field: "f")
    }

    /// The value columns' upper-cased names, for a source whose JSON
    /// values may take FlatJSONObject's path: scalar columns of distinct
    /// ASCII names, and no TIMESTAMP column, window or legacy key column.
    private(set) lazy var flatJSONNames: [[UInt8]?]? = {
        guard source.valueFormat == "JSON", source.wrapSingleValue, timestampIndex == nil, !isWindowed else { return nil }
        var names: [[UInt8]?] = []
        for column in columnSources {
            guard !column.isKey else { names.append(nil); continue }
            let name = Array(column.column.name.uppercased().utf8)
            guard [.integer, .bigint, .double, .string, .boolean].contains(column.column.type), !column.inKeyColumns,
                  name.allSatisfy({ $0 < 0x80 }), !names.contains(name) else { return nil }
            names.append(name)
        }
        return names
    }()

    /// The flat path's column types, as a trivial enum: comparing SQLType
    /// values per member copied them.
    enum FlatType { case integer, bigint, double, string, boolean, other }
    private(set) lazy var flatTypes: [FlatType] = columnSources.map {
        switch $0.column.type {
        case .integer: return .integer
        case .bigint: return .bigint
        case .double: return .double
        case .string: return .string
        case .boolean: return .boolean
        default: return .other
        }
    }

    /// One flat record's value columns as they are read (absent until
    /// its member is): reused from record to record, so staging one
    /// allocates nothing.
    enum FlatField { case absent, null, range(Range<Int>), text(StaticString), double(Double) }
    var flatFields: [FlatField] = []
    /// Whether a column is DOUBLE: the scan then takes fractions and exponents.
    private(set) lazy var flatNumbersWanted = flatTypes.contains(.double)
    /// The numbers `combineFlatJSON` read, by column (a DOUBLE's bits, GroupAccumulator.bits).
    var flatNumbers: [Int64] = []
    /// The group key `combineFlatJSON` joins from several fields.
    var flatGroupKey: [UInt8] = []
    /// The one key column `combineFlatJSON` reads from a KAFKA key (INT,
    /// BIGINT or STRING), and that column's text for the record at hand.
    private(set) lazy var combinedKeyColumn: (index: Int, type: FlatType)? = {
        guard source.keyFormat == "KAFKA", keyColumnDefinitions.count == 1, columnSources.filter(\.isKey).count == 1,
              let index = columnSources.firstIndex(where: \.isKey), [.integer, .bigint, .string].contains(flatTypes[index]) else { return nil }
        return (index, flatTypes[index])
    }()
    var flatKeyText = CopyTextEncoder()


    /// A windowed source's key without its window, and the window: the
    /// start (8 big-endian bytes) after the key, a session's end before it.
    private func splitWindow(_ bytes: [UInt8]?) throws -> ([UInt8]?, (start: Int64, end: Int64)?) {
        guard isWindowed, let bytes else { return (bytes, nil) }
        let suffix = source.isSessionWindowed ? 16 : 8
        guard bytes.count > suffix else { throw StageError("a windowed key needs more than \(suffix) bytes, not \(bytes.count)") }
        func long(_ offset: Int) -> Int64 { bytes[offset..<offset + 8].reduce(0) { $0 << 8 | Int64($1) } }
        let start = long(bytes.count - 8)
        let end = source.isSessionWindowed ? long(bytes.count - 16) : start + (source.windowSize ?? 0)
        return (Array(bytes.dropLast(suffix)), (start, end))
    }

    /// The key columns' values, in `source.plainKeyColumns` order; nil without a key.
    private func decodeKey(_ bytes: [UInt8]?) throws -> [Value?]? {
        let columns = keyColumnDefinitions
        guard let bytes, !columns.isEmpty else { return nil }
        // One column: the bare value (a one-field object or record is unwrapped);
        // several: an object (record) of them, or DELIMITED fields in order.
        func fields(_ value: Value) -> [Value?] {
            if case .object(let object) = value, columns.count > 1 || object.count == 1 && !isWholeStruct(object, columns[0]) {
                return columns.map { column in
                    object[column.name] ?? object.first { $0.0.uppercased() == column.name.uppercased() }?.1
                        ?? (columns.count == 1 ? object.values.first : nil)
                }
            }
            return columns.count == 1 ? [value] : columns.map { _ in nil }
        }
        switch source.keyFormat {
        case "KAFKA": return [try KafkaPrimitive.decode(bytes, as: columns[0].type)]
        case "JSON": return fields(try JSON.decode(bytes))
        case "AVRO": return fields(try decodeAvro(bytes))
        case "DELIMITED":
            guard let line = String(validating: bytes, as: UTF8.self) else { throw StageError("DELIMITED key is not UTF-8") }
            let parts = CSVLine.split(line, delimiter: source.keySeparator)
            return columns.indices.map { $0 < parts.count ? parts[$0].map(Value.string) ?? .null : nil }
        default: return nil
        }
    }

    /// Whether a one-field object is the value of a lone STRUCT key column
    /// itself, rather than that column wrapped in an object.
    private func isWholeStruct(_ object: ValueObject, _ column: ColumnDefinition) -> Bool {
        switch column.type {
        case .struct(let fields):
            guard let name = object.keys.first else { return true }
            let wrapper = name.uppercased() == column.name.uppercased()
            return !wrapper || fields.contains { $0.0.uppercased() == name.uppercased() }
        default: return false
        }
    }

    /// A Confluent-framed Avro datum, its schema fetched once per id.
    private func decodeAvro(_ bytes: [UInt8]) throws -> Value {
        let (id, offset) = try ConfluentFrame.parse(bytes)
        guard let registry else { throw StageError("the AVRO format needs --registry") }
        let schema: AvroSchema
        if let known = schemas[id] {
            schema = known
        } else {
            do { schema = try registry.schema(id: id) } catch { throw StageError("schema id \(id): \(error)") }
            schemas[id] = schema
        }
        return try schema.decode(Array(bytes[offset...]))
    }

    private func decodeValue(_ bytes: [UInt8]) throws -> DecodedFields {
        switch source.valueFormat {
        case "JSON":
            let value = try JSON.decode(bytes)
            // WRAP_SINGLE_VALUE=false: even an object is the one column's value (a STRUCT).
            if case .object(let object) = value, source.wrapSingleValue { return .object(object) }
            // A single-column source may carry an unwrapped value.
            return .single(value)
        case "AVRO":
            let value = try decodeAvro(bytes)
            if case .object(let object) = value, source.wrapSingleValue { return .object(object) }
            return .single(value)
        case "DELIMITED":
            guard let line = String(validating: bytes, as: UTF8.self) else { throw StageError("DELIMITED value is not UTF-8") }
            return .positional(CSVLine.split(line, delimiter: source.delimiter))
        default:
            guard let column = source.valueColumns.first else { return .positional([]) }
            return .single(try KafkaPrimitive.decode(bytes, as: column.type))
        }
    }
}

private enum DecodedFields {
    case object(ValueObject)
    case positional([String?])
    case single(Value)

    /// ksqlDB matches JSON and Avro field names case-insensitively.
    func field(_ name: String, lowercased: String, position: Int) -> Value? {
        switch self {
        case .object(let object):
            // Exact, then the usual lower-case spelling, before comparing every key.
            if let exact = object[name] ?? object[lowercased] { return exact }
            let upper = name.uppercased()
            return object.first { $0.0.uppercased() == upper }?.1
        case .positional(let fields):
            return position < fields.count ? fields[position].map(Value.string) ?? .null : nil
        case .single(let value):
            return position == 0 ? value : nil
        }
    }
}

/// One DELIMITED (comma-separated, RFC 4180 quoting) line; empty fields are NULL.
enum CSVLine {
    static func split(_ line: String, delimiter: Unicode.Scalar = ",") -> [String?] {
        var fields: [String?] = []
        var current = "", quoted = false, wasQuoted = false
        var iterator = line.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            if quoted {
                if scalar == "\"" {
                    quoted = false
                } else {
                    current.unicodeScalars.append(scalar)
                }
            } else if scalar == "\"" {
                if wasQuoted { current.unicodeScalars.append("\"") }
                quoted = true
                wasQuoted = true
            } else if scalar == delimiter {
                fields.append(current.isEmpty && !wasQuoted ? nil : current)
                current = ""
                wasQuoted = false
            } else if scalar != "\r" && scalar != "\n" {
                current.unicodeScalars.append(scalar)
            }
        }
        fields.append(current.isEmpty && !wasQuoted ? nil : current)
        return fields
    }
}

/// ksqlDB's KAFKA format: big-endian numbers and UTF-8 text.
enum KafkaPrimitive {
    static func decode(_ bytes: [UInt8], as type: SQLType) throws -> Value {
        func integer(_ width: Int) throws -> Int64 {
            guard bytes.count == width else { throw StageError("a KAFKA \(type) key has \(width) bytes, not \(bytes.count)") }
            return bytes.reduce(Int64(0)) { ($0 << 8) | Int64($1) }
        }
        switch type {
        case .integer: return .int(Int64(Int32(truncatingIfNeeded: try integer(4))))
        case .bigint: return .int(try integer(8))
        case .double: return .double(Double(bitPattern: UInt64(bitPattern: try integer(8))))
        case .string:
            guard let text = String(validating: bytes, as: UTF8.self) else { throw StageError("a KAFKA STRING key is not UTF-8") }
            return .string(text)
        default: throw StageError("the KAFKA format cannot hold \(type)")
        }
    }

    static func encode(_ value: Value, as type: SQLType) throws -> [UInt8] {
        func bigEndian(_ number: Int64, _ width: Int) -> [UInt8] {
            (0..<width).reversed().map { UInt8(truncatingIfNeeded: number >> (8 * $0)) }
        }
        switch (type, value) {
        case (.integer, _): return bigEndian(AvroBinaryWriter.integer(value) ?? 0, 4)
        case (.bigint, _): return bigEndian(AvroBinaryWriter.integer(value) ?? 0, 8)
        case (.double, _): return bigEndian(Int64(bitPattern: (AvroBinaryWriter.number(value) ?? 0).bitPattern), 8)
        case (_, .string(let text)): return Array(text.utf8)
        default: return Array(JSON.encode(value).utf8)
        }
    }
}

/// Values as PostgreSQL's COPY text input for a column type; a value that
/// does not fit is a StageError naming the column.
enum ValueText {
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]("\\x".utf8)
        out.reserveCapacity(2 + bytes.count * 2)
        for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func render(_ value: Value, as type: SQLType, column: String) throws -> String? {
        func mismatch() -> StageError { StageError("column \(column): \(AvroBinaryWriter.describe(value)) is not \(type)") }
        if case .null = value { return nil }
        switch type {
        // DELIMITED carries times as numbers too (days, or milliseconds), written as text.
        // (A switch, not an array lookup: this runs for every field of every record.)
        case .date, .time, .timestamp:
            if case .string(let text) = value, let number = Int64(text) { return try render(.int(number), as: type, column: column) }
        default:
            break
        }
        switch type {
        case .integer, .bigint:
            if case .string(let text) = value, let number = Int64(text.trimmingCharacters(in: .whitespaces)) { return String(number) }
            guard let number = AvroBinaryWriter.integer(value) else { throw mismatch() }
            if type == .integer && Int32(exactly: number) == nil { throw StageError("column \(column): \(number) does not fit INTEGER") }
            return String(number)
        case .double, .decimal:
            switch value {
            case .int(let number): return String(number)
            case .double(let number): return number.isNaN ? "NaN" : number.isInfinite ? (number > 0 ? "Infinity" : "-Infinity") : "\(number)"
            case .decimal(let text): return text
            case .string(let text) where Double(text) != nil: return text
            default: throw mismatch()
            }
        case .boolean:
            switch value {
            case .bool(let flag): return flag ? "t" : "f"
            case .string(let text) where ["true", "false"].contains(text.lowercased()): return text.lowercased() == "true" ? "t" : "f"
            default: throw mismatch()
            }
        case .string:
            switch value {
            case .string(let text):
                if text.utf8.contains(0) { throw StageError("column \(column): text with a NUL character") }
                return text
            case .int(let number): return String(number)
            case .double(let number): return "\(number)"
            case .decimal(let text): return text
            case .bool(let flag): return flag ? "true" : "false"
            default: return JSON.encode(value)
            }
        case .bytes:
            switch value {
            case .bytes(let bytes): return hex(bytes)
            case .string(let text): return Base64.decode(text).map(hex) ?? hex(Array(text.utf8))
            default: throw mismatch()
            }
        case .date:
            if case .int(let days) = value { return CivilTime.formatDate(days: days) }
            guard case .string(let text) = value else { throw mismatch() }
            return text
        case .time:
            if case .int(let millis) = value {
                return CivilTime.formatTime(seconds: millis / 1000, fraction: millis % 1000, fractionDigits: 3) ?? "\(millis)"
            }
            guard case .string(let text) = value else { throw mismatch() }
            return text
        case .timestamp:
            if case .int(let millis) = value {
                let (seconds, fraction) = CivilTime.split(millis, unitsPerSecond: 1000)
                return CivilTime.formatTimestamp(seconds: seconds, fraction: fraction, fractionDigits: 3)
            }
            guard case .string(let text) = value else { throw mismatch() }
            return text
        case .array(let element):
            guard case .array(let items) = value else { throw mismatch() }
            // Inner arrays are stored as jsonb (see PostgresType).
            let texts = try items.map { item -> String? in
                if case .array = element { return item.isNull ? nil : JSON.encode(conform(item, to: element)) }
                return try render(item, as: element, column: column)
            }
            return "{" + texts.map { text in
                guard let text else { return "NULL" }
                return PostgresTextArray.literal([text]).dropFirst().dropLast().description
            }.joined(separator: ",") + "}"
        case .map, .struct:
            return JSON.encode(conform(value, to: type))
        }
    }

    /// A struct's fields under their declared names (JSON and Avro field
    /// names match case-insensitively), fields it does not declare dropped,
    /// as ksqlDB reads them; through arrays and map values too.
    static func conform(_ value: Value, to type: SQLType) -> Value {
        switch (type, value) {
        case (.struct(let fields), .object(let object)):
            return .object(ValueObject(fields.map { name, fieldType in
                let upper = name.uppercased()
                let field = object[name] ?? object.first { $0.0.uppercased() == upper }?.1 ?? .null
                return (name, conform(field, to: fieldType))
            }))
        case (.array(let element), .array(let items)):
            return .array(items.map { conform($0, to: element) })
        case (.map(_, let valueType), .object(let object)):
            return .object(ValueObject(object.map { ($0.0, conform($0.1, to: valueType)) }))
        default:
            return value
        }
    }
}
