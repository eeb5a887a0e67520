import CRdKafka

extension KafkaConsumer {
    /// Records that `offset` of `topic`/`partition` is fully processed; the
    /// next commit writes `offset + 1`, the position to resume from.
    func storeProcessed(topic: String, partition: Int32, offset: Int64) throws {
        try storeProcessed([KafkaPartitionOffset(topic: topic, partition: partition, offset: offset)])
    }

    /// Batch form of `storeProcessed(topic:partition:offset:)`.
    func storeProcessed(_ processed: [KafkaPartitionOffset]) throws {
        guard !processed.isEmpty else { return }
        let list = makePartitionList(processed.map { KafkaPartitionOffset(topic: $0.topic, partition: $0.partition, offset: $0.offset + 1) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_offsets_store(handle.pointer, list)
        let (_, errors) = readPartitionList(list)
        if let first = errors.first {
            var error = first
            error.operation = "store offset"
            throw error
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, operation: "store offsets") }
    }

    /// Commits the stored offsets. With nothing stored this is a no-op.
    func commit(synchronously: Bool = true) throws {
        let err = rd_kafka_commit(handle.pointer, nil, synchronously ? 0 : 1)
        if err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET { return }
        throw KafkaError(err, operation: "commit offsets", hint: groupID.map { "group \($0)" })
    }

    /// Commits exactly these positions: each entry is the LAST PROCESSED
    /// offset, so `offset + 1` is written.
    func commit(processed: [KafkaPartitionOffset], synchronously: Bool = true) throws {
        guard !processed.isEmpty else { return }
        let list = makePartitionList(processed.map { KafkaPartitionOffset(topic: $0.topic, partition: $0.partition, offset: $0.offset + 1) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_commit(handle.pointer, list, synchronously ? 0 : 1)
        if synchronously, let first = readPartitionList(list).errors.first {
            var error = first
            error.operation = "commit offset"
            throw error
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, operation: "commit offsets") }
    }

    /// The group's committed positions (next offset to read); partitions
    /// without a commit are left out.
    func committed(_ partitions: [KafkaTopicPartition], timeoutMilliseconds: Int = 10_000) throws -> [KafkaTopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let list = makePartitionList(partitions.map { KafkaPartitionOffset(topic: $0.topic, partition: $0.partition, offset: KafkaConstant.offsetInvalid) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_committed(handle.pointer, list, Int32(clamping: timeoutMilliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(err, operation: "fetch committed offsets", hint: groupID.map { "group \($0)" })
        }
        let (entries, errors) = readPartitionList(list)
        if let first = errors.first { throw first }
        var result: [KafkaTopicPartition: Int64] = [:]
        for entry in entries where entry.offset >= 0 { result[entry.topicPartition] = entry.offset }
        return result
    }

    /// Moves an assigned partition's fetch position.
    func seek(_ partition: KafkaTopicPartition, to start: KafkaStartOffset, timeoutMilliseconds: Int = 10_000) throws {
        let offsets = try resolveStartOffsets(handle.pointer, config: handle.config, [partition: start], timeoutMilliseconds: timeoutMilliseconds)
        let list = makePartitionList([KafkaPartitionOffset(topic: partition.topic, partition: partition.partition, offset: offsets[partition]!)])
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let error = rd_kafka_seek_partitions(handle.pointer, list, Int32(clamping: timeoutMilliseconds)) {
            throw KafkaError(consuming: error, operation: "seek", topic: partition.topic)
        }
        if var first = readPartitionList(list).errors.first {
            first.operation = "seek"
            throw first
        }
    }

    func watermarks(topic: String, partition: Int32, timeoutMilliseconds: Int = 10_000) throws -> KafkaWatermarks {
        try handle.watermarks(topic: topic, partition: partition, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// The high watermark librdkafka last saw for the partition, without a
    /// broker round trip; nil when it has none yet.
    func cachedHighWatermark(topic: String, partition: Int32) -> Int64? {
        var low: Int64 = 0, high: Int64 = 0
        let err = rd_kafka_get_watermark_offsets(handle.pointer, topic, partition, &low, &high)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
    }

    func metadata(topic: String?, timeoutMilliseconds: Int = 10_000) throws -> KafkaClusterMetadata {
        try handle.metadata(topic: topic, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Partition ids of an existing topic; throws UNKNOWN_TOPIC_OR_PART otherwise.
    func partitions(of topic: String, timeoutMilliseconds: Int = 10_000) throws -> [Int32] {
        try handle.partitions(of: topic, timeoutMilliseconds: timeoutMilliseconds)
    }
}
