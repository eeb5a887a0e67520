import Foundation
import Testing
@testable import PGKCore

/// Every verb that talks to a broker or a database fails with a clear
/// error and status 1 when it cannot reach one at startup, and never hangs.
@Suite struct UnreachableServiceTests {
    static let refusedDatabase = "postgresql://postgres:secret@127.0.0.1:1/nowhere"
    static let refusedBroker = "127.0.0.1:1"

    func expectFailsFast(_ arguments: [String], mentioning text: String, within seconds: Double) throws {
        let started = Date()
        let result = try CommandRunner.pgk(arguments, environment: ContractTests.environment, timeoutSeconds: seconds + 10)
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 1, "\(arguments): \(result.stderr)")
        #expect(result.stderr.contains("pgk: error: "), "\(result.stderr)")
        #expect(result.stderr.contains(text), "\(arguments): \(result.stderr)")
        #expect(!result.stderr.contains("secret"), "the password leaked: \(result.stderr)")
        #expect(elapsed < seconds, "\(arguments) took \(elapsed) s")
    }

    @Test func unreachableDatabase() throws {
        let cluster = try MockKafkaCluster()
        let kafka = ["-b", cluster.bootstrapServers]
        let database = ["-d", Self.refusedDatabase]
        for verb in [["sink", "-t", "t"], ["cdc", "outbox", "run"], ["cdc", "outbox", "status"],
                     ["cdc", "outbox", "setup", "t", "id"], ["cdc", "wal", "run"], ["cdc", "wal", "setup", "--tables", "t"],
                     ["cdc", "wal", "status"]] {
            try expectFailsFast(verb + database + kafka, mentioning: "could not connect to postgresql://postgres:", within: 15)
        }
    }

    @Test func unreachableBroker() throws {
        let database = try TestPostgres.freshDatabase("unreachable")
        let connection = try PostgresConnection(conninfo: database)
        try connection.execute("CREATE TABLE t (id int PRIMARY KEY)")
        let setup = try CommandRunner.pgk(["cdc", "outbox", "setup", "t", "id", "-d", database],
                                          environment: ContractTests.environment)
        try #require(setup.status == 0, "\(setup.stderr)")
        let slot = "unreachable_\(UInt32.random(in: 0...UInt32.max))"
        let walSetup = try CommandRunner.pgk(["cdc", "wal", "setup", "--tables", "t", "--slot", slot, "-d", database],
                                             environment: ContractTests.environment)
        try #require(walSetup.status == 0, "\(walSetup.stderr)")
        defer { _ = try? connection.execute("SELECT pg_drop_replication_slot($1)", [slot]) }
        let broker = ["-b", Self.refusedBroker, "-d", database]
        for verb in [["sink", "-t", "events"], ["topics", "list"], ["topics", "tail", "t"], ["cdc", "outbox", "run"],
                     ["cdc", "wal", "run", "--slot", slot]] {
            try expectFailsFast(verb + broker, mentioning: Self.refusedBroker, within: 25)
        }
    }
}
