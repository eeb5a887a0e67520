import Foundation
import Testing
@testable import PGKCore

/// `pgk subscribe --exec`: one process per message, retries with history,
/// timeouts, and stopping without committing a failed message.
@Suite struct SubscribeHandlerTests {
    typealias F = SubscribeCommandTests.Fixture

    static func envelopes(_ ids: [Int]) -> [String?] {
        ids.map { #"{"schema":"Order:1","data":{"id":\#($0),"customer":"c","lines":[]}}"# }
    }

    static func scratchFile() -> String {
        NSTemporaryDirectory() + "/pgk-handler-" + String(UInt32.random(in: 0...UInt32.max))
    }

    @Test func theHandlerGetsEachMessageOnStdinAndWhereItCameFromInItsEnvironment() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("exec")
        try fx.cluster.createTopic(topic, partitions: 1)
        try fx.produce(topic, Self.envelopes([1, 2]))
        let log = Self.scratchFile()
        defer { try? FileManager.default.removeItem(atPath: log) }
        let command = #"printf '%s %s %s %s ' "$PGK_TOPIC" "$PGK_PARTITION" "$PGK_OFFSET" "$PGK_SCHEMA" >> "#
            + log + "; cat >> " + log
        let run = try fx.subscribe([topic, "-g", KafkaTestSupport.uniqueName("g"), "--exec", command, "--until-end"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.isEmpty, "with a handler nothing goes to stdout")
        let written = try String(contentsOfFile: log, encoding: .utf8)
        #expect(written == """
            \(topic) 0 0 Order:1 {"id":1,"customer":"c","lines":[]}
            \(topic) 0 1 Order:1 {"id":2,"customer":"c","lines":[]}

            """)
    }

    @Test func aFailingHandlerIsRetriedThenDeadLetteredWithEveryAttempt() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("fail")
        try fx.cluster.createTopic(topic, partitions: 1)
        let dlq = topic + ".dlq"
        try fx.cluster.createTopic(dlq, partitions: 1)
        try fx.produce(topic, Self.envelopes([1, 2]))
        // Fails for id 1 only, saying why on stderr.
        let command = #"grep -q '"id":1,' && { echo "cannot bill 1" >&2; exit 3; }; exit 0"#
        let run = try fx.subscribe([topic, "-g", KafkaTestSupport.uniqueName("g"), "--exec", command, "--retries", "2",
                                    "--backoff", "10ms", "--dead-letter", dlq, "--until-end"])
        #expect(run.status == 0, "\(run.stderr)")
        let letters = try fx.publish.read(dlq, count: 1)
        let letter = try #require(letters.first)
        #expect(SubscribeCommandTests.header(letter, "pgk-error-code") == "handler-failed")
        #expect(SubscribeCommandTests.header(letter, "pgk-source-offset") == "0")
        let history = try JSON.decode(try #require(SubscribeCommandTests.header(letter, "pgk-retry-history")))
        guard case .array(let attempts) = history else { Issue.record("history is not an array: \(history)"); return }
        #expect(attempts.count == 3)
        #expect(attempts.allSatisfy { $0["status"] == "exited with status 3" && $0["stderr"] == "cannot bill 1\n" })
        #expect(run.stderr.contains("dead-lettered"), "\(run.stderr)")
    }

    @Test func onErrorStopCommitsNothingPastTheFailureSoItComesBack() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("stop")
        try fx.cluster.createTopic(topic, partitions: 1)
        try fx.produce(topic, Self.envelopes([1, 2, 3]))
        let group = KafkaTestSupport.uniqueName("g")
        let seen = Self.scratchFile()
        defer { try? FileManager.default.removeItem(atPath: seen) }
        let failing = #"IN=$(cat); printf '%s\n' "$IN" >> "# + seen + #"; case "$IN" in *'"id":2,'*) exit 1;; esac"#
        let first = try fx.subscribe([topic, "-g", group, "--exec", failing, "--until-end"])
        #expect(first.status == 1, "\(first.stderr)")
        #expect(first.stderr.contains("\(topic)[0] offset 1") && first.stderr.contains("stopping without committing"),
                "\(first.stderr)")
        // The next run starts at the failed message, not after it.
        let second = try fx.subscribe([topic, "-g", group, "--exec", "cat >> " + seen, "--until-end"])
        #expect(second.status == 0, "\(second.stderr)")
        let ids = try String(contentsOfFile: seen, encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSON.decode(String($0))["id"] }
        #expect(ids == [.int(1), .int(2), .int(2), .int(3)])
    }

    @Test func aHandlerThatHangsIsKilledAtTheTimeoutAndCountsAsAFailure() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("hang")
        try fx.cluster.createTopic(topic, partitions: 1)
        let dlq = topic + ".dlq"
        try fx.cluster.createTopic(dlq, partitions: 1)
        try fx.produce(topic, Self.envelopes([1]))
        let started = Date()
        let run = try fx.subscribe([topic, "-g", KafkaTestSupport.uniqueName("g"), "--exec", "sleep 30",
                                    "--timeout", "300ms", "--dead-letter", dlq, "--until-end"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Date().timeIntervalSince(started) < 25, "the sleeping handler was not killed")
        let letter = try #require(try fx.publish.read(dlq, count: 1).first)
        let history = SubscribeCommandTests.header(letter, "pgk-retry-history") ?? ""
        #expect(history.contains("timed out after 300 ms"), "\(history)")
    }
}
