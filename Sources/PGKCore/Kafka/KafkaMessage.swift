import CRdKafka
#if canImport(Glibc)
import Glibc
#endif

struct KafkaTopicPartition: Hashable, Sendable, CustomStringConvertible {
    var topic: String
    var partition: Int32
    init(topic: String, partition: Int32) { self.topic = topic; self.partition = partition }
    var description: String { "\(topic)[\(partition)]" }
}

/// A partition with an offset: a start position, a committed position
/// (next offset to read) or a watermark, depending on context.
struct KafkaPartitionOffset: Hashable, Sendable {
    var topic: String
    var partition: Int32
    var offset: Int64
    init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic; self.partition = partition; self.offset = offset
    }
    var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
}

/// Where to start reading a partition.
enum KafkaStartOffset: Hashable, Sendable {
    case beginning
    case end
    /// The group's committed offset (falls back to auto.offset.reset).
    case stored
    /// An absolute offset.
    case offset(Int64)
    /// `count` messages before the end (kcat's `-o -N`).
    case tail(Int64)
    /// The first message with a timestamp >= this (Unix ms).
    case timestamp(Int64)

    /// The librdkafka offset value, or nil for timestamps, which need a
    /// `rd_kafka_offsets_for_times` lookup first.
    var librdkafkaOffset: Int64? {
        switch self {
        case .beginning: return KafkaConstant.offsetBeginning
        case .end: return KafkaConstant.offsetEnd
        case .stored: return KafkaConstant.offsetStored
        case .offset(let value): return value
        case .tail(let count): return -2000 - count
        case .timestamp: return nil
        }
    }
}

struct KafkaHeader: Hashable, Sendable {
    var key: String
    /// nil is a header with a null value, distinct from an empty one.
    var value: [UInt8]?
    init(key: String, value: [UInt8]?) { self.key = key; self.value = value }
    init(key: String, string: String) { self.key = key; self.value = Array(string.utf8) }
}

enum KafkaTimestampType: Sendable {
    case notAvailable, createTime, logAppendTime
}

/// A consumed message copied out of librdkafka's memory.
struct KafkaMessage: Sendable, Equatable {
    var topic: String
    var partition: Int32
    var offset: Int64
    var key: [UInt8]?
    /// nil is a tombstone.
    var value: [UInt8]?
    var headers: [KafkaHeader]
    /// Unix milliseconds, nil when the message carries none.
    var timestamp: Int64?
    var timestampType: KafkaTimestampType

    var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }

    init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?,
                headers: [KafkaHeader] = [], timestamp: Int64? = nil,
                timestampType: KafkaTimestampType = .createTime) {
        self.topic = topic; self.partition = partition; self.offset = offset
        self.key = key; self.value = value; self.headers = headers
        self.timestamp = timestamp; self.timestampType = timestampType
    }
}

/// A message still in librdkafka's memory. Valid only inside the closure
/// that receives it: the batch is destroyed afterwards. Reading through a
/// view avoids per-message allocations on the hot path.
struct KafkaMessageView {
    let raw: UnsafeMutablePointer<rd_kafka_message_t>
    let topic: String

    var partition: Int32 { raw.pointee.partition }
    var offset: Int64 { raw.pointee.offset }

    var key: UnsafeRawBufferPointer? {
        guard let key = raw.pointee.key else { return nil }
        return UnsafeRawBufferPointer(start: key, count: raw.pointee.key_len)
    }

    /// nil for a tombstone.
    var value: UnsafeRawBufferPointer? {
        guard let payload = raw.pointee.payload else { return nil }
        return UnsafeRawBufferPointer(start: payload, count: raw.pointee.len)
    }

    var timestamp: Int64? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let value = rd_kafka_message_timestamp(raw, &type)
        return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : value
    }

    var timestampType: KafkaTimestampType {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        _ = rd_kafka_message_timestamp(raw, &type)
        switch type {
        case RD_KAFKA_TIMESTAMP_CREATE_TIME: return .createTime
        case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME: return .logAppendTime
        default: return .notAvailable
        }
    }

    var hasHeaders: Bool {
        var headers: OpaquePointer?
        return rd_kafka_message_headers(raw, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR
            && headers.map { rd_kafka_header_cnt($0) > 0 } == true
    }

    /// Visits headers in order without copying them.
    func forEachHeader(_ body: (_ name: UnsafePointer<CChar>, _ value: UnsafeRawBufferPointer?) throws -> Void) rethrows {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(raw, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return }
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            if let name {
                try body(name, value.map { UnsafeRawBufferPointer(start: $0, count: size) })
            }
            index += 1
        }
    }

    var headers: [KafkaHeader] {
        var result: [KafkaHeader] = []
        forEachHeader { name, value in
            result.append(KafkaHeader(key: String(cString: name), value: value.map { Array($0) }))
        }
        return result
    }

    /// Copies the message out of librdkafka's memory; its headers only
    /// when asked (librdkafka parses them into a fresh list on request).
    func copy(withHeaders: Bool = true) -> KafkaMessage {
        KafkaMessage(topic: topic, partition: partition, offset: offset,
                     key: key.map { Array($0) }, value: value.map { Array($0) },
                     headers: withHeaders ? headers : [], timestamp: timestamp, timestampType: timestampType)
    }
}

/// Turns `rd_kafka_topic_t` pointers into Swift strings once per topic,
/// so consuming does not allocate a topic name per message.
struct TopicNameCache {
    private typealias Entry = (cString: [CChar], name: String)
    private var names: [OpaquePointer: Entry] = [:]
    /// The last topic looked up: messages come a partition at a time, so
    /// most need no hashing.
    private var last: (rkt: OpaquePointer, entry: Entry)?

    mutating func name(of rkt: OpaquePointer?) -> String {
        guard let rkt else { return "" }
        let current = rd_kafka_topic_name(rkt)!
        if let last, last.rkt == rkt, strcmp(last.entry.cString, current) == 0 { return last.entry.name }
        if let cached = names[rkt], strcmp(cached.cString, current) == 0 {
            last = (rkt, cached)
            return cached.name
        }
        let name = String(cString: current)
        names[rkt] = (Array(name.utf8CString), name)
        last = (rkt, names[rkt]!)
        return name
    }
}

/// Builds an `rd_kafka_topic_partition_list_t` that the caller must destroy.
func makePartitionList(_ entries: [KafkaPartitionOffset]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
    let list = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))!
    for entry in entries {
        let element = rd_kafka_topic_partition_list_add(list, entry.topic, entry.partition)!
        element.pointee.offset = entry.offset
    }
    return list
}

/// Copies a partition list's entries; per-partition errors become `errors`.
func readPartitionList(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>?)
    -> (entries: [KafkaPartitionOffset], errors: [KafkaError]) {
    guard let list else { return ([], []) }
    var entries: [KafkaPartitionOffset] = []
    var errors: [KafkaError] = []
    for index in 0..<Int(list.pointee.cnt) {
        let element = list.pointee.elems[index]
        let topic = String(cString: element.topic)
        entries.append(KafkaPartitionOffset(topic: topic, partition: element.partition, offset: element.offset))
        if element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            errors.append(KafkaError(element.err, topic: topic, partition: element.partition))
        }
    }
    return (entries, errors)
}
