import Foundation
import Testing
@testable import PGKCore

/// Crashes, restarts and rebalances in the middle of a stream: afterwards
/// the table holds every message exactly once.
@Suite(.serialized) struct SinkFailureTests {
    typealias S = SinkTestSupport

    static func load(_ cluster: MockKafkaCluster, partitions: Int, count: Int) throws -> String {
        let topic = KafkaTestSupport.uniqueName("load")
        try cluster.createTopic(topic, partitions: partitions)
        try S.produce(cluster, topic, (0..<count).map { (nil, Array("{\"n\": \($0), \"pad\": \"0123456789\"}".utf8)) })
        return topic
    }

    static func expectExactlyOnce(_ url: String, _ table: String, total: Int) throws {
        #expect(try S.rows(url, "SELECT count(*), count(DISTINCT (partition, \"offset\")), count(DISTINCT payload->>'n') FROM \(table)")
                == [[String(total), String(total), String(total)]])
        #expect(try S.scalar(url, "SELECT count(*) FROM \(table)_errors") == "0")
    }

    @Test func killDashNineMidStreamThenRestart() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-kill")
        let total = 60_000
        let topic = try Self.load(cluster, partitions: 8, count: total)
        let log = try S.temporaryFile("kill.log", contents: "")
        let child = try S.spawn(cluster, url, ["-t", topic, "--table", "killed", "--batch-size", "100"], log: log)
        let started = S.waitUntil(seconds: 60) { Int((try? S.scalar(url, "SELECT count(*) FROM killed")) ?? "0") ?? 0 > 2_000 }
        child.send(signal: SIGKILL)
        #expect(child.wait(timeoutMilliseconds: 10_000) == .signaled(SIGKILL))
        #expect(started, "\(S.log(log))")
        let partial = Int(try S.scalar(url, "SELECT count(*) FROM killed") ?? "0") ?? 0
        #expect(partial < total, "the kill came too late to be mid-stream")
        let rerun = try S.sink(cluster, url, ["-t", topic, "--table", "killed", "--until-end"], timeoutSeconds: 300)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        try Self.expectExactlyOnce(url, "killed", total: total)
    }

    @Test func postgresRestartedMidRun() throws {
        let cluster = try MockKafkaCluster()
        let postgres = try TestPostgres.privateCluster()
        defer { postgres.shutdown() }
        let url = try postgres.createDatabase("restart")
        let total = 60_000
        let topic = try Self.load(cluster, partitions: 8, count: total)
        let log = try S.temporaryFile("restart.log", contents: "")
        let child = try S.spawn(cluster, url, ["-t", topic, "--table", "restarted", "--batch-size", "100", "--until-end"], log: log)
        defer { if child.poll() == nil { child.send(signal: SIGKILL); _ = child.wait() } }
        #expect(S.waitUntil(seconds: 60) { Int((try? S.scalar(url, "SELECT count(*) FROM restarted")) ?? "0") ?? 0 > 2_000 },
                "\(S.log(log))")
        try postgres.restart()
        #expect(child.wait(timeoutMilliseconds: 300_000) == .exited(0), "\(S.log(log))")
        #expect(S.log(log).contains("retrying"), "the restart should have interrupted a batch: \(S.log(log))")
        try Self.expectExactlyOnce(url, "restarted", total: total)
    }

    @Test func twoInstancesInOneGroupShareTheLoadThroughARebalance() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-group")
        let total = 80_000
        let topic = try Self.load(cluster, partitions: 8, count: total)
        let arguments = ["-t", topic, "--table", "shared", "--batch-size", "100", "-v", "--coordinate", "kafka"]
        let firstLog = try S.temporaryFile("first.log", contents: "")
        let secondLog = try S.temporaryFile("second.log", contents: "")
        let first = try S.spawn(cluster, url, arguments, log: firstLog)
        defer { if first.poll() == nil { first.send(signal: SIGKILL); _ = first.wait() } }
        #expect(S.waitUntil(seconds: 60) { Int((try? S.scalar(url, "SELECT count(*) FROM shared")) ?? "0") ?? 0 > 2_000 },
                "\(S.log(firstLog))")
        let second = try S.spawn(cluster, url, arguments, log: secondLog)
        defer { if second.poll() == nil { second.send(signal: SIGKILL); _ = second.wait() } }
        let done = S.waitUntil(seconds: 240) { (try? S.scalar(url, "SELECT count(*) FROM shared")) == String(total) }
        usleep(500_000)
        first.send(signal: SIGTERM)
        second.send(signal: SIGTERM)
        #expect(first.wait(timeoutMilliseconds: 30_000) == .exited(0), "\(S.log(firstLog))")
        #expect(second.wait(timeoutMilliseconds: 30_000) == .exited(0), "\(S.log(secondLog))")
        #expect(done, "first: \(S.log(firstLog).suffix(2_000))\nsecond: \(S.log(secondLog).suffix(2_000))")
        try Self.expectExactlyOnce(url, "shared", total: total)
        // Both wrote: the second really took partitions over.
        let written = [firstLog, secondLog].map { path -> Int in
            let summary = S.log(path).split(separator: "\n").last { $0.contains("rows written") && $0.contains(" in ") } ?? ""
            let words = summary.split(separator: " ")
            guard let index = words.firstIndex(of: "rows") else { return -1 }
            return Int(words[index - 1].trimmingCharacters(in: .punctuationCharacters)) ?? -1
        }
        #expect(written.allSatisfy { $0 > 0 } && written.reduce(0, +) == total, "rows written per instance: \(written)")
        #expect(S.log(firstLog).contains("revoked"), "the first instance never saw a rebalance")
    }

    /// `--until-end` joins no group: it runs at once beside a member that
    /// holds every partition, and the offset fence keeps it exactly once.
    @Test func untilEndRunsBesideAGroupMemberExactlyOnce() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-beside")
        let total = 40_000
        let topic = try Self.load(cluster, partitions: 4, count: total / 2)
        let log = try S.temporaryFile("member.log", contents: "")
        let member = try S.spawn(cluster, url, ["-t", topic, "--table", "beside", "--batch-size", "500"], log: log)
        defer { if member.poll() == nil { member.send(signal: SIGKILL); _ = member.wait() } }
        #expect(S.waitUntil(seconds: 60) { Int((try? S.scalar(url, "SELECT count(*) FROM beside")) ?? "0") ?? 0 > 1_000 },
                "\(S.log(log))")
        try S.produce(cluster, topic, (total / 2..<total).map { (nil, Array("{\"n\": \($0), \"pad\": \"0123456789\"}".utf8)) })
        let started = Date()
        let run = try S.sink(cluster, url, ["-t", topic, "--table", "beside", "--batch-size", "500", "--until-end", "-v"],
                             timeoutSeconds: 120)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("without joining group"), "\(run.stderr)")
        // It did not wait for the member's partitions: it read them itself.
        #expect(Date().timeIntervalSince(started) < 30, "\(run.stderr)")
        #expect(S.waitUntil(seconds: 60) { (try? S.scalar(url, "SELECT count(*) FROM beside")) == String(total) })
        member.send(signal: SIGTERM)
        #expect(member.wait(timeoutMilliseconds: 30_000) == .exited(0), "\(S.log(log))")
        try Self.expectExactlyOnce(url, "beside", total: total)
    }

    @Test func brokerDownMidRunIsWaitedOut() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-broker")
        let total = 60_000
        let topic = try Self.load(cluster, partitions: 8, count: total)
        let log = try S.temporaryFile("broker.log", contents: "")
        // A small read-ahead, so the outage really stops the flow.
        let child = try S.spawn(cluster, url, ["-t", topic, "--table", "outage", "--batch-size", "100", "--until-end",
                                               "-X", "queued.min.messages=2000"], log: log)
        defer { if child.poll() == nil { child.send(signal: SIGKILL); _ = child.wait() } }
        #expect(S.waitUntil(seconds: 60) { Int((try? S.scalar(url, "SELECT count(*) FROM outage")) ?? "0") ?? 0 > 2_000 },
                "\(S.log(log))")
        cluster.setBrokersUp(false)
        usleep(4_000_000)
        let during = Int(try S.scalar(url, "SELECT count(*) FROM outage") ?? "0") ?? 0
        cluster.setBrokersUp(true)
        #expect(during < total, "the outage came too late to matter")
        #expect(child.wait(timeoutMilliseconds: 300_000) == .exited(0), "\(S.log(log))")
        try Self.expectExactlyOnce(url, "outage", total: total)
        #expect(S.log(log).contains("warning"), "the outage should be logged: \(S.log(log))")
    }
}
