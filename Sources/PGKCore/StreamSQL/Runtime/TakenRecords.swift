/// The Kafka records one batch took, packed: every key and value in one
/// buffer and the rest in a trivial struct, so taking a record costs no
/// allocation and dropping the batch frees a handful of buffers instead
/// of two arrays per record. A record becomes a KafkaMessage again only
/// where one is needed (dead letters).
///
/// Headers are not kept: nothing a query writes carries them, and asking
/// librdkafka 2.0.2 whether a record has any parses them into a list it
/// allocates and frees per record.
struct TakenRecords {
    private struct Record {
        var topic: Int
        var partition: Int32
        var offset: Int64
        var timestamp: Int64?
        var timestampType: KafkaTimestampType
        var key: Range<Int>?
        /// nil for a tombstone.
        var value: Range<Int>?
    }

    private var records: [Record] = []
    private var bytes: [UInt8] = []
    private var topics: [String] = []

    var count: Int { records.count }
    var byteCount: Int { bytes.count }

    mutating func reserveCapacity(records count: Int, bytes byteCount: Int) {
        records.reserveCapacity(count)
        bytes.reserveCapacity(byteCount)
    }

    /// Appends a record still in librdkafka's memory; returns its index.
    mutating func append(_ view: KafkaMessageView) -> Int {
        let index = records.count
        records.append(Record(topic: topicIndex(view.topic), partition: view.partition, offset: view.offset,
                              timestamp: view.timestamp, timestampType: view.timestampType,
                              key: view.key.map { store($0) }, value: view.value.map { store($0) }))
        return index
    }

    mutating func append(_ message: KafkaMessage) -> Int {
        let index = records.count
        records.append(Record(topic: topicIndex(message.topic), partition: message.partition, offset: message.offset,
                              timestamp: message.timestamp, timestampType: message.timestampType,
                              key: message.key.map { $0.withUnsafeBytes { store($0) } },
                              value: message.value.map { $0.withUnsafeBytes { store($0) } }))
        return index
    }

    /// Forgets the records from `index` on (a record that stopped the query is not taken).
    mutating func removeAll(from index: Int) {
        guard index < records.count else { return }
        let firstByte = records[index...].lazy.compactMap { $0.key?.lowerBound ?? $0.value?.lowerBound }.first
        records.removeSubrange(index...)
        if let firstByte { bytes.removeSubrange(firstByte...) }
    }

    func topicPartition(_ index: Int) -> KafkaTopicPartition {
        KafkaTopicPartition(topic: topics[records[index].topic], partition: records[index].partition)
    }

    func topic(_ index: Int) -> String { topics[records[index].topic] }
    func partition(_ index: Int) -> Int32 { records[index].partition }
    func offset(_ index: Int) -> Int64 { records[index].offset }

    func message(_ index: Int) -> KafkaMessage {
        let record = records[index]
        return KafkaMessage(topic: topics[record.topic], partition: record.partition, offset: record.offset,
                            key: record.key.map { Array(bytes[$0]) }, value: record.value.map { Array(bytes[$0]) },
                            timestamp: record.timestamp, timestampType: record.timestampType)
    }

    private mutating func store(_ buffer: UnsafeRawBufferPointer) -> Range<Int> {
        let start = bytes.count
        bytes.append(contentsOf: buffer)
        return start..<bytes.count
    }

    /// A batch reads a topic or two: a scan beats hashing the name per record.
    private mutating func topicIndex(_ topic: String) -> Int {
        if let index = topics.lastIndex(of: topic) { return index }
        topics.append(topic)
        return topics.count - 1
    }
}
