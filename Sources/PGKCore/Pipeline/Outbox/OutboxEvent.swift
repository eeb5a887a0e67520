/// One change from `pgk.outbox_events`, as claimed for shipping.
///
/// The JSON value (pg2kafka's fields plus pgk's additions):
///
///     {"uuid": "…", "external_id": "CM01-R" | null,
///      "statement": "INSERT|UPDATE|DELETE|SNAPSHOT|TRUNCATE",
///      "data": {…}, "previous": {…} | null,
///      "schema": "public", "table": "products", "txid": 748,
///      "created_at": "2024-05-01T09:30:00.123456Z"}
///
/// `data` is the full row for INSERT and SNAPSHOT, the changed columns'
/// new values for UPDATE, `{}` for DELETE and TRUNCATE; `previous` is the
/// changed columns' old values for UPDATE and the full old row for DELETE.
struct OutboxEvent: Sendable, Equatable {
    var id: Int64
    var uuid: String
    /// The writing transaction's xid8, as decimal text.
    var txid: String
    /// When the change was made (clock_timestamp()), microseconds since 1970 UTC.
    var createdAtMicros: Int64
    var schema: String
    var table: String
    var statement: String
    /// The id column's value as `row_to_json(row) ->> column`; nil when NULL.
    var externalID: String?
    /// JSON text as PostgreSQL produced it.
    var data: String
    var previous: String?

    /// The columns `TriggerOutboxQueue.eventColumns` selects, in that order.
    init(row: QueryResult.Row, uuids: OutboxEventUUID) {
        id = Int64(row[0] ?? "") ?? 0
        uuid = uuids.uuid(for: id)
        txid = row[1] ?? "0"
        createdAtMicros = Int64(row[2] ?? "") ?? 0
        schema = row[3] ?? ""
        table = row[4] ?? ""
        statement = row[5] ?? ""
        externalID = row[6]
        data = row[7] ?? "{}"
        previous = row[8]
    }

    init(id: Int64, uuid: String, txid: String, createdAtMicros: Int64, schema: String, table: String,
                statement: String, externalID: String?, data: String, previous: String?) {
        self.id = id
        self.uuid = uuid
        self.txid = txid
        self.createdAtMicros = createdAtMicros
        self.schema = schema
        self.table = table
        self.statement = statement
        self.externalID = externalID
        self.data = data
        self.previous = previous
    }

    /// RFC 3339 in UTC with microseconds, computed from the instant, so the
    /// server's TimeZone setting cannot skew it.
    var createdAtText: String {
        let (seconds, micros) = CivilTime.split(createdAtMicros, unitsPerSecond: 1_000_000)
        return CivilTime.formatTimestamp(seconds: seconds, fraction: micros, fractionDigits: 6)
    }

    var createdAtMilliseconds: Int64 {
        let (seconds, micros) = CivilTime.split(createdAtMicros, unitsPerSecond: 1_000_000)
        return seconds * 1000 + micros / 1000
    }

    /// The JSON envelope. PostgreSQL's JSON for `data` and `previous` is
    /// spliced in (whitespace removed) rather than parsed and re-encoded.
    var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.utf8.count + (previous?.utf8.count ?? 0) + 256)
        func raw(_ text: StaticString) {
            text.withUTF8Buffer { out.append(contentsOf: $0) }
        }
        raw("{\"uuid\":")
        JSONWriter.appendString(uuid, to: &out)
        raw(",\"external_id\":")
        if let externalID { JSONWriter.appendString(externalID, to: &out) } else { raw("null") }
        raw(",\"statement\":")
        JSONWriter.appendString(statement, to: &out)
        raw(",\"data\":")
        CompactJSON.append(data, to: &out)
        raw(",\"previous\":")
        if let previous { CompactJSON.append(previous, to: &out) } else { raw("null") }
        raw(",\"schema\":")
        JSONWriter.appendString(schema, to: &out)
        raw(",\"table\":")
        JSONWriter.appendString(table, to: &out)
        raw(",\"txid\":")
        out.append(contentsOf: txid.utf8)
        raw(",\"created_at\":")
        JSONWriter.appendString(createdAtText, to: &out)
        raw("}")
        return out
    }

    /// The envelope as a `Value`, for msgpack; `data` and `previous` are
    /// parsed. With `jsonAsText` they stay JSON text (Avro's fixed schema).
    func value(jsonAsText: Bool) throws(CodecError) -> Value {
        func json(_ text: String) throws(CodecError) -> Value {
            jsonAsText ? .string(String(decoding: CompactJSON.bytes(text), as: UTF8.self)) : try JSON.decode(text)
        }
        var object = ValueObject()
        object.appendUnchecked("uuid", .string(uuid))
        object.appendUnchecked("external_id", externalID.map(Value.string) ?? .null)
        object.appendUnchecked("statement", .string(statement))
        object.appendUnchecked("data", try json(data))
        object.appendUnchecked("previous", try previous.map(json) ?? .null)
        object.appendUnchecked("schema", .string(schema))
        object.appendUnchecked("table", .string(table))
        object.appendUnchecked("txid", Int64(txid).map(Value.int) ?? .decimal(txid))
        object.appendUnchecked("created_at", .string(createdAtText))
        return .object(object)
    }
}

/// Event uuids: a version-8 UUID made of the installation's random 8-byte
/// prefix and the event id, as `pgk.outbox_event_uuid(id)` computes it.
struct OutboxEventUUID: Sendable, Equatable {
    let prefix: [UInt8]

    init(prefix: [UInt8]) {
        precondition(prefix.count == 8)
        self.prefix = prefix
    }

    /// Reads the installation's prefix.
    static func load(on db: PostgresConnection) throws -> OutboxEventUUID {
        let hex = try db.query("SELECT encode(uuid_prefix, 'hex') FROM pgk.outbox_install").scalar ?? ""
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            if let byte = UInt8(hex[index..<next], radix: 16) { bytes.append(byte) }
            index = next
        }
        guard bytes.count == 8 else { throw RuntimeError("pgk.outbox_install holds no valid uuid prefix") }
        return OutboxEventUUID(prefix: bytes)
    }

    func uuid(for id: Int64) -> String {
        var bytes = prefix
        withUnsafeBytes(of: id.bigEndian) { bytes.append(contentsOf: $0) }
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return bytes.withUnsafeBufferPointer { UUIDText.format($0) }
    }
}

/// One row of an application-written outbox table (the Debezium outbox
/// pattern), as claimed for shipping.
struct ApplicationOutboxRow: Sendable, Equatable {
    /// The row's ctid, to delete it by after a partial failure.
    var ctid: String
    /// The ordering column's value, as text.
    var order: String
    var id: String?
    var aggregateType: String?
    var aggregateID: String?
    var type: String?
    var payload: String?

    init(ctid: String, order: String, id: String?, aggregateType: String?, aggregateID: String?,
                type: String?, payload: String?) {
        self.ctid = ctid
        self.order = order
        self.id = id
        self.aggregateType = aggregateType
        self.aggregateID = aggregateID
        self.type = type
        self.payload = payload
    }
}

/// Removes insignificant whitespace from JSON text that is already valid
/// (PostgreSQL's output), leaving strings untouched.
enum CompactJSON {
    static func append(_ text: String, to out: inout [UInt8]) {
        var inString = false
        var escaped = false
        for byte in text.utf8 {
            if inString {
                out.append(byte)
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case 0x20, 0x0A, 0x0D, 0x09: continue
            case UInt8(ascii: "\""): inString = true; out.append(byte)
            default: out.append(byte)
            }
        }
    }

    static func bytes(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        append(text, to: &out)
        return out
    }
}
