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

    /// A partition that runs ahead is paused at its limit and resumed once
    /// half drained, so the partition it waits for gets fetched.
    @Test func aPartitionRunningAheadIsPausedUntilHalfDrained() {
        var aligner = TimestampAligner<KafkaMessage>()
        aligner.maxPerPartition = 4
        aligner.reset(partitions: [Self.stream, Self.table])
        for offset in 0..<3 as Range<Int64> { aligner.add(Self.message(Self.stream, offset, at: 10 + 10 * offset)) }
        #expect(aligner.pacing().pause.isEmpty)
        aligner.add(Self.message(Self.stream, 3, at: 40))
        #expect(aligner.pacing() == ([Self.stream], []))
        // Said once: still full, still paused.
        #expect(aligner.pacing() == ([], []))
        #expect(aligner.paused == [Self.stream])
        aligner.add(Self.message(Self.table, 0, at: 15))
        // In timestamp order: s0, then t0.
        #expect(Self.names(aligner.release(limit: 2, caughtUp: [], now: 0)) == ["s0", "t0"])
        #expect(aligner.pacing() == ([], []))  // three left: more than half of four
        #expect(Self.names(aligner.release(limit: 1, caughtUp: [Self.table], now: 0)) == ["s1"])
        #expect(aligner.pacing() == ([], [Self.stream]))
        #expect(aligner.paused.isEmpty)
        // A new assignment starts with nothing paused.
        aligner.add(Self.message(Self.stream, 9, at: 99))
        aligner.add(Self.message(Self.stream, 10, at: 99))
        _ = aligner.pacing()
        aligner.reset(partitions: [Self.stream])
        #expect(aligner.paused.isEmpty)
    }
}
