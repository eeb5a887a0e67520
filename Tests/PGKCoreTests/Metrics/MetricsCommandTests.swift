import Foundation
import Testing
@testable import PGKCore

/// `--metrics 127.0.0.1:0` on each long-running verb, scraped while it runs
/// against a throwaway database and the mock Kafka cluster.
@Suite struct MetricsCommandTests {
    typealias S = SinkTestSupport
    typealias M = MetricsScrape

    /// Stops a child with SIGTERM and requires exit 0.
    private func stop(_ child: ChildProcess, log: () -> String) {
        child.send(signal: SIGTERM)
        #expect(child.wait(timeoutMilliseconds: 30_000) == .exited(0), "\(log())")
    }

    @Test func sinkCountsMessagesRowsDeadLettersBatchesAndLag() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("metrics-sink")
        let topic = "metrics_sink"
        try cluster.createTopic(topic, partitions: 2)
        try S.produce(cluster, topic, values: (0..<299).map { "{\"n\": \($0)}" } + ["not json"])
        let log = try S.temporaryFile("sink.log", contents: "")
        let child = try S.spawn(cluster, url, ["-t", topic, "--table", "ms", "--metrics", "127.0.0.1:0"], log: log)
        defer { if child.poll() == nil { child.send(signal: SIGKILL); _ = child.wait() } }
        let base = try #require(M.announcedURL { S.log(log) }, "\(S.log(log))")
        let samples = M.waitFor(base) { $0["pgk_sink_messages_total"] == 300 && $0["pgk_sink_rows_written_total"] == 299 }
        #expect(samples["pgk_sink_messages_total"] == 300, "\(samples)")
        #expect(samples["pgk_sink_rows_written_total"] == 299, "\(samples)")
        #expect(samples["pgk_sink_dead_letters_total"] == 1, "\(samples)")
        let batches = samples["pgk_sink_batch_write_seconds_count"] ?? 0
        #expect(batches >= 1, "\(samples)")
        #expect(samples[M.key("pgk_sink_batch_write_seconds_bucket", ["le": "+Inf"])] == batches)
        #expect(try S.scalar(url, "SELECT count(*) FROM ms") == "299")
        // Lag is refreshed once a second from the cached watermarks.
        let lag = M.waitFor(base, seconds: 30) { samples in
            (0..<2).allSatisfy { samples[M.key("pgk_sink_consumer_lag_messages", ["topic": topic, "partition": "\($0)"])] == 0 }
        }
        #expect(lag[M.key("pgk_sink_consumer_lag_messages", ["topic": topic, "partition": "0"])] == 0, "\(lag)")
        #expect(try M.get(base, "/healthz").status == 200)
        // New messages move the counter on.
        try S.produce(cluster, topic, values: (0..<20).map { "{\"m\": \($0)}" })
        let more = M.waitFor(base) { $0["pgk_sink_rows_written_total"] == 319 }
        #expect(more["pgk_sink_messages_total"] == 320, "\(more)")
        stop(child) { S.log(log) }
        #expect(S.log(log).contains("metrics on http://127.0.0.1:"))
    }

    @Test func walRunReportsEventsConfirmedLSNLagAndDelivery() throws {
        let fx = try WALFixture("metrics_wal")
        defer { fx.close() }
        try fx.db.execute("CREATE TABLE mw (id int PRIMARY KEY, v text)")
        try fx.setup("mw")
        let log = try S.temporaryFile("wal.log", contents: "")
        let child = try ChildProcess.spawn(RepositoryPaths.binary,
                                           fx.arguments("run", ["--snapshot", "never", "--metrics", "127.0.0.1:0"]),
                                           environment: WALFixture.environment, stdout: .null,
                                           stderr: .file(path: log, append: false))
        defer { if child.poll() == nil { child.send(signal: SIGKILL); _ = child.wait() } }
        let base = try #require(M.announcedURL { S.log(log) }, "\(S.log(log))")
        #expect(S.waitUntil(seconds: 60) { (try? M.get(base, "/healthz").status) == 200 }, "streaming is healthy: \(S.log(log))")
        for batch in 0..<5 {
            try fx.db.execute("INSERT INTO mw SELECT g, 'x' FROM generate_series(\(batch * 10 + 1), \(batch * 10 + 10)) g")
        }
        let written = try fx.currentLSN()
        let samples = M.waitFor(base) {
            $0["pgk_wal_events_total"] == 50 && ($0["pgk_wal_confirmed_lsn"] ?? 0) >= Double(written.value)
                && $0["pgk_wal_delivery_seconds_count"] == 5
        }
        #expect(samples["pgk_wal_events_total"] == 50, "\(samples)")
        #expect(samples["pgk_wal_transactions_total"] == 5, "\(samples)")
        #expect((samples["pgk_wal_confirmed_lsn"] ?? 0) >= Double(written.value), "\(samples) vs \(written)")
        #expect(samples["pgk_wal_delivery_seconds_count"] == 5, "one observation per transaction: \(samples)")
        #expect(samples[M.key("pgk_wal_delivery_seconds_bucket", ["le": "+Inf"])] == 5)
        #expect(samples["pgk_wal_in_flight_events"] == 0, "\(samples)")
        // The slot's lag is read from the server every few seconds; once
        // the slot confirmed everything it is small (only WAL written since).
        let lag = M.waitFor(base, seconds: 30) { ($0["pgk_wal_slot_lag_bytes"].map { $0 < 65_536 }) ?? false }
        #expect(lag["pgk_wal_slot_lag_bytes"].map { $0 >= 0 && $0 < 65_536 } == true, "\(lag)")
        #expect(try WALKafka.count(fx.kafka, fx.topic("mw")) == 50)
        stop(child) { S.log(log) }
    }

    @Test func outboxRunReportsShippedDepthAgeAndLeadership() throws {
        let fixture = try OutboxFixture("ob_metrics")
        try fixture.db.execute("CREATE TABLE om (id int PRIMARY KEY, v text)")
        try fixture.kafka.createTopic(fixture.topic("om"), partitions: 1)
        try fixture.pgkOK(["cdc", "outbox", "setup", "om", "id"])
        try fixture.db.execute("INSERT INTO om SELECT g, 'x' FROM generate_series(1, 25) g")
        let child = try fixture.spawn(["cdc", "outbox", "run", "--metrics", "127.0.0.1:0"], name: "leader")
        let base = try #require(M.announcedURL { fixture.log(of: "leader") }, "\(fixture.log(of: "leader"))")
        let samples = M.waitFor(base) { $0["pgk_outbox_events_shipped_total"] == 25 && $0["pgk_outbox_queue_depth"] == 0 }
        #expect(samples["pgk_outbox_events_shipped_total"] == 25, "\(samples)")
        #expect(samples["pgk_outbox_queue_depth"] == 0, "\(samples)")
        #expect(samples["pgk_outbox_oldest_event_age_seconds"] == 0, "\(samples)")
        #expect(samples["pgk_outbox_leader"] == 1, "\(samples)")
        #expect(try M.get(base, "/healthz").status == 200)

        // A second process stands by: leadership 0, and healthy.
        let standby = try fixture.spawn(["cdc", "outbox", "run", "--metrics", "127.0.0.1:0"], name: "standby")
        let standbyBase = try #require(M.announcedURL { fixture.log(of: "standby") }, "\(fixture.log(of: "standby"))")
        #expect(S.waitUntil(seconds: 30) { fixture.log(of: "standby").contains("standing by") }, "\(fixture.log(of: "standby"))")
        let standing = try M.samples(standbyBase)
        #expect(standing["pgk_outbox_leader"] == 0, "\(standing)")
        #expect(try M.get(standbyBase, "/healthz").status == 200)
        stop(standby) { fixture.log(of: "standby") }

        try fixture.db.execute("INSERT INTO om SELECT g, 'y' FROM generate_series(26, 30) g")
        let after = M.waitFor(base) { $0["pgk_outbox_events_shipped_total"] == 30 && $0["pgk_outbox_queue_depth"] == 0 }
        #expect(after["pgk_outbox_events_shipped_total"] == 30, "\(after)")
        stop(child) { fixture.log(of: "leader") }
    }

    @Test func outboxAgeAndDepthOfAQueueNobodyShips() throws {
        let fixture = try OutboxFixture("ob_metrics_age")
        try fixture.db.execute("CREATE TABLE oa (id int PRIMARY KEY)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "oa", "id"])
        // Another session holds the leadership, so this process stands by
        // and only watches the queue age.
        try fixture.db.execute("INSERT INTO oa SELECT g FROM generate_series(1, 7) g")
        let holder = try PostgresConnection(conninfo: fixture.url)
        #expect(try OutboxLeadership.tryAcquire(queue: OutboxSchema.eventsTable, on: holder))
        let child = try fixture.spawn(["cdc", "outbox", "run", "--metrics", "127.0.0.1:0"], name: "waiting")
        let base = try #require(M.announcedURL { fixture.log(of: "waiting") }, "\(fixture.log(of: "waiting"))")
        usleep(1_500_000)
        let samples = M.waitFor(base, seconds: 30) { ($0["pgk_outbox_oldest_event_age_seconds"] ?? 0) >= 1 }
        #expect(samples["pgk_outbox_queue_depth"] == 7, "\(samples)")
        #expect((samples["pgk_outbox_oldest_event_age_seconds"] ?? 0) >= 1, "\(samples)")
        #expect(samples["pgk_outbox_leader"] == 0, "\(samples)")
        stop(child) { fixture.log(of: "waiting") }
    }
}
