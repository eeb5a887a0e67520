/// Malformed input, with where and why. Decoders throw this and never trap,
/// so bad messages can be dead-lettered instead of crashing a pipeline.
public struct CodecError: Error, CustomStringConvertible, Sendable, Equatable {
    /// "json", "msgpack", "avro", "utf-8", "confluent" …
    public var format: String
    /// Byte offset into the input where the problem was found, when known.
    public var offset: Int?
    public var reason: String

    public init(_ format: String, _ reason: String, offset: Int? = nil) {
        self.format = format
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        if let offset { return "invalid \(format) at byte \(offset): \(reason)" }
        return "invalid \(format): \(reason)"
    }
}
