/// Confluent's wire format: magic byte 0, a 4-byte big-endian schema id,
/// then the Avro (or other) payload.
enum ConfluentFrame {
    static let headerSize = 5

    static func parse(_ bytes: [UInt8]) throws(CodecError) -> (schemaID: Int32, payloadOffset: Int) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(CodecError) in try parse(buffer) }
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(CodecError) -> (schemaID: Int32, payloadOffset: Int) {
        guard bytes.count >= headerSize else {
            throw CodecError("confluent", "message of \(bytes.count) bytes is shorter than the 5-byte schema registry header", offset: 0)
        }
        guard bytes[0] == 0 else {
            let got = "0x" + String(bytes[0], radix: 16, uppercase: true)
            var hint = ""
            if bytes[0] == UInt8(ascii: "{") || bytes[0] == UInt8(ascii: "[") { hint = " (looks like JSON, not schema-registry Avro)" }
            throw CodecError("confluent", "expected magic byte 0x00, got \(got)\(hint)", offset: 0)
        }
        let id = UInt32(bytes[1]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 8 | UInt32(bytes[4])
        return (Int32(bitPattern: id), headerSize)
    }

    static func frame(schemaID: Int32, payload: [UInt8]) -> [UInt8] {
        var out = header(schemaID: schemaID)
        out.append(contentsOf: payload)
        return out
    }

    static func header(schemaID: Int32) -> [UInt8] {
        let id = UInt32(bitPattern: schemaID)
        return [0, UInt8(id >> 24), UInt8(truncatingIfNeeded: id >> 16), UInt8(truncatingIfNeeded: id >> 8), UInt8(truncatingIfNeeded: id)]
    }
}
