/// Remembers, in a Kafka topic, that a destination received a complete
/// snapshot for a slot, as Debezium keeps its offsets in Kafka: the
/// question "has this destination got the initial rows?" is about the
/// destination. One record per `<topic prefix>/<slot>` key, last one wins.
///
/// No record means the snapshot never completed (or never ran), so
/// `--snapshot initial` recreates the slot and snapshots again; an
/// interrupted snapshot thus restarts cleanly.
struct SnapshotStateStore {
    struct Record: Equatable {
        var slot: String
        var database: String
        var consistentPoint: LSN
        var completedAtMilliseconds: Int64
    }

    let topic: String
    let config: KafkaConfig

    static let defaultTopic = "__pgk_cdc_state"

    static func key(topicPrefix: String, slot: String) -> String { topicPrefix + "/" + slot }

    static func encode(_ record: Record) -> [UInt8] {
        JSON.encodeBytes([
            "slot": .string(record.slot), "database": .string(record.database),
            "consistent_lsn": .string(record.consistentPoint.description), "snapshot": "complete",
            "ts_ms": .int(record.completedAtMilliseconds),
        ])
    }

    static func decode(_ bytes: [UInt8]) -> Record? {
        guard let value = try? JSON.decode(bytes), value["snapshot"]?.stringValue == "complete",
              let slot = value["slot"]?.stringValue, let database = value["database"]?.stringValue,
              let point = value["consistent_lsn"]?.stringValue.flatMap(LSN.init) else { return nil }
        return Record(slot: slot, database: database, consistentPoint: point,
                      completedAtMilliseconds: value["ts_ms"]?.int64Value ?? 0)
    }

    /// The latest record for `key`; nil when there is none (or a tombstone).
    func load(key: String) throws -> Record? {
        let admin = try KafkaAdmin(config: config)
        guard let info = try admin.metadata(topic: topic).topic(topic), info.error == nil else { return nil }
        var ends: [KafkaTopicPartition: Int64] = [:]
        for partition in info.partitions {
            let marks = try admin.watermarks(topic: topic, partition: partition.id)
            if marks.high > marks.low { ends[KafkaTopicPartition(topic: topic, partition: partition.id)] = marks.high }
        }
        guard !ends.isEmpty else { return nil }
        let consumer = try KafkaConsumer(config: config, groupID: nil)
        defer { consumer.close(timeoutMilliseconds: 1000) }
        try consumer.assign(Dictionary(uniqueKeysWithValues: ends.keys.map { ($0, KafkaStartOffset.beginning) }))
        var latest: (offset: Int64, partition: Int32, record: Record?)?
        var remaining = ends
        let deadline = SystemClock.shared.nowMilliseconds + Int64(config.connectTimeoutMilliseconds)
        while !remaining.isEmpty {
            guard SystemClock.shared.nowMilliseconds < deadline else {
                throw RuntimeError("could not read the snapshot state topic \(topic) within \(config.connectTimeoutMilliseconds) ms")
            }
            guard case .message(let message)? = try consumer.poll(timeoutMilliseconds: 100) else { continue }
            let partition = KafkaTopicPartition(topic: message.topic, partition: message.partition)
            if let end = remaining[partition], message.offset + 1 >= end { remaining[partition] = nil }
            guard message.key.map({ String(decoding: $0, as: UTF8.self) }) == key else { continue }
            // Keys hash to one partition, so offsets order its records.
            latest = (message.offset, message.partition, message.value.flatMap(SnapshotStateStore.decode))
        }
        return latest?.record
    }
}
