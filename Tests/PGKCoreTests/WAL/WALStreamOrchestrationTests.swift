import Testing
@testable import PGKCore

/// `WALStreamer`'s streaming loop with a scripted replication connection,
/// a fake Kafka and a manual clock: confirm order, keepalives, reconnects
/// and stopping, in-process and in milliseconds.
@Suite struct WALStreamOrchestrationTests {
    static let start = LSN(0x100)

    final class Harness {
        let clock = ManualClock()
        let stop = StopToken()
        let sink: FakeEventSink
        let database = FakeStreamingDatabase()
        let streamer: WALStreamer
        private var scripts: [ScriptedReplicationStream] = []
        private(set) var opened: [ScriptedReplicationStream] = []
        /// Where each (re)connection asked the server to start.
        private(set) var startedAt: [LSN] = []

        init(configure: (inout WALRunOptions) -> Void = { _ in }) throws {
            var options = WALRunOptions()
            options.heartbeatMilliseconds = 0
            configure(&options)
            sink = FakeEventSink(clock: clock)
            streamer = WALStreamer(options: options, kafka: KafkaConfig(brokers: nil), registry: nil, stop: stop,
                                   clock: clock)
            streamer.sink = sink
            streamer.sideDatabase = database
            streamer.topicPrefix = "pgk.db"
            streamer.encoder = try ChangeEventEncoder(format: .debezium, packing: .json, registry: nil, database: "db")
            streamer.openReplicationStream = { [unowned self] start in
                startedAt.append(start)
                let next = scripts.removeFirst()
                opened.append(next)
                return next
            }
        }

        /// Queues the script the next connection plays.
        func connection(_ steps: [ScriptedReplicationStream.Step]) {
            scripts.append(ScriptedReplicationStream(steps, clock: clock, stop: stop))
        }

        var stream: ScriptedReplicationStream { opened[0] }

        func run(exitTarget: LSN? = nil) throws {
            sink.resetPosition(WALStreamOrchestrationTests.start)
            try streamer.stream(from: WALStreamOrchestrationTests.start, exitTarget: exitTarget)
        }
    }

    @Test func confirmedPositionNeverPassesAnUnacknowledgedEvent() throws {
        let harness = try Harness()
        harness.sink.heldBack[1] = .max  // the second transaction's event
        var confirmedBeforeAck: [LSN] = []
        harness.connection(
            WALMessages.transaction(xid: 1, start: LSN(0x150), end: LSN(0x200), ids: [1])
            + WALMessages.transaction(xid: 2, start: LSN(0x250), end: LSN(0x300), ids: [2])
            + [.idle(milliseconds: 0),
               WALMessages.keepalive(walEnd: LSN(0x400), replyRequested: true),
               .idle(milliseconds: 1_500), .idle(milliseconds: 10_000),
               .run { confirmedBeforeAck = harness.stream.flushes; harness.sink.acknowledge(event: 1) },
               .idle(milliseconds: 1_000)])
        try harness.run()

        #expect(harness.sink.sentCount == 2)
        #expect(!confirmedBeforeAck.isEmpty && confirmedBeforeAck.allSatisfy { $0 == LSN(0x200) },
                "only the first transaction may be confirmed while the second's event is unacknowledged")
        #expect(harness.stream.flushes.last == LSN(0x400))
        #expect(harness.streamer.summary.flushed == LSN(0x400) && harness.streamer.summary.transactions == 2)
    }

    @Test func pgksOwnTablesAreNeverStreamed() throws {
        let harness = try Harness()
        harness.connection(
            WALMessages.transaction(xid: 1, start: LSN(0x150), end: LSN(0x200), ids: [1, 2], schema: "pgk")
            + WALMessages.transaction(xid: 2, start: LSN(0x250), end: LSN(0x300), ids: [3])
            + [.idle(milliseconds: 1_000)])
        try harness.run()
        #expect(harness.sink.sentCount == 1, "only the public table's row is an event")
        #expect(harness.streamer.summary.transactions == 2)
        #expect(harness.stream.flushes.last == LSN(0x300), "pgk's own transaction is still confirmed past")
    }

    @Test func keepaliveAskingForAReplyIsAnsweredAtOnce() throws {
        let harness = try Harness()
        var afterReplyRequested: [ScriptedReplicationStream.Status] = []
        var afterPlainKeepalive: [ScriptedReplicationStream.Status] = []
        harness.connection([
            WALMessages.keepalive(walEnd: LSN(0x500), replyRequested: true),
            .run { afterReplyRequested = harness.stream.statuses },
            WALMessages.keepalive(walEnd: LSN(0x600), replyRequested: false),
            .run { afterPlainKeepalive = harness.stream.statuses },
            .idle(milliseconds: 1_000),
        ])
        try harness.run()

        #expect(afterReplyRequested == [.init(flush: LSN(0x500), at: 0)])
        #expect(afterPlainKeepalive == afterReplyRequested, "no reply was asked for, and no second has passed")
        #expect(harness.stream.flushes.prefix(2) == [LSN(0x500), LSN(0x600)])
    }

    @Test func keepaliveInsideATransactionIsAnsweredWithoutMovingTheSlot() throws {
        let harness = try Harness()
        harness.connection(
            WALMessages.unfinishedTransaction(xid: 1, start: LSN(0x150), ids: [1])
            + [WALMessages.keepalive(walEnd: LSN(0x900), replyRequested: true), .run { harness.stop.stop() }])
        try harness.run()

        #expect(harness.stream.flushes.first == Self.start)
        #expect(!harness.stream.flushes.contains { $0 > Self.start }, "the open transaction is not confirmed")
    }

    @Test func lostConnectionReconnectsFromTheLastConfirmedPosition() throws {
        let harness = try Harness()
        harness.connection(
            WALMessages.transaction(xid: 1, start: LSN(0x150), end: LSN(0x200), ids: [1])
            + [.idle(milliseconds: 0)]
            + WALMessages.unfinishedTransaction(xid: 2, start: LSN(0x250), ids: [2])
            + [.lose])
        harness.connection(
            WALMessages.transaction(xid: 2, start: LSN(0x250), end: LSN(0x300), ids: [2])
            + [.idle(milliseconds: 0)])
        try harness.run()

        #expect(harness.startedAt == [Self.start, LSN(0x200)])
        #expect(harness.database.reconnectChecks == 2, "the side connection is checked on every (re)connect")
        #expect(harness.sink.sentCount == 3, "the cut-off transaction is sent again in full")
        #expect(harness.opened[0].flushes.allSatisfy { $0 <= LSN(0x200) })
        #expect(harness.opened[1].flushes.last == LSN(0x300) && harness.opened[1].ended)
        #expect(harness.clock.nowMilliseconds >= 400, "reconnecting waits out a backoff")
    }

    @Test func stopDrainsKafkaThenConfirmsAndEndsTheStream() throws {
        let harness = try Harness()
        harness.sink.heldBack[0] = .max  // Kafka is slow: acknowledged only while draining
        harness.connection(
            WALMessages.transaction(xid: 1, start: LSN(0x150), end: LSN(0x200), ids: [1])
            + [.idle(milliseconds: 11_000)])
        try harness.run()

        let statuses = harness.stream.flushes
        #expect(statuses.dropLast().allSatisfy { $0 == Self.start } && statuses.count >= 2)
        #expect(statuses.last == LSN(0x200))
        #expect(harness.stream.ended && !harness.sink.abandoned)
        #expect(harness.streamer.summary.flushed == LSN(0x200))
    }

    @Test func stopWithAnUndeliverableEventConfirmsOnlyWhatCameBefore() throws {
        let harness = try Harness()
        harness.sink.undeliverable = [1]
        harness.connection(
            WALMessages.transaction(xid: 1, start: LSN(0x150), end: LSN(0x200), ids: [1])
            + WALMessages.transaction(xid: 2, start: LSN(0x250), end: LSN(0x300), ids: [2]))
        try harness.run()

        #expect(harness.sink.abandoned)
        #expect(harness.stream.flushes.last == LSN(0x200) && harness.stream.ended)
        #expect(harness.streamer.summary.flushed == LSN(0x200))
    }

    @Test func whileKafkaIsBehindTheServerStillHearsFromUs() throws {
        let harness = try Harness { $0.statusIntervalMilliseconds = 10_000 }
        harness.sink.maxInFlight = 1
        harness.sink.heldBack[0] = 15_000
        harness.connection(
            WALMessages.transaction(xid: 1, start: LSN(0x150), end: LSN(0x200), ids: [1])
            + WALMessages.transaction(xid: 2, start: LSN(0x250), end: LSN(0x300), ids: [2]))
        try harness.run()

        let duringBackpressure = harness.stream.statuses.filter { $0.at < 15_000 }
        #expect(duringBackpressure.contains { $0.at >= 10_000 && $0.flush == Self.start },
                "a status within the interval, though nothing was read")
        #expect(harness.stream.flushes.last == LSN(0x300) && harness.sink.sentCount == 2)
    }

    @Test func exitWhenCaughtUpStopsReadingOnceTheTargetIsConfirmed() throws {
        let harness = try Harness()
        harness.connection(
            WALMessages.transaction(xid: 1, start: LSN(0x150), end: LSN(0x200), ids: [1])
            + [.idle(milliseconds: 0)]
            + WALMessages.transaction(xid: 2, start: LSN(0x250), end: LSN(0x300), ids: [2]))
        try harness.run(exitTarget: LSN(0x200))

        #expect(harness.streamer.summary.caughtUp)
        #expect(harness.sink.sentCount == 1 && !harness.stop.isStopped)
        #expect(harness.stream.flushes.last == LSN(0x200) && harness.stream.ended)
    }

    @Test func idleDatabaseGetsAHeartbeatWhoseMessageMovesTheSlot() throws {
        let harness = try Harness { $0.heartbeatMilliseconds = 10_000 }
        var heartbeatsAfterQuietSpell = 0
        harness.connection([
            .idle(milliseconds: 9_000),
            .run { #expect(harness.database.heartbeats == 0) },
            .idle(milliseconds: 1_500),
            .run { heartbeatsAfterQuietSpell = harness.database.heartbeats },
            WALMessages.heartbeat(at: LSN(0x700)),
            .idle(milliseconds: 1_000),
        ])
        try harness.run()

        #expect(heartbeatsAfterQuietSpell == 1)
        #expect(harness.database.heartbeats == 1, "data arrived since: no second heartbeat yet")
        #expect(harness.stream.flushes.contains(LSN(0x700)))
    }
}
