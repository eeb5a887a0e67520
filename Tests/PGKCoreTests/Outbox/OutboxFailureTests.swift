import Foundation
import Testing
@testable import PGKCore

/// Crashes, failover, signals and outages, with the real binary.
@Suite struct OutboxFailureTests {
    static func fill(_ fixture: OutboxFixture, rows: Int, partitions: Int = 4) throws -> Set<String> {
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id"])
        try fixture.db.execute("INSERT INTO t SELECT i, repeat('x', 50) FROM generate_series(1, \(rows)) i")
        try fixture.kafka.createTopic(fixture.topic("t"), partitions: partitions)
        return try fixture.queuedUUIDs()
    }

    @Test func killNineWhileShippingThenRestartLosesNothing() throws {
        let fixture = try OutboxFixture("ob_kill9")
        let expected = try Self.fill(fixture, rows: 30_000)
        let first = try fixture.spawn(["cdc", "outbox", "run", "--batch-size", "500"], name: "first")
        #expect(try OutboxFixture.waitUntil { try fixture.producedCount(fixture.topic("t")) >= 2_000 },
                "shipping started; log: \(fixture.log(of: "first"))")
        first.send(signal: SIGKILL)
        #expect(first.wait(timeoutMilliseconds: 5_000) == .signaled(SIGKILL))
        let left = try fixture.queueDepth()
        try #require(left > 0, "the kill must land mid-queue for this test to mean anything")

        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty", "--batch-size", "500"], timeoutSeconds: 120)
        #expect(try fixture.queueDepth() == 0)
        let messages = try fixture.consume(fixture.topic("t"), atLeast: expected.count, timeoutMilliseconds: 60_000)
        let shipped = try messages.map { try ShippedEvent($0).uuid }
        #expect(Set(shipped) == expected, "missing \(expected.subtracting(shipped).count) event(s)")
        // Only the batch in flight at the kill may arrive twice.
        #expect(shipped.count - expected.count <= 500, "\(shipped.count - expected.count) duplicates")
    }

    @Test func aStandbyTakesOverWithinFiveSecondsOfTheLeadersDeath() throws {
        let fixture = try OutboxFixture("ob_failover")
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id"])
        try fixture.kafka.createTopic(fixture.topic("t"), partitions: 1)
        let leader = try fixture.spawn(["cdc", "outbox", "run"], name: "leader")
        #expect(OutboxFixture.waitUntil { fixture.log(of: "leader").contains("outbox: leading") })
        let standby = try fixture.spawn(["cdc", "outbox", "run"], name: "standby")
        #expect(OutboxFixture.waitUntil { fixture.log(of: "standby").contains("standing by") },
                "standby log: \(fixture.log(of: "standby"))")
        try fixture.db.execute("INSERT INTO t VALUES (1)")
        #expect(try OutboxFixture.waitUntil { try fixture.producedCount(fixture.topic("t")) == 1 })
        #expect(try OutboxLeadership.holder(queue: OutboxSchema.eventsTable, on: fixture.db) != nil)

        leader.send(signal: SIGKILL)
        let killedAt = SystemClock.shared.nowMilliseconds
        try fixture.db.execute("INSERT INTO t VALUES (2)")
        let delivered = try OutboxFixture.waitUntil(timeoutMilliseconds: 10_000) {
            try fixture.producedCount(fixture.topic("t")) >= 2
        }
        let took = SystemClock.shared.nowMilliseconds - killedAt
        print("outbox failover: the standby shipped \(took) ms after the leader was killed")
        #expect(delivered && took < 5_000, "the standby shipped \(took) ms after the kill; log: \(fixture.log(of: "standby"))")
        #expect(fixture.log(of: "standby").contains("outbox: leading"))
        #expect(try fixture.consume(fixture.topic("t"), atLeast: 2).map { try ShippedEvent($0).key } == ["1", "2"])

        standby.send(signal: SIGTERM)
        #expect(standby.wait(timeoutMilliseconds: 15_000) == .exited(0))
    }

    @Test func sigtermFinishesTheBatchInFlightAndExitsZero() throws {
        let fixture = try OutboxFixture("ob_sigterm")
        let expected = try Self.fill(fixture, rows: 20_000)
        let shipper = try fixture.spawn(["cdc", "outbox", "run", "--batch-size", "1000"], name: "shipper")
        #expect(try OutboxFixture.waitUntil { try fixture.producedCount(fixture.topic("t")) >= 1_000 })
        shipper.send(signal: SIGTERM)
        #expect(shipper.wait(timeoutMilliseconds: 30_000) == .exited(0), "log: \(fixture.log(of: "shipper"))")
        // Whatever reached Kafka was deleted, and nothing else: restarting
        // ships the rest exactly once.
        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty"], timeoutSeconds: 120)
        let shipped = try fixture.consume(fixture.topic("t"), atLeast: expected.count, timeoutMilliseconds: 60_000)
            .map { try ShippedEvent($0).uuid }
        #expect(Set(shipped) == expected)
        #expect(shipped.count == expected.count, "a graceful stop ships nothing twice")
    }

    @Test func aBrokerOutageIsWaitedOutAndLogged() throws {
        let fixture = try OutboxFixture("ob_broker")
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id"])
        try fixture.kafka.createTopic(fixture.topic("t"), partitions: 1)
        let shipper = try fixture.spawn(["cdc", "outbox", "run", "-X", "reconnect.backoff.max.ms=500"], name: "shipper")
        try fixture.db.execute("INSERT INTO t VALUES (1)")
        #expect(try OutboxFixture.waitUntil { try fixture.producedCount(fixture.topic("t")) == 1 })

        fixture.kafka.setBrokersUp(false)
        try fixture.db.execute("INSERT INTO t VALUES (2)")
        usleep(3_000_000)
        #expect(shipper.poll() == nil, "still running during the outage: \(fixture.log(of: "shipper"))")
        #expect(try fixture.queueDepth() == 1, "the undelivered event stays queued")
        fixture.kafka.setBrokersUp(true)
        #expect(try OutboxFixture.waitUntil(timeoutMilliseconds: 30_000) {
            try fixture.queueDepth() == 0
        }, "delivered after the outage; log: \(fixture.log(of: "shipper"))")
        #expect(try fixture.consume(fixture.topic("t"), atLeast: 2).map { try ShippedEvent($0).key } == ["1", "2"])
        shipper.send(signal: SIGTERM)
        #expect(shipper.wait(timeoutMilliseconds: 15_000) == .exited(0))
        print("broker outage log:\n" + fixture.log(of: "shipper"))
    }

    @Test func aDatabaseRestartIsRetriedWithBackoff() throws {
        let cluster = try TestPostgres.privateCluster()
        defer { cluster.shutdown() }
        let fixture = try OutboxFixture("ob_dbrestart", url: try cluster.createDatabase("outbox_restart"))
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id"])
        try fixture.kafka.createTopic(fixture.topic("t"), partitions: 1)
        let shipper = try fixture.spawn(["cdc", "outbox", "run"], name: "shipper")
        try fixture.db.execute("INSERT INTO t VALUES (1)")
        #expect(try OutboxFixture.waitUntil { try fixture.producedCount(fixture.topic("t")) == 1 })

        try cluster.stop()
        usleep(1_500_000)
        #expect(shipper.poll() == nil, "still running while the database is down")
        try cluster.start()
        let db = try PostgresConnection(conninfo: fixture.url)
        try db.execute("INSERT INTO t VALUES (2)")
        #expect(try OutboxFixture.waitUntil(timeoutMilliseconds: 30_000) {
            try fixture.producedCount(fixture.topic("t")) == 2
        }, "shipping resumed; log: \(fixture.log(of: "shipper"))")
        #expect(fixture.log(of: "shipper").contains("retrying in"))
        print("database restart log:\n" + fixture.log(of: "shipper"))
        shipper.send(signal: SIGTERM)
        #expect(shipper.wait(timeoutMilliseconds: 15_000) == .exited(0))
    }
}
