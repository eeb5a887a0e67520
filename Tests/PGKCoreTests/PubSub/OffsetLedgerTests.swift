import Testing
@testable import PGKCore

/// The contiguous-prefix rule of `pgk subscribe`'s commits, by hand.
@Suite struct OffsetLedgerTests {
    let p0 = KafkaTopicPartition(topic: "t", partition: 0)
    let p1 = KafkaTopicPartition(topic: "t", partition: 1)

    func committed(_ ledger: inout OffsetLedger) -> [Int32: Int64] {
        Dictionary(uniqueKeysWithValues: ledger.takeCommittable().map { ($0.partition, $0.offset) })
    }

    @Test func onlyTheFinishedPrefixIsCommittable() {
        var ledger = OffsetLedger()
        for offset in 10...14 { ledger.track(p0, Int64(offset)) }
        ledger.finish(p0, 12)
        ledger.finish(p0, 13)
        #expect(committed(&ledger).isEmpty, "10 and 11 are still running")
        ledger.finish(p0, 10)
        #expect(committed(&ledger) == [0: 10])
        ledger.finish(p0, 11)
        #expect(committed(&ledger) == [0: 13])
        #expect(committed(&ledger).isEmpty, "nothing new since the last take")
        #expect(ledger.running == 1 && ledger.running(in: p0) == 1)
    }

    @Test func aFailedOrAbandonedOffsetHoldsBackEverythingAfterIt() {
        var ledger = OffsetLedger()
        for offset in 0...3 { ledger.track(p0, Int64(offset)) }
        ledger.finish(p0, 0)
        ledger.abandon(p0, 1)
        ledger.finish(p0, 2)
        ledger.finish(p0, 3)
        #expect(committed(&ledger) == [0: 0])
        #expect(ledger.running == 0)
        #expect(ledger.state(p0, 1) == .abandoned)
        // A late report for the abandoned offset changes nothing.
        ledger.finish(p0, 1)
        #expect(committed(&ledger).isEmpty)
    }

    @Test func partitionsAreIndependentAndForgettingDropsTheirReports() {
        var ledger = OffsetLedger()
        ledger.track(p0, 5)
        ledger.track(p1, 7)
        ledger.finish(p1, 7)
        #expect(committed(&ledger) == [1: 7])
        ledger.forget(p0)
        #expect(ledger.running == 0)
        ledger.finish(p0, 5)
        #expect(committed(&ledger).isEmpty, "a forgotten partition's report is ignored")
    }

    @Test func trackFinishedIsCheapOnAnIdlePartitionAndOrderedOtherwise() {
        var ledger = OffsetLedger()
        ledger.trackFinished(p0, 1)
        ledger.trackFinished(p0, 2)
        #expect(committed(&ledger) == [0: 2])
        ledger.track(p0, 3)
        ledger.trackFinished(p0, 4)  // a dead letter behind a running handler
        #expect(committed(&ledger).isEmpty)
        ledger.finish(p0, 3)
        #expect(committed(&ledger) == [0: 4])
    }

    @Test func longRunsCompactWithoutLosingPlace() {
        var ledger = OffsetLedger()
        for offset in 0..<5_000 { ledger.track(p0, Int64(offset)) }
        for offset in 0..<4_999 { ledger.finish(p0, Int64(offset)) }
        #expect(committed(&ledger) == [0: 4_998])
        ledger.finish(p0, 4_999)
        #expect(committed(&ledger) == [0: 4_999])
        #expect(ledger.state(p0, 4_999) == nil && ledger.running == 0)
    }

    @Test func lanesFollowThePartitionOrTheKeyStably() {
        func message(_ partition: Int32, key: String?) -> KafkaMessage {
            KafkaMessage(topic: "t", partition: partition, offset: 0, key: key.map { Array($0.utf8) }, value: nil)
        }
        let byPartition = (0..<64).map { LaneOrder.partition.lane(for: message(Int32($0), key: "k"), lanes: 4) }
        #expect(Set(byPartition).count == 4, "64 partitions should spread over 4 lanes: \(byPartition)")
        #expect(byPartition == (0..<64).map { LaneOrder.partition.lane(for: message(Int32($0), key: "other"), lanes: 4) })
        let byKey = (0..<64).map { LaneOrder.key.lane(for: message(0, key: "k\($0)"), lanes: 4) }
        #expect(Set(byKey).count == 4, "keys of one partition should spread: \(byKey)")
        #expect(LaneOrder.key.lane(for: message(3, key: "k1"), lanes: 4) == LaneOrder.key.lane(for: message(9, key: "k1"), lanes: 4))
        #expect(LaneOrder.key.lane(for: message(5, key: nil), lanes: 4) == LaneOrder.partition.lane(for: message(5, key: nil), lanes: 4))
    }
}
