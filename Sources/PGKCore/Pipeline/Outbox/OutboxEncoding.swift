/// A Kafka message ready to produce.
struct OutboxMessage: Sendable, Equatable {
    var topic: String
    /// nil: no key (the external id or aggregate id was NULL).
    var key: [UInt8]?
    /// nil: a tombstone (an application outbox row with a NULL payload).
    var value: [UInt8]?
    var headers: [KafkaHeader]
    /// Unix milliseconds; nil lets the producer stamp it.
    var timestamp: Int64?
}

/// An item that can never be encoded (retrying cannot help).
struct OutboxEncodingError: Error, CustomStringConvertible, Sendable {
    var item: String
    var reason: String
    var description: String { "cannot encode \(item): \(reason)" }
}

/// The encode stage for trigger-captured events: topic from the namer,
/// key = external id, timestamp = event time, header `uuid` for
/// consumers that deduplicate.
final class OutboxEventEncoder {
    private var namer: OutboxTopicNamer
    private let packing: Packing
    private let registry: SchemaRegistryClient?
    private var avroEncoders: [String: any MessageEncoder] = [:]

    init(packing: Packing, namer: OutboxTopicNamer, registry: SchemaRegistryClient?) throws {
        try packing.checkEventEncoding(registry: registry)
        self.packing = packing
        self.namer = namer
        self.registry = registry
    }

    func message(for event: OutboxEvent) throws -> OutboxMessage {
        let topic = try namer.topic(schema: event.schema, table: event.table)
        return OutboxMessage(topic: topic, key: event.externalID.map { Array($0.utf8) },
                             value: try value(for: event, topic: topic),
                             headers: [KafkaHeader(key: "uuid", string: event.uuid)],
                             timestamp: event.createdAtMilliseconds)
    }

    private func value(for event: OutboxEvent, topic: String) throws -> [UInt8] {
        let what = "event \(event.id) (\(event.statement) on \(event.schema).\(event.table))"
        do {
            switch packing {
            case .msgpack:
                return MsgPack.encode(try event.value(jsonAsText: false))
            case .avro:
                var value = try event.value(jsonAsText: true)
                if case .object(var object) = value {
                    object["created_at"] = .int(event.createdAtMicros)
                    value = .object(object)
                }
                return try avroEncoder(for: topic).encode(value)
            default:
                return event.jsonBytes
            }
        } catch let error as CodecError {
            throw OutboxEncodingError(item: what, reason: error.description)
        } catch MessageCodecError.invalid(let error) {
            throw OutboxEncodingError(item: what, reason: error.description)
        } catch MessageCodecError.registry(let error) {
            throw error
        }
    }

    /// One registered schema per topic, under the subject `<topic>-value`.
    private func avroEncoder(for topic: String) throws -> any MessageEncoder {
        if let known = avroEncoders[topic] { return known }
        let encoder = try Packing.avro.encoder(registry: registry, subject: topic + "-value",
                                               schemaJSON: OutboxEventEncoder.avroSchema)
        avroEncoders[topic] = encoder
        return encoder
    }

    /// Rows differ per table and UPDATEs carry only some columns, so `data`
    /// and `previous` travel as JSON text inside a fixed envelope.
    static let avroSchema = """
        {"type": "record", "name": "OutboxEvent", "namespace": "pgk.outbox", "fields": [
          {"name": "uuid", "type": {"type": "string", "logicalType": "uuid"}},
          {"name": "external_id", "type": ["null", "string"], "default": null},
          {"name": "statement", "type": "string"},
          {"name": "data", "type": "string", "doc": "JSON object"},
          {"name": "previous", "type": ["null", "string"], "default": null, "doc": "JSON object"},
          {"name": "schema", "type": "string"},
          {"name": "table", "type": "string"},
          {"name": "txid", "type": "long"},
          {"name": "created_at", "type": {"type": "long", "logicalType": "timestamp-micros"}}
        ]}
        """
}

/// The encode stage for an application outbox (Debezium's outbox router):
/// topic from `{aggregatetype}`, key = aggregate id, value = the payload as
/// real JSON (or msgpack), headers `id` and `type`.
final class ApplicationOutboxEncoder {
    private let namer: OutboxTopicNamer
    private let packing: Packing
    private let table: OutboxTableRef
    /// The payload column is json/jsonb, so its text is JSON already.
    private let payloadIsJSON: Bool
    private var warnedAboutText = false

    init(packing: Packing, namer: OutboxTopicNamer, table: OutboxTableRef, payloadIsJSON: Bool) throws {
        guard packing == .json || packing == .msgpack else {
            throw UsageError("--packing \(packing.rawValue) is not available with --table; use json or msgpack")
        }
        self.packing = packing
        self.namer = namer
        self.table = table
        self.payloadIsJSON = payloadIsJSON
    }

    func topic(for row: ApplicationOutboxRow) throws -> String {
        guard let aggregateType = row.aggregateType else {
            throw OutboxEncodingError(item: "\(table) row \(row.order)",
                                      reason: "its aggregate type is NULL, so it has no topic")
        }
        return try namer.topic(schema: table.schema, table: table.name, aggregateType: aggregateType)
    }

    func message(for row: ApplicationOutboxRow) throws -> OutboxMessage {
        var headers: [KafkaHeader] = []
        if let id = row.id { headers.append(KafkaHeader(key: "id", string: id)) }
        if let type = row.type { headers.append(KafkaHeader(key: "type", string: type)) }
        return OutboxMessage(topic: try topic(for: row), key: row.aggregateID.map { Array($0.utf8) },
                             value: try row.payload.map { try encode(payload: $0, row: row) },
                             headers: headers, timestamp: nil)
    }

    private func encode(payload: String, row: ApplicationOutboxRow) throws -> [UInt8] {
        if packing == .msgpack { return MsgPack.encode(payloadValue(payload, row: row)) }
        // json/jsonb text is JSON already: pass it through without parsing.
        if payloadIsJSON { return CompactJSON.bytes(payload) }
        let value = payloadValue(payload, row: row)
        if case .string(let text) = value, text == payload { return JSON.encodeBytes(value) }
        return CompactJSON.bytes(payload)
    }

    /// The payload as a JSON value; text that is not JSON becomes a JSON
    /// string, with one warning.
    func payloadValue(_ payload: String, row: ApplicationOutboxRow) -> Value {
        if let value = try? JSON.decode(payload, options: JSON.ReadOptions(preserveNumberText: true)) {
            return value
        }
        if !warnedAboutText {
            warnedAboutText = true
            Log.warning("outbox: \(table) row \(row.order) has a payload that is not JSON; "
                + "such payloads are sent as JSON strings")
        }
        return .string(payload)
    }

    /// The dry-run line for a row: where it would go and what it carries.
    func previewLine(for row: ApplicationOutboxRow) -> [UInt8] {
        var object = ValueObject()
        object.appendUnchecked("topic", ((try? topic(for: row)).map(Value.string)) ?? .null)
        object.appendUnchecked("key", row.aggregateID.map(Value.string) ?? .null)
        object.appendUnchecked("id", row.id.map(Value.string) ?? .null)
        object.appendUnchecked("type", row.type.map(Value.string) ?? .null)
        object.appendUnchecked("payload", row.payload.map { payloadValue($0, row: row) } ?? .null)
        return JSON.encodeBytes(.object(object))
    }
}
