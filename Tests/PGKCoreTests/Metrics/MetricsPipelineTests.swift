import Foundation
import Testing
@testable import PGKCore

/// The hooks in the sink runner and the WAL loop, with the fakes their
/// orchestration tests use: counts and health transitions, in process.
@Suite struct MetricsPipelineTests {
    typealias Sink = SinkRunnerOrchestrationTests
    typealias WAL = WALStreamOrchestrationTests

    @Test func sinkRunnerCountsAndReportsHealth() throws {
        let registry = MetricsRegistry()
        let metrics = SinkMetrics(registry)
        let writer = ScriptedBatchWriter()
        writer.respond = { batch in
            var outcome = WriteOutcome()
            outcome.committed = batch.claims
            outcome.stats.rowsWritten = batch.rows.count - 1
            outcome.stats.deadLettered = 1
            return outcome
        }
        let settings = SinkSettings(topics: ["t"], table: try QualifiedName.parse("t"), map: BuiltinMaps.named("json")!)
        let runner = try SinkRunner(settings: settings, writers: [writer], registry: nil, stop: StopToken(),
                                    metrics: metrics, clock: ManualClock())
        defer { runner.finish() }
        runner.tick()
        #expect(metrics.health.problem == "no partitions assigned")
        runner.assign(Sink.p0, stored: nil)
        for offset in Int64(0)...4 {
            runner.offer(FakeMessage(partition: 0, offset: offset, value: "{\"n\":\(offset)}"), topic: "t")
        }
        runner.flush(wait: true)
        #expect(metrics.health.problem == nil)
        let samples = try MetricsScrape.parse(registry.render())
        #expect(samples["pgk_sink_messages_total"] == 5)
        #expect(samples["pgk_sink_rows_written_total"] == 4)
        #expect(samples["pgk_sink_dead_letters_total"] == 1)
        #expect(samples["pgk_sink_batch_write_seconds_count"] == 1)

        writer.respond = { _ in
            var outcome = WriteOutcome()
            outcome.failure = SinkFailure("relation \"t\" does not exist")
            return outcome
        }
        runner.offer(FakeMessage(partition: 0, offset: 5, value: "{}"), topic: "t")
        runner.flush(wait: true)
        #expect(metrics.health.problem?.hasPrefix("failed: relation") == true, "\(metrics.health.problem ?? "healthy")")
        #expect(metrics.batchSeconds.family.snapshot().first?.series.count == 2)
    }

    @Test func walLoopCountsTransactionsAndReportsReconnectsAsUnhealthy() throws {
        let harness = try WAL.Harness()
        let registry = MetricsRegistry()
        let metrics = WALMetrics(registry)
        harness.streamer.metrics = metrics
        var healthAtOpen: [String?] = []
        let open = harness.streamer.openReplicationStream
        harness.streamer.openReplicationStream = { start in
            healthAtOpen.append(metrics.health.problem)
            return try open(start)
        }
        var whileStreaming: String? = "not reached"
        harness.connection(
            WALMessages.transaction(xid: 1, start: LSN(0x150), end: LSN(0x200), ids: [1])
            + [.idle(milliseconds: 0), .run { whileStreaming = metrics.health.problem }]
            + WALMessages.unfinishedTransaction(xid: 2, start: LSN(0x250), ids: [2])
            + [.lose])
        harness.connection(
            WALMessages.transaction(xid: 2, start: LSN(0x250), end: LSN(0x300), ids: [2])
            + [.idle(milliseconds: 0)])
        try harness.run()

        #expect(healthAtOpen == ["starting: not streaming yet", "replication connection lost; reconnecting"])
        #expect(whileStreaming == nil)
        #expect(metrics.health.problem == "stopping")
        let samples = try MetricsScrape.parse(registry.render())
        #expect(samples["pgk_wal_events_total"] == 3, "the cut-off transaction's event is sent again")
        #expect(samples["pgk_wal_transactions_total"] == 2)
        #expect(samples["pgk_wal_confirmed_lsn"] == Double(0x300))
        #expect(samples["pgk_wal_in_flight_events"] == 0)
        #expect(samples["pgk_wal_delivery_seconds_count"] == 2, "one per committed transaction")
        #expect(samples["pgk_wal_slot_lag_bytes"] == nil, "no side connection here, so no reading")
    }
}
