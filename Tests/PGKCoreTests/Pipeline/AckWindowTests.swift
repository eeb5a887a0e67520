import Testing
@testable import PGKCore

/// The acknowledgement window with hand-fed acks: WAL flush positions,
/// the outbox's acknowledged prefix, and offsets as positions.
@Suite struct AckWindowTests {
    struct Broken: Error, Equatable { var name: String }

    @Test func confirmsOnlyWhenEverythingBeforeIsAcknowledged() {
        var window = AckWindow<LSN, Broken>(flushed: LSN(100))
        #expect((1...3).map { _ in window.produce() } == [1, 2, 3])
        window.reached(LSN(200))            // txn A: events 1-3
        #expect((4...5).map { _ in window.produce() } == [4, 5])
        window.reached(LSN(300))            // txn B: events 4-5
        window.acknowledge(5)
        window.acknowledge(4)
        #expect(window.flushed == LSN(100), "B is acknowledged but A is not")
        window.acknowledge(1)
        window.acknowledge(3)
        #expect(window.flushed == LSN(100))
        window.acknowledge(2)
        #expect(window.flushed == LSN(300))
        #expect(window.isIdle && window.inFlight == 0)
    }

    @Test func positionsWithoutEventsAndDuplicates() {
        var window = AckWindow<LSN, Broken>(flushed: LSN(10))
        window.reached(LSN(20))
        #expect(window.flushed == LSN(20), "nothing in flight: a keepalive position confirms at once")
        window.reached(LSN(15))
        #expect(window.flushed == LSN(20), "never backwards")
        window.produce()
        window.reached(LSN(30))
        window.reached(LSN(40))             // keepalive after the same events: merged
        #expect(window.pendingPositions == 1)
        window.acknowledge(1)
        window.acknowledge(1)               // a duplicate ack changes nothing
        window.acknowledge(99)              // unknown id is ignored
        #expect(window.flushed == LSN(40) && window.inFlight == 0)
    }

    @Test func manyOutOfOrderAcksCompactTheWindow() {
        var window = AckWindow<LSN, Broken>(flushed: .zero)
        var expected = LSN.zero
        for batch in 0..<50 {
            let ids = (0..<1000).map { _ in window.produce() }
            expected = LSN(UInt64(batch + 1) * 1000)
            window.reached(expected)
            for id in ids.shuffled() { window.acknowledge(id) }
            #expect(window.flushed == expected)
        }
        #expect(window.deliveredBelow == 50_001 && window.acknowledgedPrefix == 50_000)
    }

    /// The outbox deletes the acknowledged prefix of a batch and ships the
    /// rest again, so one late ack must hold back everything after it.
    @Test func theAcknowledgedPrefixStopsAtTheFirstGap() {
        var window = AckWindow<Never, Broken>()
        for _ in 0..<4 { window.produce() }
        window.acknowledge(1)
        window.acknowledge(2)
        window.acknowledge(4)
        #expect(window.acknowledgedPrefix == 2 && window.inFlight == 1 && !window.allAcknowledged)
        window.acknowledge(3)
        #expect(window.acknowledgedPrefix == 4 && window.allAcknowledged && window.flushed == nil)
    }

    @Test func aFailureBlocksThePrefixAndTheEarliestIsKept() {
        var window = AckWindow<LSN, Broken>(flushed: .zero)
        for _ in 0..<5 { window.produce() }
        window.reached(LSN(50))
        window.acknowledge(1)
        window.fail(4, Broken(name: "later"))
        window.fail(3, Broken(name: "earlier"))
        window.fail(3, Broken(name: "again"))   // a repeated report changes nothing
        window.acknowledge(2)
        window.acknowledge(5)
        #expect(window.firstFailure?.id == 3 && window.firstFailure?.error == Broken(name: "earlier"))
        #expect(window.acknowledgedPrefix == 2 && window.inFlight == 0 && !window.allAcknowledged)
        #expect(window.flushed == .zero, "a position after a failed item never becomes flushable")
    }

    /// A window restarted mid-stream (a new outbox batch) ignores reports
    /// for what came before it and counts its prefix from its own start.
    @Test func aRestartedWindowIgnoresEarlierIDs() {
        var window = AckWindow<Never, Broken>(firstID: 11)
        #expect(window.produce() == 11 && window.produce() == 12)
        window.acknowledge(10)
        window.fail(9, Broken(name: "stale"))
        #expect(window.inFlight == 2 && window.firstFailure == nil)
        window.acknowledge(11)
        #expect(window.acknowledgedPrefix == 1 && window.producedCount == 2)
    }

    /// How a consumer commits: each message's next offset is its position;
    /// the committable offset is the one after the contiguous finished prefix.
    @Test func offsetsAsPositionsGiveTheCommittableOffset() {
        var window = AckWindow<Int64, Never>()
        var idOfOffset: [Int64: UInt64] = [:]
        for offset in Int64(100)..<105 {
            idOfOffset[offset] = window.produce()
            window.reached(offset + 1)
        }
        #expect(window.flushed == nil, "nothing finished: nothing to commit")
        window.acknowledge(idOfOffset[102]!)
        window.acknowledge(idOfOffset[100]!)
        #expect(window.flushed == 101)
        window.acknowledge(idOfOffset[101]!)
        #expect(window.flushed == 103)
        window.acknowledge(idOfOffset[104]!)
        window.acknowledge(idOfOffset[103]!)
        #expect(window.flushed == 105 && window.isIdle)
    }
}
