import Testing
@testable import PGKCore

/// A batch's packed records and rows (StagedRecords, TakenRecords).
@Suite struct StagedRecordsTests {
    static func message(_ partition: Int32, _ offset: Int64, key: String?, value: String?, topic: String = "t",
                        headers: [KafkaHeader] = []) -> KafkaMessage {
        KafkaMessage(topic: topic, partition: partition, offset: offset, key: key.map { Array($0.utf8) },
                     value: value.map { Array($0.utf8) }, headers: headers, timestamp: 1_000 + offset)
    }

    @Test func recordsComeBackAsTheyWereTaken() {
        var batch = StagedRecords()
        let messages = [
            Self.message(0, 5, key: "k", value: "{\"a\":1}", headers: [KafkaHeader(key: "h", string: "v")]),
            Self.message(1, 9, key: nil, value: nil),  // a tombstone without a key
            Self.message(0, 6, key: "", value: "", topic: "other"),  // empty, not null
        ]
        for message in messages {
            let record = batch.take(message)
            batch.addEntry(input: 0, row: Array("row \(record)".utf8), record: record)
            batch.note(record)
        }
        // All but the headers, which a batch does not keep.
        let withoutHeaders = messages.map { message in
            var copy = message
            copy.headers = []
            return copy
        }
        #expect(batch.entries.map { batch.message($0) } == withoutHeaders)
        #expect(batch.entries.map { Array(batch.rows[$0.row]) } == (0..<3).map { Array("row \($0)".utf8) })
        #expect(batch.nextOffsets == [KafkaTopicPartition(topic: "t", partition: 0): 6, KafkaTopicPartition(topic: "t", partition: 1): 10,
                                      KafkaTopicPartition(topic: "other", partition: 0): 7])
        #expect(batch.count == 3)
    }

    @Test func rollingBackForgetsTheRecordItsRowsAndDeadLetters() {
        var batch = StagedRecords()
        let kept = batch.take(Self.message(0, 1, key: "a", value: "1"))
        batch.addEntry(input: 0, row: [1, 2], record: kept)
        batch.note(kept)
        let mark = batch.mark
        let dropped = batch.take(Self.message(0, 2, key: "b", value: "2"))
        batch.addEntry(input: 0, row: [3], record: dropped)
        batch.deadLetters.append((Self.message(0, 2, key: "b", value: "2"), "bad"))
        batch.rollBack(to: mark)
        #expect(batch.entries.count == 1 && batch.rows == [1, 2] && batch.deadLetters.isEmpty)
        // The next record takes the place the dropped one had.
        let next = batch.take(Self.message(0, 3, key: "c", value: "3"))
        #expect(next == 1)
        #expect(batch.records.message(next) == Self.message(0, 3, key: "c", value: "3"))
    }

    @Test func halvesCoverTheBatchsOffsetsInOrder() {
        var batch = StagedRecords()
        for offset in 0..<4 as Range<Int64> {
            let record = batch.take(Self.message(Int32(offset % 2), offset, key: nil, value: "v\(offset)"))
            batch.addEntry(input: 0, row: Array("r\(offset)".utf8), record: record)
            batch.note(record)
        }
        batch.deadLetters.append((Self.message(0, 9, key: nil, value: "x"), "why"))
        let (first, second) = batch.halves()
        #expect(first.entries.map { Array(first.rows[$0.row]) } == [Array("r0".utf8), Array("r1".utf8)])
        #expect(first.nextOffsets == [KafkaTopicPartition(topic: "t", partition: 0): 1, KafkaTopicPartition(topic: "t", partition: 1): 2])
        #expect(first.deadLetters.count == 1 && second.deadLetters.isEmpty)
        #expect(second.entries.map { second.message($0).offset } == [2, 3])
        #expect(second.nextOffsets == batch.nextOffsets)
    }
}
