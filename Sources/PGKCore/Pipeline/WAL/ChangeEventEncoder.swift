/// Turns row changes into Kafka key and value bytes in the chosen format
/// and packing. Avro schemas are generated per table and registered under
/// `<topic>-key` / `<topic>-value` (TopicNameStrategy) on first use.
final class ChangeEventEncoder {
    let format: ChangeEventFormat
    let packing: Packing
    private let registry: SchemaRegistryClient?
    private let database: String
    private let clock: @Sendable () -> Int64
    private var avroCodecs: [UInt32: AvroTableCodec] = [:]
    private var jsonWriter: EventJSONWriter

    struct AvroTableCodec {
        var table: TableSchema
        var names: [String]
        var key: AvroMessageEncoder?
        var value: AvroMessageEncoder
    }

    struct Encoded {
        var key: [UInt8]?
        var value: [UInt8]
    }

    init(format: ChangeEventFormat, packing: Packing, registry: SchemaRegistryClient?, database: String,
                clock: @escaping @Sendable () -> Int64 = { unixMilliseconds() }) throws {
        try packing.checkEventEncoding(registry: registry)
        self.format = format
        self.packing = packing
        self.registry = registry
        self.database = database
        self.clock = clock
        jsonWriter = EventJSONWriter(format: format, database: database)
    }

    func encode(_ change: RowChange) throws -> Encoded {
        var key: [UInt8] = []
        var value: [UInt8] = []
        let hasKey = try encode(change, now: clock(), key: &key, value: &value)
        return Encoded(key: hasKey ? key : nil, value: value)
    }

    /// Replaces the contents of `key` and `value` (reused buffers); returns
    /// false for a null key. `now` is the event's processing time (Unix ms).
    func encode(_ change: RowChange, now: Int64, key: inout [UInt8], value: inout [UInt8]) throws -> Bool {
        key.removeAll(keepingCapacity: true)
        value.removeAll(keepingCapacity: true)
        if packing == .json {
            return jsonWriter.write(change, now: now, value: &value, key: &key)
        }
        let encoded = try encodeValues(change, now: now)
        value.append(contentsOf: encoded.value)
        if let bytes = encoded.key { key.append(contentsOf: bytes) }
        return encoded.key != nil
    }

    /// The `Value`-based path (msgpack, avro, and the reference for JSON).
    func encodeValues(_ change: RowChange, now: Int64) throws -> Encoded {
        switch packing {
        case .avro:
            let codec = try avroCodec(change.table)
            let keyValue = ChangeEventFormat.key(for: change, rendering: .avro, names: codec.names)
            let value = format.value(for: change, database: database, now: now, rendering: .avro, names: codec.names)
            do throws(MessageCodecError) {
                var key: [UInt8]?
                if let keyValue, let keyEncoder = codec.key { key = try keyEncoder.encode(keyValue) }
                return Encoded(key: key, value: try codec.value.encode(value))
            } catch {
                // A registry outage is not the row's fault: report it as is.
                if case .registry(let failure) = error { throw failure }
                throw WALError.encoding(table: change.table.displayName, error.description)
            }
        case .msgpack:
            let key = ChangeEventFormat.key(for: change, rendering: .json, names: nil).map(MsgPack.encode)
            return Encoded(key: key, value: MsgPack.encode(format.value(for: change, database: database, now: now)))
        default:
            let key = ChangeEventFormat.key(for: change, rendering: .json, names: nil).map(JSON.encodeBytes)
            return Encoded(key: key, value: JSON.encodeBytes(format.value(for: change, database: database, now: now)))
        }
    }

    private func avroCodec(_ table: TableSchema) throws -> AvroTableCodec {
        if let cached = avroCodecs[table.relationID], cached.table == table { return cached }
        guard let registry else { throw UsageError("--packing avro needs a schema registry") }
        let names = AvroEventSchema.fieldNames(table)
        let valueSchema = AvroEventSchema.value(table, format: format, names: names)
        var codec = AvroTableCodec(
            table: table, names: names, key: nil,
            value: AvroMessageEncoder(registry: registry, source: .register(subject: table.topic + "-value", schemaJSON: valueSchema)))
        if let keySchema = AvroEventSchema.key(table, names: names) {
            codec.key = AvroMessageEncoder(registry: registry, source: .register(subject: table.topic + "-key", schemaJSON: keySchema))
        }
        avroCodecs[table.relationID] = codec
        return codec
    }
}
