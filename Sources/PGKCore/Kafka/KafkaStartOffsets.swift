import CRdKafka

/// Turns start positions into librdkafka offsets, looking timestamps up
/// with `rd_kafka_offsets_for_times` (a timestamp past the end means "end").
func resolveStartOffsets(_ rk: OpaquePointer, config: KafkaConfig, _ starts: [KafkaTopicPartition: KafkaStartOffset],
                         timeoutMilliseconds: Int) throws -> [KafkaTopicPartition: Int64] {
    var result: [KafkaTopicPartition: Int64] = [:]
    var byTime: [KafkaPartitionOffset] = []
    for (tp, start) in starts {
        if let offset = start.librdkafkaOffset {
            result[tp] = offset
        } else if case .timestamp(let ms) = start {
            byTime.append(KafkaPartitionOffset(topic: tp.topic, partition: tp.partition, offset: ms))
        }
    }
    guard !byTime.isEmpty else { return result }
    let list = makePartitionList(byTime)
    defer { rd_kafka_topic_partition_list_destroy(list) }
    let err = rd_kafka_offsets_for_times(rk, list, Int32(clamping: timeoutMilliseconds))
    guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, operation: "look up offsets for timestamps") }
    let (entries, errors) = readPartitionList(list)
    if let first = errors.first { throw first }
    var mock: Bool?
    for (entry, asked) in zip(entries, byTime) {
        guard entry.offset < 0 else {
            result[entry.topicPartition] = entry.offset
            continue
        }
        if mock == nil { mock = isMockCluster(rk, timeoutMilliseconds: timeoutMilliseconds) }
        result[entry.topicPartition] = mock == true
            ? try scanForTimestamp(config: config, asked.topicPartition, timestamp: asked.offset, timeoutMilliseconds: timeoutMilliseconds)
            : KafkaConstant.offsetEnd
    }
    return result
}

/// Looks up the offsets that BEGINNING and END stand for, in one
/// ListOffsets request per leader. Assigned a logical offset before it
/// knows the partition's leader, librdkafka 2.0.2 retries its own lookup
/// only after 500 ms: a query assigned right after its consumer was
/// created read nothing for its first half second. A partition whose
/// lookup fails keeps its logical offset, for librdkafka to resolve.
func resolveLogicalOffsets(_ rk: OpaquePointer, _ offsets: [KafkaTopicPartition: Int64],
                           timeoutMilliseconds: Int) -> [KafkaTopicPartition: Int64] {
    let logical = offsets.filter { $0.value == KafkaConstant.offsetBeginning || $0.value == KafkaConstant.offsetEnd }
        .map { KafkaPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value) }
    guard !logical.isEmpty else { return offsets }
    let list = makePartitionList(logical)
    defer { rd_kafka_topic_partition_list_destroy(list) }
    // ListOffsets takes -2 and -1 as the timestamps of the earliest and the latest offset.
    guard rd_kafka_offsets_for_times(rk, list, Int32(clamping: timeoutMilliseconds)) == RD_KAFKA_RESP_ERR_NO_ERROR else { return offsets }
    var result = offsets
    for index in 0..<Int(list.pointee.cnt) {
        let element = list.pointee.elems[index]
        guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR, element.offset >= 0 else { continue }
        result[KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)] = element.offset
    }
    return result
}

/// librdkafka's mock cluster names itself "mockCluster…".
func isMockCluster(_ rk: OpaquePointer, timeoutMilliseconds: Int) -> Bool {
    guard let raw = rd_kafka_clusterid(rk, Int32(clamping: timeoutMilliseconds)) else { return false }
    defer { rd_kafka_mem_free(rk, raw) }
    return String(cString: raw).hasPrefix("mockCluster")
}

/// The mock cluster answers every timestamp lookup with -1 (its
/// ListOffsets handler leaves timestamps unimplemented), so there pgk finds
/// the offset by reading the partition, which the mock caps at ~5 MiB.
func scanForTimestamp(config: KafkaConfig, _ tp: KafkaTopicPartition, timestamp: Int64,
                      timeoutMilliseconds: Int) throws -> Int64 {
    let consumer = try KafkaConsumer(config: config, groupID: nil, partitionEOF: true, verifyConnection: false)
    defer { consumer.close(timeoutMilliseconds: 1_000) }
    try consumer.assign([tp: .beginning])
    let clock = SystemClock.shared
    let deadline = clock.nowMilliseconds + Int64(timeoutMilliseconds)
    var found: Int64?
    var reachedEnd = false
    while found == nil, !reachedEnd {
        if clock.nowMilliseconds >= deadline {
            throw KafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT, message: "scanning for timestamp \(timestamp) took over \(timeoutMilliseconds) ms",
                             operation: "look up offset for timestamp", topic: tp.topic, partition: tp.partition)
        }
        try consumer.pollBatch(maxMessages: 1_000, timeoutMilliseconds: 100) { record in
            guard found == nil else { return }
            switch record {
            case .message(let view):
                if let ts = view.timestamp, ts >= timestamp { found = view.offset }
            case .partitionEnd:
                reachedEnd = true
            }
        }
    }
    return found ?? KafkaConstant.offsetEnd
}
