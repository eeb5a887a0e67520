/// The line `pgk subscribe` writes for an accepted message, to stdout or a
/// handler (`--output data|envelope|record`), newline included.
enum SubscribeLine {
    /// `message` may be nil except for `record`, the only form that shows it.
    static func render(_ message: KafkaMessage?, _ accepted: EnvelopeFilter.Accepted,
                       as mode: Subscriber.OutputMode) -> [UInt8] {
        var line: [UInt8]
        switch mode {
        case .data:
            line = accepted.data
        case .envelope:
            line = EnvelopeWriter(schema: accepted.schema).encode(data: accepted.data)
        case .record:
            guard let message else { preconditionFailure("record output needs the message") }
            var object = ValueObject()
            object.appendUnchecked("topic", .string(message.topic))
            object.appendUnchecked("partition", .int(Int64(message.partition)))
            object.appendUnchecked("offset", .int(message.offset))
            object.appendUnchecked("timestamp", message.timestamp.map { .int($0) } ?? .null)
            object.appendUnchecked("key", message.key.map { key in key.withUnsafeBytes { Value.textOrBytes($0) } } ?? .null)
            object.appendUnchecked("headers", .array(message.headers.map { header in
                .object(ValueObject([("key", .string(header.key)),
                                     ("value", header.value.map { value in value.withUnsafeBytes { Value.textOrBytes($0) } } ?? .null)]))
            }))
            object.appendUnchecked("schema", .string(accepted.schema))
            // The data goes in as its own compact JSON text, not re-encoded.
            var text = JSON.encodeBytes(.object(object))
            text.removeLast()
            text += Array(",\"data\":".utf8) + accepted.data + [UInt8(ascii: "}")]
            line = text
        }
        line.append(UInt8(ascii: "\n"))
        return line
    }
}
