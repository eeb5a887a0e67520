/// Which consumed offsets `pgk subscribe` may commit when handlers finish
/// out of order (several lanes, retries, dead letters).
///
/// Offsets are tracked per partition in the order they were consumed. The
/// committable position of a partition is the end of its contiguous prefix
/// of finished offsets: an offset that is still running, failed for good,
/// or was abandoned (dropped at a rebalance or a stop) holds back every
/// offset after it, so a crash redelivers it and nothing past it is
/// skipped. Kafka then never hands out a committed offset again.
///
/// Pure and single-threaded (the consumer thread owns it); tested by hand.
struct OffsetLedger {
    enum State: Equatable { case running, finished, abandoned }

    private struct Partition {
        var offsets: [Int64] = []
        var states: [State] = []
        var head = 0
        /// The last offset of the finished prefix not yet taken for a commit.
        var uncommitted: Int64?
        var running = 0
    }

    private var partitions: [KafkaTopicPartition: Partition] = [:]

    /// Messages handed out and not finished or abandoned, in every partition.
    private(set) var running = 0

    /// Records a consumed offset; offsets of a partition must arrive in order.
    mutating func track(_ partition: KafkaTopicPartition, _ offset: Int64) {
        partitions[partition, default: Partition()].offsets.append(offset)
        partitions[partition]!.states.append(.running)
        partitions[partition]!.running += 1
        running += 1
    }

    /// Records an offset consumed and finished at once (written to stdout,
    /// dead-lettered on the consumer thread): cheap when nothing of its
    /// partition is running, which is the whole stdout path.
    mutating func trackFinished(_ partition: KafkaTopicPartition, _ offset: Int64) {
        if let ledger = partitions[partition], ledger.head < ledger.offsets.count {
            track(partition, offset)
            finish(partition, offset)
        } else {
            partitions[partition, default: Partition()].uncommitted = offset
        }
    }

    /// Marks an offset finished (handled, written, or dead-lettered and
    /// acknowledged). Unknown offsets (a forgotten partition) are ignored.
    mutating func finish(_ partition: KafkaTopicPartition, _ offset: Int64) {
        settle(partition, offset, as: .finished)
    }

    /// Marks an offset as one that will not be finished by this process: it
    /// blocks its partition's prefix until the partition is forgotten.
    mutating func abandon(_ partition: KafkaTopicPartition, _ offset: Int64) {
        settle(partition, offset, as: .abandoned)
    }

    /// Whether some partition's finished prefix grew since the last take.
    var hasUncommitted: Bool { partitions.values.contains { $0.uncommitted != nil } }

    /// Messages of `partition` still running.
    func running(in partition: KafkaTopicPartition) -> Int { partitions[partition]?.running ?? 0 }

    /// The state of a tracked offset that is not yet part of a taken prefix.
    func state(_ partition: KafkaTopicPartition, _ offset: Int64) -> State? {
        guard let ledger = partitions[partition], let index = Self.index(of: offset, in: ledger) else { return nil }
        return ledger.states[index]
    }

    /// The last offset of each partition's finished prefix that grew since
    /// the previous call: what to commit now (as processed offsets).
    mutating func takeCommittable() -> [KafkaPartitionOffset] {
        var result: [KafkaPartitionOffset] = []
        for key in Array(partitions.keys) {
            guard let offset = partitions[key]!.uncommitted else { continue }
            partitions[key]!.uncommitted = nil
            result.append(KafkaPartitionOffset(topic: key.topic, partition: key.partition, offset: offset))
        }
        return result.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    /// Gives back positions a failed commit took, so the next commit
    /// carries them (unless the partition moved on or was forgotten).
    mutating func restore(_ positions: [KafkaPartitionOffset]) {
        for position in positions {
            let key = KafkaTopicPartition(topic: position.topic, partition: position.partition)
            guard partitions[key] != nil else { continue }
            partitions[key]!.uncommitted = max(partitions[key]!.uncommitted ?? position.offset, position.offset)
        }
    }

    /// Drops a partition (revoked): later reports about it are ignored.
    mutating func forget(_ partition: KafkaTopicPartition) {
        guard let ledger = partitions.removeValue(forKey: partition) else { return }
        running -= ledger.running
    }

    private mutating func settle(_ key: KafkaTopicPartition, _ offset: Int64, as state: State) {
        guard var ledger = partitions[key], let index = Self.index(of: offset, in: ledger),
              ledger.states[index] == .running else { return }
        partitions[key] = nil  // keeps the arrays uniquely referenced while they change
        ledger.states[index] = state
        ledger.running -= 1
        running -= 1
        while ledger.head < ledger.states.count, ledger.states[ledger.head] == .finished {
            ledger.uncommitted = ledger.offsets[ledger.head]
            ledger.head += 1
        }
        if ledger.head > 1024 && ledger.head * 2 > ledger.offsets.count {
            ledger.offsets.removeFirst(ledger.head)
            ledger.states.removeFirst(ledger.head)
            ledger.head = 0
        }
        partitions[key] = ledger
    }

    /// Binary search: offsets of a partition are consumed in ascending order.
    private static func index(of offset: Int64, in ledger: Partition) -> Int? {
        var low = ledger.head, high = ledger.offsets.count
        while low < high {
            let middle = (low + high) / 2
            if ledger.offsets[middle] < offset { low = middle + 1 } else { high = middle }
        }
        return low < ledger.offsets.count && ledger.offsets[low] == offset ? low : nil
    }
}
