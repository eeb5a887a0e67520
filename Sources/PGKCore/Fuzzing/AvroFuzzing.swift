/// The Avro fuzz targets: a datum under one of a few fixed schemas, or a
/// schema text of the input's own followed by a datum.
enum AvroFuzzing {
    /// Schemas covering every type, logical types, recursion, and the
    /// shapes that stress block counts (arrays of nulls, maps).
    static let schemaTexts: [String] = [
        #"{"type":"record","name":"Every","namespace":"fuzz","fields":[{"name":"n","type":"null"},{"name":"b","type":"boolean"},{"name":"i","type":"int"},{"name":"l","type":"long"},{"name":"f","type":"float"},{"name":"d","type":"double"},{"name":"s","type":"string"},{"name":"raw","type":"bytes"},{"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}},{"name":"tags","type":{"type":"array","items":"string"}},{"name":"scores","type":{"type":"map","values":"long"}},{"name":"maybe","type":["null","string","long"]},{"name":"hash","type":{"type":"fixed","name":"Hash","size":4}}]}"#,
        #"{"type":"record","name":"Logical","fields":[{"name":"day","type":{"type":"int","logicalType":"date"}},{"name":"ms","type":{"type":"int","logicalType":"time-millis"}},{"name":"us","type":{"type":"long","logicalType":"time-micros"}},{"name":"tsm","type":{"type":"long","logicalType":"timestamp-millis"}},{"name":"tsu","type":{"type":"long","logicalType":"timestamp-micros"}},{"name":"id","type":{"type":"string","logicalType":"uuid"}},{"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":38,"scale":9}},{"name":"price","type":{"type":"fixed","name":"Price","size":8,"logicalType":"decimal","precision":18,"scale":2}},{"name":"span","type":{"type":"fixed","name":"Span","size":12,"logicalType":"duration"}}]}"#,
        #"{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}"#,
        #"{"type":"array","items":"null"}"#,
        #"{"type":"map","values":{"type":"array","items":["null","boolean","double","string"]}}"#,
        #"["null","string","long","double",{"type":"record","name":"P","fields":[{"name":"x","type":"int"}]}]"#,
        #"{"type":"bytes","logicalType":"decimal","precision":6,"scale":2}"#,
    ]

    static let schemas: [AvroSchema] = schemaTexts.map { text in
        do { return try AvroSchema(json: text) } catch { fatalError("fuzz schema does not parse: \(error)") }
    }

    /// First byte: which fixed schema the rest is a datum of, or (one past
    /// the last schema) a schema text, a NUL, then the datum.
    static func avro(_ bytes: [UInt8]) {
        guard let mode = bytes.first else { return }
        let rest = Array(bytes.dropFirst())
        let choice = Int(mode) % (schemas.count + 1)
        if choice < schemas.count { return decode(rest, with: schemas[choice]) }
        let split = rest.firstIndex(of: 0) ?? rest.count
        guard let schema = try? AvroSchema(json: String(decoding: rest[..<split], as: UTF8.self)) else { return }
        decode(Array(rest[min(split + 1, rest.count)...]), with: schema)
    }

    /// A Confluent-framed message as `AvroMessageDecoder` reads it, with the
    /// registry replaced by the fixed schemas (picked by the schema id).
    static func confluent(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            guard let header = try? ConfluentFrame.parse(buffer) else { return }
            let schema = schemas[Int(UInt32(bitPattern: header.schemaID) % UInt32(schemas.count))]
            _ = try? schema.decode(UnsafeBufferPointer(rebasing: buffer[header.payloadOffset...]))
        }
    }

    /// Decodes, then writes the value back as JSON and Avro. Re-encoding
    /// may refuse what the lenient decoder let through (a decimal wider
    /// than its precision), so only its not trapping is checked.
    private static func decode(_ datum: [UInt8], with schema: AvroSchema) {
        guard let value = try? schema.decode(datum) else { return }
        _ = JSON.encodeBytes(value)
        _ = try? schema.encode(value)
    }
}
