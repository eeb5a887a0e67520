/// The consumer side's offset bookkeeping, per assigned partition. Pure:
/// the Kafka loop and the file reader drive it, tests drive it directly.
///
/// Three positions per partition:
/// - `stored`: what `pgk.sink_offsets` holds as far as this process knows
///   (nil: no row yet);
/// - `planned`: what it will hold once every batch handed to the writer
///   commits; a new batch claims `expected = planned`;
/// - `position`: the next offset the consumer may accept, so a message
///   from before a seek (or a revoked partition) is never staged twice.
struct PartitionBook {
    struct Slot: Sendable {
        let topicPartition: KafkaTopicPartition
        let topicIndex: Int32
        var assigned = true
        var stored: Int64?
        var planned: Int64?
        /// -1 accepts any offset (nothing known yet).
        var position: Int64
        /// The open batch's last offset for this partition, -1 when none.
        var batchLast: Int64 = -1
        /// Messages at or past the end of the partition, as last reported.
        var atEnd = false
    }

    private(set) var slots: [Slot] = []
    private(set) var topics: [String] = []
    private var slotIndex: [KafkaTopicPartition: Int] = [:]
    private var topicIndex: [String: Int32] = [:]
    private var lastTopic = ""
    private var lastPartition: Int32 = -1
    private var lastSlot = -1

    init() {}

    var hasAssignment: Bool { slots.contains { $0.assigned } }
    var allAtEnd: Bool { hasAssignment && slots.allSatisfy { !$0.assigned || $0.atEnd } }

    func slot(of partition: KafkaTopicPartition) -> Slot? {
        slotIndex[partition].map { slots[$0] }
    }

    /// Takes ownership of a partition whose stored offset is `stored`.
    mutating func assign(_ partition: KafkaTopicPartition, stored: Int64?) {
        if let index = slotIndex[partition] {
            slots[index].assigned = true
            fence(partition, stored: stored)  // the same fresh start
            return
        }
        let topic: Int32
        if let known = topicIndex[partition.topic] {
            topic = known
        } else {
            topic = Int32(topics.count)
            topics.append(partition.topic)
            topicIndex[partition.topic] = topic
        }
        slotIndex[partition] = slots.count
        slots.append(Slot(topicPartition: partition, topicIndex: topic, stored: stored, planned: stored,
                          position: stored ?? -1))
    }

    mutating func revoke(_ partition: KafkaTopicPartition) {
        guard let index = slotIndex[partition] else { return }
        slots[index].assigned = false
        slots[index].batchLast = -1
        if lastSlot == index { lastSlot = -1 }
    }

    /// The slot for a consumed message, or nil when it must be ignored: the
    /// partition is not ours, or the offset is before the accepted position.
    mutating func accept(topic: String, partition: Int32, offset: Int64) -> Int? {
        let index: Int
        if lastSlot >= 0, partition == lastPartition, topic == lastTopic {
            index = lastSlot
        } else {
            guard let found = slotIndex[KafkaTopicPartition(topic: topic, partition: partition)] else { return nil }
            index = found
            lastTopic = topic
            lastPartition = partition
            lastSlot = found
        }
        let slot = slots[index]
        guard slot.assigned, offset >= slot.position else { return nil }
        return index
    }

    func topicIndex(ofSlot index: Int) -> Int32 { slots[index].topicIndex }

    /// Notes that `offset` went into the open batch.
    mutating func record(slot index: Int, offset: Int64) {
        slots[index].batchLast = offset
        slots[index].position = offset + 1
        slots[index].atEnd = false
    }

    mutating func reachedEnd(_ partition: KafkaTopicPartition, nextOffset: Int64) {
        guard let index = slotIndex[partition], slots[index].assigned else { return }
        if slots[index].position < 0 || nextOffset >= slots[index].position { slots[index].atEnd = true }
    }

    /// Closes the open batch: one claim per partition it touched.
    mutating func seal() -> [OffsetClaim] {
        var claims: [OffsetClaim] = []
        for index in slots.indices where slots[index].batchLast >= 0 {
            let next = slots[index].batchLast + 1
            if slots[index].assigned {
                claims.append(OffsetClaim(topicPartition: slots[index].topicPartition,
                                          expected: slots[index].planned, next: next))
                slots[index].planned = next
            }
            slots[index].batchLast = -1
        }
        return claims
    }

    /// The writer committed `next` for this partition.
    mutating func confirm(_ partition: KafkaTopicPartition, next: Int64) {
        guard let index = slotIndex[partition] else { return }
        // Outcomes of parallel writers may arrive out of order.
        slots[index].stored = max(slots[index].stored ?? next, next)
    }

    /// The claim failed: another consumer moved the stored offset to
    /// `stored`. Everything planned after it is void; read again from there.
    mutating func fence(_ partition: KafkaTopicPartition, stored: Int64?) {
        guard let index = slotIndex[partition] else { return }
        slots[index].stored = stored
        slots[index].planned = stored
        slots[index].position = stored ?? -1
        slots[index].batchLast = -1
        slots[index].atEnd = false
    }
}
