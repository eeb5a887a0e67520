import CRdKafka

struct KafkaBrokerInfo: Sendable, Equatable {
    var id: Int32
    var host: String
    var port: Int32
}

struct KafkaPartitionInfo: Sendable, Equatable {
    var id: Int32
    /// -1 when the partition has no leader.
    var leader: Int32
    var replicas: [Int32]
    var inSyncReplicas: [Int32]
    var error: KafkaError?
}

struct KafkaTopicInfo: Sendable, Equatable {
    var name: String
    var partitions: [KafkaPartitionInfo]
    var error: KafkaError?
}

struct KafkaClusterMetadata: Sendable, Equatable {
    var brokers: [KafkaBrokerInfo]
    var topics: [KafkaTopicInfo]
    /// The broker that answered.
    var originatingBrokerID: Int32
    var originatingBrokerName: String

    func topic(_ name: String) -> KafkaTopicInfo? { topics.first { $0.name == name } }
}

struct KafkaWatermarks: Sendable, Equatable {
    /// The first offset still stored.
    var low: Int64
    /// The offset the next message will get ("end of partition").
    var high: Int64
    var messageCount: Int64 { max(0, high - low) }
}

extension KafkaHandle {
    /// Cluster metadata; for one `topic`, or all topics when nil. A topic
    /// that does not exist comes back with an UNKNOWN_TOPIC_OR_PART error.
    ///
    /// Always asks for all topics and filters: a request naming the topic
    /// makes brokers that allow it (the mock always does) auto-create it,
    /// and `topics describe typo` must not create `typo`.
    func metadata(topic: String?, timeoutMilliseconds: Int) throws -> KafkaClusterMetadata {
        var raw: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(pointer, 1, nil, &raw, Int32(clamping: timeoutMilliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let raw else {
            if err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__TIMED_OUT {
                throw unreachable(err, waitedMilliseconds: timeoutMilliseconds)
            }
            throw KafkaError(err, operation: "fetch metadata", topic: topic)
        }
        defer { rd_kafka_metadata_destroy(raw) }
        state.noteTraffic()
        let md = raw.pointee
        var brokers: [KafkaBrokerInfo] = []
        for index in 0..<Int(md.broker_cnt) {
            let broker = md.brokers[index]
            brokers.append(KafkaBrokerInfo(id: broker.id, host: String(cString: broker.host), port: broker.port))
        }
        var topics: [KafkaTopicInfo] = []
        for index in 0..<Int(md.topic_cnt) {
            let topicMD = md.topics[index]
            let name = String(cString: topicMD.topic)
            if let topic, name != topic { continue }
            var partitions: [KafkaPartitionInfo] = []
            for p in 0..<Int(topicMD.partition_cnt) {
                let part = topicMD.partitions[p]
                partitions.append(KafkaPartitionInfo(
                    id: part.id, leader: part.leader,
                    replicas: (0..<Int(part.replica_cnt)).map { part.replicas[$0] },
                    inSyncReplicas: (0..<Int(part.isr_cnt)).map { part.isrs[$0] },
                    error: part.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(part.err, topic: name, partition: part.id)))
            }
            partitions.sort { $0.id < $1.id }
            topics.append(KafkaTopicInfo(
                name: name, partitions: partitions,
                error: topicMD.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(topicMD.err, topic: name)))
        }
        if let topic, topics.isEmpty {
            topics.append(KafkaTopicInfo(name: topic, partitions: [],
                                         error: KafkaError(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, topic: topic)))
        }
        topics.sort { $0.name < $1.name }
        brokers.sort { $0.id < $1.id }
        return KafkaClusterMetadata(brokers: brokers, topics: topics, originatingBrokerID: md.orig_broker_id,
                                    originatingBrokerName: md.orig_broker_name.map { String(cString: $0) } ?? "")
    }

    /// Asks the partition leader for the low and high watermarks.
    func watermarks(topic: String, partition: Int32, timeoutMilliseconds: Int) throws -> KafkaWatermarks {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(pointer, topic, partition, &low, &high,
                                                   Int32(clamping: timeoutMilliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(err, operation: "query watermarks", topic: topic, partition: partition)
        }
        return KafkaWatermarks(low: low, high: high)
    }

    /// Partitions of `topic`, failing clearly when it does not exist.
    func partitions(of topic: String, timeoutMilliseconds: Int) throws -> [Int32] {
        let md = try metadata(topic: topic, timeoutMilliseconds: timeoutMilliseconds)
        guard let info = md.topic(topic) else {
            throw KafkaError(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, operation: "look up topic", topic: topic)
        }
        if let error = info.error { throw error }
        return info.partitions.map(\.id)
    }
}
