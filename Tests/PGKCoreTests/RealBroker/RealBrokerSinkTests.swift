import Foundation
import Testing
@testable import PGKCore

/// `pgk sink` against a real Kafka-compatible broker (Tansu) with a newer
/// librdkafka: a `--until-end` run assigns itself the partitions (no group
/// join; 20,000 messages took 24 s through the group before) and writes
/// every message once.
@Suite(.enabled(if: RealBrokerTier.isEnabled, RealBrokerTier.disabledReason))
struct RealBrokerSinkTests {
    @Test func untilEndWritesEveryMessageOnceWithoutJoiningAGroup() throws {
        let broker = try TansuBroker()
        let url = try TestPostgres.freshDatabase("tansu-sink")
        let topic = KafkaTestSupport.uniqueName("sink")
        let created = try broker.pgk(["topics", "create", topic, "--partitions", "4"])
        try #require(created.status == 0, "\(created.stderr)\n\(broker.log)")
        let lines = (0..<20_000).map { #"{"n":\#($0),"pad":"0123456789"}"# }.joined(separator: "\n") + "\n"
        let produced = try broker.pgk(["topics", "produce", topic], stdin: lines, timeoutSeconds: 120)
        try #require(produced.status == 0, "\(produced.stderr)")
        let started = Date()
        let run = try broker.pgk(["sink", "-t", topic, "--table", "tansu_sink", "--until-end", "-v", "-d", url],
                                 timeoutSeconds: 120)
        let seconds = Date().timeIntervalSince(started)
        #expect(run.status == 0, "\(run.stderr)\n\(broker.log)")
        #expect(run.stderr.contains("without joining group"), "\(run.stderr)")
        #expect(try SinkTestSupport.rows(url, "SELECT count(*), count(DISTINCT (partition, \"offset\")), "
                                         + "count(DISTINCT payload->>'n') FROM tansu_sink")
                == [["20000", "20000", "20000"]], "after \(seconds) s: \(run.stderr)")
        // A second run finds everything stored and writes nothing.
        let again = try broker.pgk(["sink", "-t", topic, "--table", "tansu_sink", "--until-end", "-d", url])
        #expect(again.status == 0 && again.stderr.contains("0 rows written"), "\(again.stderr)")
    }

    /// After a kill -9 a new instance writes again within seconds: its
    /// partitions are leased in PostgreSQL, not held by a dead group member
    /// (83 s through the group before).
    @Test func aKilledInstanceIsReplacedWithinSeconds() throws {
        let broker = try TansuBroker()
        let url = try TestPostgres.freshDatabase("tansu-restart")
        let topic = KafkaTestSupport.uniqueName("restart")
        let created = try broker.pgk(["topics", "create", topic, "--partitions", "4"])
        try #require(created.status == 0, "\(created.stderr)\n\(broker.log)")
        let total = 40_000
        let lines = (0..<total).map { #"{"n":\#($0)}"# }.joined(separator: "\n") + "\n"
        let produced = try broker.pgk(["topics", "produce", topic], stdin: lines, timeoutSeconds: 120)
        try #require(produced.status == 0, "\(produced.stderr)")
        let log = try SinkTestSupport.temporaryFile("tansu-restart.log", contents: "")
        func spawn() throws -> ChildProcess {
            try ChildProcess.spawn(RepositoryPaths.binary, ["sink", "-t", topic, "--table", "restarted", "--batch-size", "100",
                                                            "-b", broker.bootstrap, "-d", url],
                                   environment: broker.pgkEnvironment, stdout: .null, stderr: .file(path: log, append: true))
        }
        func count() -> Int { Int((try? SinkTestSupport.scalar(url, "SELECT count(*) FROM restarted")) ?? "0") ?? 0 }
        let first = try spawn()
        #expect(SinkTestSupport.waitUntil(seconds: 60) { count() > 1_000 }, "\(SinkTestSupport.log(log))")
        first.send(signal: SIGKILL)
        _ = first.wait()
        usleep(1_000_000)  // the killed session's backend finishes or aborts its last transaction
        let before = count()
        #expect(before < total, "the kill came too late")
        let started = Date()
        let second = try spawn()
        defer { if second.poll() == nil { second.send(signal: SIGKILL); _ = second.wait() } }
        #expect(SinkTestSupport.waitUntil(seconds: 30) { count() > before }, "\(SinkTestSupport.log(log))")
        print("sink on Tansu: a new instance wrote again \(String(format: "%.2f", Date().timeIntervalSince(started))) s after a kill -9")
        #expect(SinkTestSupport.waitUntil(seconds: 120) { count() == total }, "\(SinkTestSupport.log(log))")
        #expect(try SinkTestSupport.rows(url, "SELECT count(DISTINCT payload->>'n') FROM restarted") == [[String(total)]])
    }
}
