import CRdKafka
import Foundation
import Testing
@testable import PGKCore

@Suite struct KafkaConsumerTests {
    static func produce(_ cluster: MockKafkaCluster, _ topic: String, partition: Int32? = 0, count: Int,
                        timestamp: ((Int) -> Int64)? = nil) throws {
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        for i in 0..<count {
            try producer.produce(topic: topic, partition: partition, key: Array("k\(i)".utf8),
                                 value: Array("v\(i)".utf8), timestamp: timestamp?(i))
        }
        try producer.flush(timeoutMilliseconds: 10_000)
    }

    /// A mock cluster with a new topic whose partition 0 holds `count` records.
    static func topicWithRecords(_ prefix: String, partitions: Int, count: Int) throws -> (MockKafkaCluster, String) {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName(prefix)
        try cluster.createTopic(topic, partitions: partitions)
        try produce(cluster, topic, partition: 0, count: count)
        return (cluster, topic)
    }

    /// librdkafka before 2.2.0 rejects the property; from 2.2.0 on it
    /// replaces the one-second pause after a full fetch queue.
    @Test func fetchQueueBackoffIsSetOnlyWhereLibrdkafkaHasIt() throws {
        func backoff(_ version: Int) -> String? {
            KafkaConsumer.builtinDefaults(partitionEOF: false, libraryVersion: version)
                .first { $0.key == "fetch.queue.backoff.ms" }?.value
        }
        #expect(backoff(0x0200_02ff) == nil)        // Debian's 2.0.2
        #expect(backoff(0x0201_01ff) == nil)
        #expect(backoff(0x0202_00ff) == "10")
        #expect(backoff(0x0210_00ff) == "10")       // the confluent-kafka wheel's 2.16
        // The linked library accepts pgk's defaults either way.
        let cluster = try MockKafkaCluster()
        _ = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: "g-defaults")
    }

    /// The nudger runs only where librdkafka lacks fetch.queue.backoff.ms,
    /// wakes the leader over and over while records arrive (and not once
    /// they stop), and leaves what the consumer reads alone, even with a
    /// read-ahead far smaller than the topic.
    @Test func fetchNudgerRunsOnlyOnOldLibrdkafkaAndLeavesConsumptionAlone() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("nudge")
        try cluster.createTopic(topic, partitions: 2)
        try Self.produce(cluster, topic, partition: nil, count: 5_000)
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil,
                                         defaults: [("queued.min.messages", "100")], partitionEOF: true)
        let partitions = [KafkaTopicPartition(topic: topic, partition: 0), KafkaTopicPartition(topic: topic, partition: 1)]
        #expect(try KafkaFetchNudger.start(for: consumer, partitions: partitions, libraryVersion: 0x0202_00ff) == nil)
        #expect(try KafkaFetchNudger.start(for: consumer, partitions: [], libraryVersion: 0x0200_02ff) == nil)
        let nudger = try #require(try KafkaFetchNudger.start(for: consumer, partitions: partitions, intervalMilliseconds: 5,
                                                             libraryVersion: 0x0200_02ff))
        try consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaStartOffset.beginning) }))
        var values = Set<String>(), ends = Set<Int32>()
        let deadline = SystemClock.shared.nowMilliseconds + 20_000
        while ends.count < 2, SystemClock.shared.nowMilliseconds < deadline {
            try consumer.pollBatch(maxMessages: 100, timeoutMilliseconds: 100) { record in
                switch record {
                case .message(let view): values.insert(String(decoding: view.value.map { Array($0) } ?? [], as: UTF8.self))
                case .partitionEnd(let end): ends.insert(end.partition)
                }
            }
        }
        #expect(values.count == 5_000)
        #expect(nudger.nudges > 0)
        // Two seconds after the last delivery an idle consumer is left alone.
        usleep(2_200_000)
        let idle = nudger.nudges
        usleep(100_000)
        #expect(nudger.nudges == idle)
        nudger.stop()
        let stopped = nudger.nudges
        usleep(50_000)
        #expect(nudger.nudges == stopped)
    }

    @Test func regexSubscriptionReceivesEveryMatchingTopic() throws {
        let cluster = try MockKafkaCluster()
        let prefix = KafkaTestSupport.uniqueName("rx")
        try cluster.createTopic("\(prefix)-a", partitions: 1)
        try cluster.createTopic("\(prefix)-b", partitions: 1)
        try cluster.createTopic("other-\(prefix)", partitions: 1)
        try Self.produce(cluster, "\(prefix)-a", count: 2)
        try Self.produce(cluster, "\(prefix)-b", count: 3)
        try Self.produce(cluster, "other-\(prefix)", count: 4)
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: KafkaTestSupport.uniqueName("g"),
                                         defaults: [("auto.offset.reset", "earliest")])
        try consumer.subscribe(["^\(prefix)-.*"])
        let messages = try KafkaTestSupport.consume(consumer, count: 5)
        #expect(messages.count == 5)
        #expect(Set(messages.map(\.topic)) == ["\(prefix)-a", "\(prefix)-b"])
        #expect(try KafkaTestSupport.consume(consumer, count: 1, timeoutMilliseconds: 500).isEmpty)
    }

    @Test func seekByOffsetAndByTimestamp() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("seek")
        try cluster.createTopic(topic, partitions: 1)
        let base: Int64 = 1_700_000_000_000
        try Self.produce(cluster, topic, count: 10, timestamp: { base + Int64($0) * 1_000 })
        let tp = KafkaTopicPartition(topic: topic, partition: 0)

        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil)
        try consumer.assign([tp: .beginning])
        #expect(try KafkaTestSupport.consume(consumer, count: 10).map(\.offset) == Array(0..<10))
        try consumer.seek(tp, to: .offset(7))
        #expect(try KafkaTestSupport.consume(consumer, count: 1).first?.offset == 7)
        try consumer.seek(tp, to: .timestamp(base + 3_500))
        let afterTime = try KafkaTestSupport.consume(consumer, count: 1).first
        #expect(afterTime?.offset == 4)
        #expect(afterTime?.timestamp == base + 4_000)
        #expect(try consumer.offsetsForTimes([tp: base + 2_000]) == [tp: 2])

        let fromTime = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil)
        try fromTime.assign([tp: .timestamp(base + 8_000)])
        #expect(try KafkaTestSupport.consume(fromTime, count: 2).map(\.offset) == [8, 9])
        let fromTail = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil)
        try fromTail.assign([tp: .tail(3)])
        #expect(try KafkaTestSupport.consume(fromTail, count: 3).map(\.offset) == [7, 8, 9])
    }

    /// BEGINNING and END are looked up before assigning (librdkafka 2.0.2
    /// waits 500 ms to look them up itself when it does not know the
    /// leader yet); offsets that are not logical, and partitions that do
    /// not exist, are left as they are.
    @Test func logicalStartOffsetsAreLookedUpBeforeAssigning() throws {
        let (cluster, topic) = try Self.topicWithRecords("logical", partitions: 2, count: 4)
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil, partitionEOF: true)
        let p0 = KafkaTopicPartition(topic: topic, partition: 0), p1 = KafkaTopicPartition(topic: topic, partition: 1)
        let missing = KafkaTopicPartition(topic: topic, partition: 9)
        let resolved = resolveLogicalOffsets(consumer.handle.pointer, [p0: KafkaConstant.offsetEnd, p1: KafkaConstant.offsetBeginning,
                                                                       missing: KafkaConstant.offsetBeginning],
                                             timeoutMilliseconds: 5_000)
        #expect(resolved[p0] == 4)
        #expect(resolved[p1] == 0)
        #expect(resolved[missing] == KafkaConstant.offsetBeginning)
        #expect(resolveLogicalOffsets(consumer.handle.pointer, [p0: 2], timeoutMilliseconds: 5_000) == [p0: 2])
        // Assigned from the end, the consumer reads only what comes after.
        try consumer.assign([p0: .end])
        try Self.produce(cluster, topic, partition: 0, count: 6)
        #expect(try KafkaTestSupport.consume(consumer, count: 6).map(\.offset) == Array(4..<10))
    }

    @Test func partitionEndIsReportedForEveryDrainedPartition() throws {
        let (cluster, topic) = try Self.topicWithRecords("eof", partitions: 2, count: 3)
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil, partitionEOF: true)
        try consumer.assign([KafkaTopicPartition(topic: topic, partition: 0): .beginning,
                             KafkaTopicPartition(topic: topic, partition: 1): .beginning])
        var offsets: [Int64] = []
        var ends: [Int32: Int64] = [:]
        let deadline = SystemClock.shared.nowMilliseconds + 10_000
        while ends.count < 2, SystemClock.shared.nowMilliseconds < deadline {
            try consumer.pollBatch(maxMessages: 100, timeoutMilliseconds: 100) { record in
                switch record {
                case .message(let view): offsets.append(view.offset)
                case .partitionEnd(let end): ends[end.partition] = end.offset
                }
            }
        }
        #expect(offsets == [0, 1, 2])
        #expect(ends == [0: 3, 1: 0])
    }

    /// librdkafka's own batch call waits for a full batch or the timeout:
    /// three records asked for a thousand at a time took the whole 10 s.
    @Test func aBatchPollCanTakeWhatIsQueuedWithoutWaitingForAFullBatch() throws {
        let (cluster, topic) = try Self.topicWithRecords("prompt", partitions: 1, count: 3)
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil)
        try consumer.assign([KafkaTopicPartition(topic: topic, partition: 0): .beginning])
        var offsets: [Int64] = []
        let started = SystemClock.shared.nowMilliseconds
        while offsets.count < 3, SystemClock.shared.nowMilliseconds - started < 20_000 {
            try consumer.pollBatch(maxMessages: 1_000, timeoutMilliseconds: 10_000, upToWhatIsQueued: true) { record in
                if case .message(let view) = record { offsets.append(view.offset) }
            }
        }
        #expect(offsets == [0, 1, 2])
        #expect(SystemClock.shared.nowMilliseconds - started < 5_000)
    }

    @Test func commitWritesLastProcessedPlusOneAndASecondConsumerResumesThere() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("commit")
        let group = KafkaTestSupport.uniqueName("group")
        try cluster.createTopic(topic, partitions: 1)
        try Self.produce(cluster, topic, count: 10)
        let config = KafkaTestSupport.config(cluster, [("session.timeout.ms", "3000")])
        let tp = KafkaTopicPartition(topic: topic, partition: 0)
        do {
            let first = try KafkaConsumer(config: config, groupID: group, defaults: [("auto.offset.reset", "earliest")])
            try first.subscribe([topic])
            let messages = try KafkaTestSupport.consume(first, count: 5)
            try #require(messages.count == 5)
            try first.storeProcessed(topic: topic, partition: 0, offset: messages[4].offset)
            try first.commit()
            #expect(try first.committed([tp]) == [tp: 5])
            first.close()
        }
        let second = try KafkaConsumer(config: config, groupID: group, defaults: [("auto.offset.reset", "earliest")])
        try second.subscribe([topic])
        let rest = try KafkaTestSupport.consume(second, count: 5)
        #expect(rest.map(\.offset) == [5, 6, 7, 8, 9])
    }

    @Test func rebalanceHandlerSeesAssignmentsAndRevocationsAcrossTwoConsumers() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("rebalance")
        let group = KafkaTestSupport.uniqueName("group")
        try cluster.createTopic(topic, partitions: 4)
        let config = KafkaTestSupport.config(cluster, [("heartbeat.interval.ms", "100"), ("session.timeout.ms", "3000")])
        var firstLog: [String] = []
        var secondLog: [String] = []
        let first = try KafkaConsumer(config: config, groupID: group)
        first.rebalanceHandler = KafkaRebalanceHandler(onAssign: { firstLog.append("assign \($0.count)"); return [:] },
                                                       onRevoke: { firstLog.append("revoke \($0.count)") })
        try first.subscribe([topic])
        let deadline = SystemClock.shared.nowMilliseconds + 30_000
        while first.assignment.count < 4, SystemClock.shared.nowMilliseconds < deadline {
            _ = try first.poll(timeoutMilliseconds: 100)
        }
        #expect(first.assignment.count == 4)
        let second = try KafkaConsumer(config: config, groupID: group)
        second.rebalanceHandler = KafkaRebalanceHandler(onAssign: { secondLog.append("assign \($0.count)"); return [:] },
                                                        onRevoke: { secondLog.append("revoke \($0.count)") })
        try second.subscribe([topic])
        while (first.assignment.count != 2 || second.assignment.count != 2), SystemClock.shared.nowMilliseconds < deadline {
            _ = try first.poll(timeoutMilliseconds: 50)
            _ = try second.poll(timeoutMilliseconds: 50)
        }
        #expect(first.assignment.count == 2)
        #expect(second.assignment.count == 2)
        #expect(first.assignment.isDisjoint(with: second.assignment))
        #expect(firstLog.starts(with: ["assign 4", "revoke 4", "assign 2"]), "\(firstLog)")
        #expect(secondLog.last == "assign 2", "\(secondLog)")
        second.close()
        #expect(secondLog.last == "revoke 2", "\(secondLog)")
    }

    @Test func rebalanceHandlerCanChooseStartOffsets() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("start")
        try cluster.createTopic(topic, partitions: 1)
        try Self.produce(cluster, topic, count: 10)
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: KafkaTestSupport.uniqueName("g"))
        consumer.rebalanceHandler = KafkaRebalanceHandler(onAssign: { partitions in
            Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaStartOffset.offset(6)) })
        })
        try consumer.subscribe([topic])
        #expect(try KafkaTestSupport.consume(consumer, count: 4).map(\.offset) == [6, 7, 8, 9])
    }

    @Test func consumingAMissingTopicFailsNamingIt() throws {
        let cluster = try MockKafkaCluster()
        let missing = KafkaTestSupport.uniqueName("absent")
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil)
        let error = try #require(throws: KafkaError.self) { _ = try consumer.partitions(of: missing) }
        #expect(error.name == "UNKNOWN_TOPIC_OR_PART")
        #expect(error.topic == missing)
    }

    @Test func batchPollingServesGroupRebalancesAndMessages() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("batch-group")
        try cluster.createTopic(topic, partitions: 3)
        for partition in Int32(0)..<3 { try Self.produce(cluster, topic, partition: partition, count: 4) }
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: KafkaTestSupport.uniqueName("g"),
                                         defaults: [("auto.offset.reset", "earliest")])
        var assigned: [KafkaTopicPartition] = []
        consumer.rebalanceHandler = KafkaRebalanceHandler(onAssign: { assigned += $0; return [:] })
        try consumer.subscribe([topic])
        var seen: [KafkaPartitionOffset] = []
        let deadline = SystemClock.shared.nowMilliseconds + 20_000
        while seen.count < 12, SystemClock.shared.nowMilliseconds < deadline {
            try consumer.pollBatch(maxMessages: 5, timeoutMilliseconds: 100) { record in
                if case .message(let view) = record {
                    seen.append(KafkaPartitionOffset(topic: view.topic, partition: view.partition, offset: view.offset))
                }
            }
        }
        #expect(Set(assigned.map(\.partition)) == [0, 1, 2])
        #expect(seen.count == 12)
        try consumer.storeProcessed(seen)
        try consumer.commit()
        #expect(try consumer.committed((0..<3).map { KafkaTopicPartition(topic: topic, partition: $0) }).values.sorted() == [4, 4, 4])
    }
}
