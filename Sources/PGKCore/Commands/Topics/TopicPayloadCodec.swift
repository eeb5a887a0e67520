#if canImport(Glibc)
import Glibc
#endif

/// `--packing` / `--key-packing` for `topics tail --json` and
/// `topics produce`, on top of the codec layer's `Packing`.
enum TopicPayloadCodec {
    /// Decoders for tail: a bad message is shown with an error field; a
    /// registry outage stops the command, since every later message would
    /// fail the same way.
    static func decoders(_ invocation: Invocation, value: Packing,
                         key: Packing) throws -> (value: any MessageDecoder, key: any MessageDecoder) {
        let registry = try invocation.registryClient(for: [value, key])
        return (try value.decoder(registry: registry), try key.decoder(registry: registry))
    }

    /// The encoder for produce. Input lines are JSON for json, msgpack and
    /// avro; raw and string lines are sent as they are.
    static func encoder(_ invocation: Invocation, packing: Packing, schema: String?,
                        topic: String) throws -> (any MessageEncoder)? {
        let registry = try invocation.registryClient(for: [packing])
        switch packing {
        case .raw, .string, .json: return nil
        case .msgpack: return try packing.encoder()
        case .avro:
            guard let schema else { throw invocation.usageError("--packing avro needs --schema FILE|ID") }
            if let id = Int32(schema) { return try packing.encoder(registry: registry, schemaID: id) }
            let text = try readFile(schema)
            // Confluent's TopicNameStrategy: the value schema's subject is "<topic>-value".
            return try packing.encoder(registry: registry, subject: topic + "-value", schemaJSON: text)
        }
    }

    static func readFile(_ path: String) throws -> String {
        guard let file = fopen(path, "rb") else {
            throw RuntimeError("cannot read schema file \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
