/// How a column's text value becomes JSON, decided once per column from
/// its type OID (domains resolved to their base type).
indirect enum PgValueKind: Sendable, Equatable {
    /// int2, int4, int8, oid: JSON numbers.
    case integer
    /// float4, float8: numbers, except NaN and ±Infinity as strings.
    case float
    /// numeric: a string, so no precision is lost.
    case numeric
    case boolean
    /// json, jsonb: embedded as JSON.
    case json
    /// bytea: bytes (base64 in JSON).
    case bytea
    /// timestamp without time zone: RFC 3339, read as UTC.
    case timestamp
    case timestamptz
    /// Everything else: the server's text form.
    case text
    /// An array of `element`, separated by `delimiter` in the text form.
    case array(element: PgValueKind, delimiter: UInt8)

    /// The kinds of the built-in types; nil for types the catalog must
    /// resolve (user types, domains, arrays of those).
    static func builtin(oid: UInt32) -> PgValueKind? {
        if let scalar = scalarKinds[oid] { return scalar }
        if let element = arrayElements[oid] {
            return .array(element: scalarKinds[element] ?? .text,
                          delimiter: element == PgTypeOID.box ? UInt8(ascii: ";") : UInt8(ascii: ","))
        }
        return nil
    }

    static let scalarKinds: [UInt32: PgValueKind] = [
        PgTypeOID.bool: .boolean, PgTypeOID.bytea: .bytea, PgTypeOID.int8: .integer, PgTypeOID.int2: .integer,
        PgTypeOID.int4: .integer, PgTypeOID.oid: .integer, PgTypeOID.text: .text, PgTypeOID.json: .json,
        PgTypeOID.float4: .float, PgTypeOID.float8: .float, PgTypeOID.varchar: .text, PgTypeOID.bpchar: .text,
        PgTypeOID.name: .text, PgTypeOID.char: .text, PgTypeOID.date: .text, PgTypeOID.time: .text,
        PgTypeOID.timestamp: .timestamp, PgTypeOID.timestamptz: .timestamptz, PgTypeOID.interval: .text,
        PgTypeOID.timetz: .text, PgTypeOID.numeric: .numeric, PgTypeOID.uuid: .text, PgTypeOID.jsonb: .json,
        PgTypeOID.point: .text, PgTypeOID.box: .text, PgTypeOID.money: .text, PgTypeOID.xml: .text,
        PgTypeOID.inet: .text, PgTypeOID.cidr: .text, PgTypeOID.macaddr: .text,
    ]

    /// Array type OID → element type OID, for the built-in array types.
    static let arrayElements: [UInt32: UInt32] = [
        1000: PgTypeOID.bool, 1001: PgTypeOID.bytea, 1005: PgTypeOID.int2, 1007: PgTypeOID.int4,
        1009: PgTypeOID.text, 1015: PgTypeOID.varchar, 1016: PgTypeOID.int8, 1021: PgTypeOID.float4,
        1022: PgTypeOID.float8, 1028: PgTypeOID.oid, 1014: PgTypeOID.bpchar, 1115: PgTypeOID.timestamp,
        1182: PgTypeOID.date, 1183: PgTypeOID.time, 1185: PgTypeOID.timestamptz, 1187: PgTypeOID.interval,
        1231: PgTypeOID.numeric, 1270: PgTypeOID.timetz, 2951: PgTypeOID.uuid, 199: PgTypeOID.json,
        3807: PgTypeOID.jsonb, 1017: PgTypeOID.point, 1020: PgTypeOID.box, 1003: PgTypeOID.name,
        1002: PgTypeOID.char, 791: PgTypeOID.money, 143: PgTypeOID.xml, 1041: PgTypeOID.inet,
        651: PgTypeOID.cidr, 1040: PgTypeOID.macaddr,
    ]
}

/// OIDs of built-in types (stable across PostgreSQL versions).
enum PgTypeOID {
    static let bool: UInt32 = 16, bytea: UInt32 = 17, char: UInt32 = 18, name: UInt32 = 19
    static let int8: UInt32 = 20, int2: UInt32 = 21, int4: UInt32 = 23, text: UInt32 = 25, oid: UInt32 = 26
    static let json: UInt32 = 114, xml: UInt32 = 142, point: UInt32 = 600, box: UInt32 = 603
    static let float4: UInt32 = 700, float8: UInt32 = 701, money: UInt32 = 790
    static let macaddr: UInt32 = 829, inet: UInt32 = 869, cidr: UInt32 = 650
    static let bpchar: UInt32 = 1042, varchar: UInt32 = 1043, date: UInt32 = 1082, time: UInt32 = 1083
    static let timestamp: UInt32 = 1114, timestamptz: UInt32 = 1184, interval: UInt32 = 1186
    static let timetz: UInt32 = 1266, numeric: UInt32 = 1700, uuid: UInt32 = 2950, jsonb: UInt32 = 3802
}
