/// Malformed input, with where and why. Decoders throw this and never trap,
/// so bad messages can be dead-lettered instead of crashing a pipeline.
struct CodecError: Error, CustomStringConvertible, Sendable, Equatable {
    /// "json", "msgpack", "avro", "utf-8", "confluent" …
    var format: String
    /// Byte offset into the input where the problem was found, when known.
    var offset: Int?
    var reason: String

    init(_ format: String, _ reason: String, offset: Int? = nil) {
        self.format = format
        self.reason = reason
        self.offset = offset
    }

    var description: String {
        if let offset { return "invalid \(format) at byte \(offset): \(reason)" }
        return "invalid \(format): \(reason)"
    }
}
