/// Lines up the partitions of a query with several inputs by timestamp,
/// as Kafka Streams does for a task: a record goes on only once every
/// other partition has shown it holds nothing earlier, by a buffered
/// record or by being read to its end. So a stream record meets the table
/// as it stood at that time, even when the table's topic is fetched later.
///
/// A partition that shows nothing is waited for at most `maxIdle`
/// milliseconds (Kafka Streams' max.task.idle.ms), and never once
/// `maxPending` records or `maxPendingBytes` are buffered: memory stays
/// bounded however large the records.
struct TimestampAligner<Record: AlignedRecord> {
    var maxIdleMilliseconds: Int64 = 1_000
    var maxPending = 100_000
    var maxPendingBytes = 64 << 20
    /// A partition holding this many records should stop being fetched
    /// until half of them went (Kafka Streams pauses a partition past
    /// buffered.records.per.partition): the fetches then bring the
    /// partitions its records wait for, instead of more of its own, and
    /// the buffer does not fill up and give up waiting.
    var maxPerPartition = 5_000
    /// The partitions `pacing` said to pause and not yet to resume.
    private(set) var paused: Set<KafkaTopicPartition> = []
    private(set) var bytes = 0
    /// One queue per partition, in an array: a record's release looks
    /// at every queue, and hashing partition names there cost more than
    /// the rest of the alignment.
    private var queues: [Queue] = []
    private var queueIndex: [KafkaTopicPartition: Int] = [:]
    private var blockedSince: Int64?
    private(set) var count = 0
    /// Numbers records as they arrive: equal timestamps go in arrival order.
    private var arrivals = 0

    private struct Queue {
        let partition: KafkaTopicPartition
        /// Assigned partitions are waited for while they show nothing.
        let assigned: Bool
        /// Each record with its alignment time (no timestamp sorts first),
        /// kept apart so comparing heads never copies a record; a released
        /// record is moved out, leaving nil.
        var messages: [(time: Int64, arrival: Int, record: Record?)] = []
        var head = 0
        var isEmpty: Bool { head == messages.count }
        var count: Int { messages.count - head }
        mutating func pop() -> Record {
            defer {
                head += 1
                // Released records are dropped once they are half the queue.
                if head == messages.count {
                    messages.removeAll(keepingCapacity: true)
                    head = 0
                } else if head > 1_024 && head * 2 > messages.count {
                    messages.removeFirst(head)
                    head = 0
                }
            }
            return messages[head].record.take()!
        }
    }

    var isEmpty: Bool { count == 0 }

    /// A new assignment: what was buffered is read again from the stored offsets.
    mutating func reset(partitions: Set<KafkaTopicPartition>) {
        queues = partitions.map { Queue(partition: $0, assigned: true) }
        queueIndex = Dictionary(uniqueKeysWithValues: queues.indices.map { (queues[$0].partition, $0) })
        count = 0
        bytes = 0
        blockedSince = nil
        paused = []
    }

    /// The partitions to pause now (full) and to resume (half drained).
    mutating func pacing() -> (pause: [KafkaTopicPartition], resume: [KafkaTopicPartition]) {
        var pause: [KafkaTopicPartition] = [], resume: [KafkaTopicPartition] = []
        for queue in queues {
            let isPaused = paused.contains(queue.partition)
            if !isPaused && queue.count >= maxPerPartition {
                pause.append(queue.partition)
                paused.insert(queue.partition)
            } else if isPaused && queue.count <= maxPerPartition / 2 {
                resume.append(queue.partition)
                paused.remove(queue.partition)
            }
        }
        return (pause, resume)
    }

    mutating func add(_ record: Record) {
        let partition = record.topicPartition
        let index = queueIndex[partition] ?? {
            queues.append(Queue(partition: partition, assigned: false))
            queueIndex[partition] = queues.count - 1
            return queues.count - 1
        }()
        queues[index].messages.append((record.alignmentTime ?? Int64.min, arrivals, record))
        arrivals += 1
        count += 1
        bytes += record.byteSize
    }

    /// Up to `limit` records that may go now, earliest timestamp first;
    /// `caughtUp` holds the partitions read to their end.
    mutating func release(limit: Int, caughtUp: Set<KafkaTopicPartition>, now: Int64) -> [Record] {
        var released: [Record] = []
        func silent(_ index: Int) -> Bool {
            queues[index].assigned && queues[index].isEmpty && !caughtUp.contains(queues[index].partition)
        }
        // Queues only shrink here: counted once, then as they empty.
        var silentCount = queues.indices.filter(silent).count
        while released.count < limit, let next = earliest() {
            if silentCount > 0 && count < maxPending && bytes < maxPendingBytes {
                let since = blockedSince ?? now
                blockedSince = since
                if now - since < maxIdleMilliseconds { break }
            } else {
                blockedSince = nil
            }
            let record = queues[next].pop()
            if silent(next) { silentCount += 1 }
            released.append(record)
            count -= 1
            bytes -= record.byteSize
        }
        return released
    }

    /// The queue whose next record is the earliest (no timestamp sorts
    /// first; a tie goes to the record that arrived first).
    private func earliest() -> Int? {
        var best: (index: Int, time: Int64, arrival: Int)?
        for index in queues.indices where !queues[index].isEmpty {
            let head = queues[index].head
            let time = queues[index].messages[head].time, arrival = queues[index].messages[head].arrival
            if let current = best, (current.time, current.arrival) <= (time, arrival) { continue }
            best = (index, time, arrival)
        }
        return best?.index
    }
}

/// What the aligner orders: a record of a partition, at a time.
protocol AlignedRecord {
    var topicPartition: KafkaTopicPartition { get }
    var alignmentTime: Int64? { get }
    /// About what the record holds in memory.
    var byteSize: Int { get }
}

extension KafkaMessage: AlignedRecord {
    var alignmentTime: Int64? { timestamp }
    var byteSize: Int { 64 + (key?.count ?? 0) + (value?.count ?? 0) }
}

/// A Kafka record decoded for the inputs reading its topic, lined up by
/// its ROWTIME (a TIMESTAMP column's, where the source has one).
struct StagedMessage: AlignedRecord {
    var message: KafkaMessage
    /// Its row for each input reading its topic (see StagedRecords.Entry).
    var rows: [(input: Int, row: [UInt8])] = []
    var deadLetters: [String] = []
    var rowtime: Int64?
    /// False until decoded; an undecoded record is lined up by its Kafka timestamp.
    var decoded = false

    init(message: KafkaMessage) {
        self.message = message
        rowtime = message.timestamp
    }

    var topicPartition: KafkaTopicPartition { message.topicPartition }
    var alignmentTime: Int64? { rowtime }
    /// Decoded fields take about as much again as the raw record.
    var byteSize: Int { message.byteSize * (decoded ? 2 : 1) }
}
