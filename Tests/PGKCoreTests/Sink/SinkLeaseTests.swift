import Foundation
import Testing
@testable import PGKCore

/// `--coordinate postgres` (the default): instances share partitions
/// through PostgreSQL leases; a killed instance's partitions are read
/// again within seconds, and every message lands exactly once.
@Suite(.serialized) struct SinkLeaseTests {
    typealias S = SinkTestSupport
    typealias F = SinkFailureTests

    static func count(_ url: String, _ table: String) -> Int {
        Int((try? S.scalar(url, "SELECT count(*) FROM \(table)")) ?? "0") ?? 0
    }

    @Test func twoInstancesSharePartitionsThroughLeases() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-leases")
        let total = 80_000
        let topic = try F.load(cluster, partitions: 8, count: total)
        let arguments = ["-t", topic, "--table", "leased", "--batch-size", "100", "-v"]
        let logs = try (0..<2).map { try S.temporaryFile("lease\($0).log", contents: "") }
        let first = try S.spawn(cluster, url, arguments, log: logs[0])
        defer { if first.poll() == nil { first.send(signal: SIGKILL); _ = first.wait() } }
        #expect(S.waitUntil(seconds: 60) { Self.count(url, "leased") > 2_000 }, "\(S.log(logs[0]))")
        let second = try S.spawn(cluster, url, arguments, log: logs[1])
        defer { if second.poll() == nil { second.send(signal: SIGKILL); _ = second.wait() } }
        #expect(S.waitUntil(seconds: 30) { S.log(logs[1]).contains("of 8 partition(s) of group") }, "\(S.log(logs[1]))")
        #expect(S.waitUntil(seconds: 120) { Self.count(url, "leased") == total })
        for member in [first, second] { member.send(signal: SIGTERM) }
        for (member, log) in zip([first, second], logs) {
            #expect(member.wait(timeoutMilliseconds: 30_000) == .exited(0), "\(S.log(log))")
        }
        try F.expectExactlyOnce(url, "leased", total: total)
        #expect(S.log(logs[0]).contains("reading 4 of 8 partition(s)") && S.log(logs[1]).contains("reading 4 of 8 partition(s)"),
                "\(S.log(logs[0]))\n\(S.log(logs[1]))")
    }

    @Test func aKilledInstanceIsReplacedWithinSeconds() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-replace")
        let total = 120_000
        let topic = try F.load(cluster, partitions: 4, count: total)
        let arguments = ["-t", topic, "--table", "replaced", "--batch-size", "100"]
        let log = try S.temporaryFile("replace.log", contents: "")
        let first = try S.spawn(cluster, url, arguments, log: log)
        #expect(S.waitUntil(seconds: 60) { Self.count(url, "replaced") > 2_000 }, "\(S.log(log))")
        first.send(signal: SIGKILL)
        _ = first.wait()
        usleep(1_000_000)  // the killed session's backend finishes or aborts its last transaction
        let before = Self.count(url, "replaced")
        #expect(before < total, "the kill came too late")
        let started = Date()
        let second = try S.spawn(cluster, url, arguments, log: log)
        defer { if second.poll() == nil { second.send(signal: SIGKILL); _ = second.wait() } }
        #expect(S.waitUntil(seconds: 30) { Self.count(url, "replaced") > before }, "\(S.log(log))")
        let seconds = Date().timeIntervalSince(started)
        print("sink: a new instance wrote again \(String(format: "%.2f", seconds)) s after a kill -9")
        #expect(S.waitUntil(seconds: 120) { Self.count(url, "replaced") == total })
        second.send(signal: SIGTERM)
        #expect(second.wait(timeoutMilliseconds: 30_000) == .exited(0), "\(S.log(log))")
        try F.expectExactlyOnce(url, "replaced", total: total)
    }
}
