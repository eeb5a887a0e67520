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

    /// A nil value is a tombstone (the flat format's delete).
    struct Encoded {
        var key: [UInt8]?
        var value: [UInt8]?
    }

    /// Which of the reused buffers `encode` filled.
    struct Written {
        var hasKey: Bool
        var hasValue: Bool
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
        let written = try encode(change, now: clock(), key: &key, value: &value)
        return Encoded(key: written.hasKey ? key : nil, value: written.hasValue ? value : nil)
    }

    /// Replaces the contents of `key` and `value` (reused buffers) and says
    /// which hold a key and a value (null otherwise). `now` is the event's
    /// processing time (Unix ms).
    func encode(_ change: RowChange, now: Int64, key: inout [UInt8], value: inout [UInt8]) throws -> Written {
        key.removeAll(keepingCapacity: true)
        value.removeAll(keepingCapacity: true)
        if packing == .json {
            let hasKey = jsonWriter.write(change, now: now, value: &value, key: &key)
            return Written(hasKey: hasKey, hasValue: format.output(for: change.operation) == .document)
        }
        let encoded = try encodeValues(change, now: now)
        if let bytes = encoded.value { value.append(contentsOf: bytes) }
        if let bytes = encoded.key { key.append(contentsOf: bytes) }
        return Written(hasKey: encoded.key != nil, hasValue: encoded.value != nil)
    }

    /// For the flat format, the encoded old key of an update that changed
    /// the key: it needs a tombstone, or consumers keeping the latest row
    /// per key (ksqlDB tables, compaction) keep the old row too.
    func replacedKey(_ change: RowChange) throws -> [UInt8]? {
        guard format == .flat, change.operation == .update, let before = change.before,
              let old = TupleValues.key(before, table: change.table) else { return nil }
        // An after-image key with unchanged TOAST falls back to the old one.
        guard old != TupleValues.key(change.after, table: change.table) ?? old else { return nil }
        var removal = change
        removal.operation = .delete
        removal.after = nil
        return try encodeValues(removal, now: 0).key
    }

    /// The `Value`-based path (msgpack, avro, and the reference for JSON).
    func encodeValues(_ change: RowChange, now: Int64) throws -> Encoded {
        let hasValue = format.output(for: change.operation) == .document
        switch packing {
        case .avro:
            let codec = try avroCodec(change.table)
            let keyValue = ChangeEventFormat.key(for: change, rendering: .avro, names: codec.names)
            let value = format.value(for: change, database: database, now: now, rendering: .avro, names: codec.names)
            do throws(MessageCodecError) {
                var key: [UInt8]?
                if let keyValue, let keyEncoder = codec.key { key = try keyEncoder.encode(keyValue) }
                return Encoded(key: key, value: hasValue ? try codec.value.encode(value) : nil)
            } catch {
                // A registry outage is not the row's fault: report it as is.
                if case .registry(let failure) = error { throw failure }
                throw WALError.encoding(table: change.table.displayName, error.description)
            }
        case .msgpack:
            let key = ChangeEventFormat.key(for: change, rendering: .json, names: nil).map(MsgPack.encode)
            let value = hasValue ? MsgPack.encode(format.value(for: change, database: database, now: now)) : nil
            return Encoded(key: key, value: value)
        default:
            let key = ChangeEventFormat.key(for: change, rendering: .json, names: nil).map(JSON.encodeBytes)
            let value = hasValue ? JSON.encodeBytes(format.value(for: change, database: database, now: now)) : nil
            return Encoded(key: key, value: value)
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
