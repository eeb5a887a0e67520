import Testing
@testable import PGKCore

@Suite struct TimestampAlignerTests {
    static let stream = KafkaTopicPartition(topic: "s", partition: 0)
    static let table = KafkaTopicPartition(topic: "t", partition: 0)

    static func message(_ partition: KafkaTopicPartition, _ offset: Int64, at timestamp: Int64) -> KafkaMessage {
        KafkaMessage(topic: partition.topic, partition: partition.partition, offset: offset, key: nil, value: nil,
                     timestamp: timestamp)
    }

    static func names(_ messages: [KafkaMessage]) -> [String] { messages.map { "\($0.topic)\($0.offset)" } }

    @Test func recordsWaitForASilentPartitionThenGoInTimestampOrder() {
        var aligner = TimestampAligner<KafkaMessage>()
        aligner.reset(partitions: [Self.stream, Self.table])
        aligner.add(Self.message(Self.stream, 0, at: 10))
        aligner.add(Self.message(Self.stream, 1, at: 30))
        // The table has shown nothing yet: nothing may go.
        #expect(aligner.release(limit: 10, caughtUp: [], now: 0).isEmpty)
        aligner.add(Self.message(Self.table, 0, at: 5))
        aligner.add(Self.message(Self.table, 1, at: 20))
        // Each partition shows its head; the table read to its end lets the rest go.
        #expect(Self.names(aligner.release(limit: 10, caughtUp: [], now: 1)) == ["t0", "s0", "t1"])
        #expect(Self.names(aligner.release(limit: 10, caughtUp: [Self.table], now: 2)) == ["s1"])
        #expect(aligner.isEmpty)
    }

    @Test func aSilentPartitionIsWaitedForAtMostTheIdleTime() {
        var aligner = TimestampAligner<KafkaMessage>()
        aligner.maxIdleMilliseconds = 500
        aligner.reset(partitions: [Self.stream, Self.table])
        aligner.add(Self.message(Self.stream, 0, at: 10))
        #expect(aligner.release(limit: 10, caughtUp: [], now: 1_000).isEmpty)
        #expect(aligner.release(limit: 10, caughtUp: [], now: 1_499).isEmpty)
        #expect(Self.names(aligner.release(limit: 10, caughtUp: [], now: 1_500)) == ["s0"])
    }

    @Test func aFullBufferStopsWaitingAndResetDropsWhatWasBuffered() {
        var aligner = TimestampAligner<KafkaMessage>()
        aligner.maxPending = 2
        aligner.reset(partitions: [Self.stream, Self.table])
        aligner.add(Self.message(Self.stream, 0, at: 10))
        #expect(aligner.release(limit: 10, caughtUp: [], now: 0).isEmpty)
        aligner.add(Self.message(Self.stream, 1, at: 11))
        #expect(Self.names(aligner.release(limit: 1, caughtUp: [], now: 0)) == ["s0"])
        aligner.reset(partitions: [Self.stream])
        #expect(aligner.isEmpty && aligner.release(limit: 10, caughtUp: [], now: 0).isEmpty)
    }

    @Test func equalTimestampsGoInArrivalOrder() {
        var aligner = TimestampAligner<KafkaMessage>()
        aligner.reset(partitions: [Self.stream, Self.table])
        for _ in 0..<2 {
            aligner.add(Self.message(Self.table, 0, at: 10))
            aligner.add(Self.message(Self.stream, 0, at: 10))
            #expect(Self.names(aligner.release(limit: 10, caughtUp: [Self.stream, Self.table], now: 0)) == ["t0", "s0"])
            aligner.add(Self.message(Self.stream, 1, at: 10))
            aligner.add(Self.message(Self.table, 1, at: 10))
            #expect(Self.names(aligner.release(limit: 10, caughtUp: [Self.stream, Self.table], now: 0)) == ["s1", "t1"])
        }
    }

    @Test func bufferedBytesAlsoStopTheWait() {
        var aligner = TimestampAligner<KafkaMessage>()
        aligner.maxPendingBytes = 1_000
        aligner.reset(partitions: [Self.stream, Self.table])
        let big = KafkaMessage(topic: "s", partition: 0, offset: 0, key: nil, value: Array(repeating: 1, count: 600), timestamp: 10)
        aligner.add(big)
        #expect(aligner.release(limit: 10, caughtUp: [], now: 0).isEmpty, "664 bytes: still waiting")
        aligner.add(KafkaMessage(topic: "s", partition: 0, offset: 1, key: nil, value: Array(repeating: 1, count: 600), timestamp: 11))
        #expect(Self.names(aligner.release(limit: 1, caughtUp: [], now: 0)) == ["s0"])
        #expect(aligner.bytes == 664)
    }
}
