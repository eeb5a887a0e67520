import CRdKafka

/// A Kafka failure, named the way librdkafka names it (`rd_kafka_err2name`)
/// plus what pgk was doing and, where known, topic/partition/offset.
struct KafkaError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The `rd_kafka_resp_err_t` value; negative codes are client-side
    /// ("local") errors, positive ones come from the broker.
    var code: Int32
    /// librdkafka's symbolic name, e.g. `_TRANSPORT` or `UNKNOWN_TOPIC_OR_PART`.
    var name: String
    /// librdkafka's (or our) human-readable explanation.
    var message: String
    /// What pgk was doing, e.g. "produce" or "create topic orders".
    var operation: String?
    var topic: String?
    var partition: Int32?
    var offset: Int64?
    /// What the user can do about it.
    var hint: String?

    init(code: Int32, message: String? = nil, operation: String? = nil,
                topic: String? = nil, partition: Int32? = nil, offset: Int64? = nil,
                hint: String? = nil) {
        let err = rd_kafka_resp_err_t(rawValue: code)
        self.code = code
        self.name = String(cString: rd_kafka_err2name(err))
        self.message = message ?? String(cString: rd_kafka_err2str(err))
        self.operation = operation
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.hint = hint
    }

    init(_ err: rd_kafka_resp_err_t, message: String? = nil, operation: String? = nil,
                topic: String? = nil, partition: Int32? = nil, offset: Int64? = nil,
                hint: String? = nil) {
        self.init(code: err.rawValue, message: message, operation: operation, topic: topic,
                  partition: partition, offset: offset, hint: hint)
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    init(consuming error: OpaquePointer, operation: String? = nil, topic: String? = nil) {
        let code = rd_kafka_error_code(error).rawValue
        let text = rd_kafka_error_string(error).map { String(cString: $0) }
        rd_kafka_error_destroy(error)
        self.init(code: code, message: text, operation: operation, topic: topic)
    }

    /// Reads an `rd_kafka_error_t` that something else owns.
    init(borrowing error: OpaquePointer, operation: String? = nil, topic: String? = nil) {
        self.init(code: rd_kafka_error_code(error).rawValue,
                  message: rd_kafka_error_string(error).map { String(cString: $0) },
                  operation: operation, topic: topic)
    }

    var err: rd_kafka_resp_err_t { rd_kafka_resp_err_t(rawValue: code) }

    var description: String {
        var text = ""
        if let operation { text += operation + ": " }
        text += message + " [" + name + "]"
        var place: [String] = []
        if let topic { place.append("topic " + topic) }
        if let partition, partition >= 0 { place.append("partition \(partition)") }
        if let offset, offset >= 0 { place.append("offset \(offset)") }
        if !place.isEmpty { text += " (" + place.joined(separator: ", ") + ")" }
        if let hint { text += "; " + hint }
        return text
    }
}

/// The librdkafka macros Swift cannot import (they contain casts).
enum KafkaConstant {
    static let partitionUnassigned: Int32 = -1
    static let offsetBeginning: Int64 = -2
    static let offsetEnd: Int64 = -1
    static let offsetStored: Int64 = -1000
    static let offsetInvalid: Int64 = -1001
    static let messageFlagCopy: Int32 = 0x2
    static let destroyNoConsumerClose: Int32 = 0x8
}
