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
}
