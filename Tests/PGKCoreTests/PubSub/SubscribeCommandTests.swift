import Foundation
import Testing
@testable import PGKCore

/// `pgk subscribe` as users run it: the built binary on the mock cluster,
/// fed by `pgk publish`, by raw producers and by kafkaesk itself.
@Suite struct SubscribeCommandTests {
    typealias P = PublishCommandTests

    final class Fixture {
        let publish = try! P.Fixture()
        var cluster: MockKafkaCluster { publish.cluster }

        func subscribe(_ arguments: [String], timeoutSeconds: Double = 60) throws -> CommandResult {
            var environment = TopicsCommandTests.environment
            environment["PGK_SCHEMAS"] = publish.schemas
            // A short session: the mock makes a group's first join wait half of it.
            return try CommandRunner.pgk(["subscribe"] + arguments + ["-b", cluster.bootstrapServers]
                                         + SinkTestSupport.groupProperties,
                                         environment: environment, timeoutSeconds: timeoutSeconds)
        }

        func produce(_ topic: String, _ values: [String?]) throws {
            let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
            for value in values { try producer.produce(topic: topic, partition: 0, key: nil, value: value.map { Array($0.utf8) }) }
            try producer.flush(timeoutMilliseconds: 10_000)
        }
    }

    static let valid = [
        #"{"id": 1, "customer": "ann", "lines": [{"sku": "A", "qty": 2}]}"#,
        #"{"id": 2, "customer": "bob", "lines": []}"#,
    ]

    static func header(_ message: KafkaMessage, _ key: String) -> String? {
        message.headers.first { $0.key == key }.flatMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
    }

    @Test func acceptsValidEnvelopesAndDeadLettersEverythingElseWithItsReason() throws {
        let fx = Fixture()
        let topic = KafkaTestSupport.uniqueName("orders")
        try fx.cluster.createTopic(topic, partitions: 1)
        let published = try fx.publish.publish([topic, "-s", "Order:1"], stdin: Self.valid.joined(separator: "\n"))
        try #require(published.status == 0, "\(published.stderr)")
        try fx.produce(topic, [
            "not json",
            #"{"id": 3}"#,
            #"{"schema":"Invoice:1","data":{"id":1}}"#,
            #"{"schema":"Order:1","data":{"id":"x","customer":"c","lines":[]}}"#,
            nil,
            #"{"schema":"Order:1","data":{"id":4,"customer":"dee","lines":[]}}"#,
        ])
        let group = KafkaTestSupport.uniqueName("g")
        let dlq = topic + ".dlq"
        try fx.cluster.createTopic(dlq, partitions: 1)
        let run = try fx.subscribe([topic, "-g", group, "--schema", "Order", "--dead-letter", dlq, "--until-end"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == """
            {"id":1,"customer":"ann","lines":[{"sku":"A","qty":2}]}
            {"id":2,"customer":"bob","lines":[]}
            {"id":4,"customer":"dee","lines":[]}

            """, "\(run.stderr)")
        let letters = try fx.publish.read(dlq, count: 5)
        #expect(letters.map { Self.header($0, "pgk-error-code") }
                == ["not-json", "not-envelope", "unknown-schema", "invalid", "tombstone"])
        #expect(letters.map { Self.header($0, "pgk-source-offset") } == ["2", "3", "4", "5", "6"])
        #expect(Self.header(letters[3], "pgk-error")?.contains("/id: 'type'") == true, "\(letters[3].headers)")
        #expect(letters[0].value == Array("not json".utf8), "the original value travels unchanged")

        // Offsets were committed: the group starts after what it handled.
        let again = try fx.subscribe([topic, "-g", group, "--schema", "Order", "--dead-letter", dlq, "--until-end"])
        #expect(again.status == 0 && again.stdout.isEmpty, "\(again.stdout) \(again.stderr)")
    }

    @Test func withoutADeadLetterTopicRejectsAreSkippedCountedAndExitOne() throws {
        let fx = Fixture()
        let topic = KafkaTestSupport.uniqueName("skip")
        try fx.cluster.createTopic(topic, partitions: 1)
        try fx.produce(topic, ["nope", #"{"schema":"Order:1","data":{"id":1,"customer":"a","lines":[]}}"#])
        let run = try fx.subscribe([topic, "-g", KafkaTestSupport.uniqueName("g"), "--until-end", "-o", "envelope"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdout == #"{"schema":"Order:1","data":{"id":1,"customer":"a","lines":[]}}"# + "\n")
        #expect(run.stderr.contains("skipped \(topic)[0] offset 0: not JSON"), "\(run.stderr)")
    }

    @Test func recordOutputCarriesWhereTheMessageCameFrom() throws {
        let fx = Fixture()
        let topic = KafkaTestSupport.uniqueName("rec")
        try fx.cluster.createTopic(topic, partitions: 1)
        let published = try fx.publish.publish([topic, "-s", "Order:1", "-K", ":", "-H", "h=v"],
                                               stdin: "k1:" + Self.valid[0])
        try #require(published.status == 0, "\(published.stderr)")
        let run = try fx.subscribe([topic, "-g", KafkaTestSupport.uniqueName("g"), "-o", "record", "-n", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        let record = try JSON.decode(run.stdout.trimmingCharacters(in: .newlines))
        #expect(record["topic"] == .string(topic) && record["partition"] == .int(0) && record["offset"] == .int(0))
        #expect(record["key"] == "k1" && record["schema"] == "Order:1")
        #expect(record[path: "data", "customer"] == "ann")
        #expect(record["headers"] == .array([.object(ValueObject([("key", "h"), ("value", "v")]))]))
        #expect(record["timestamp"]?.int64Value != nil)
    }

    @Test func globsPickTopicsAndThePrefixApplies() throws {
        let fx = Fixture()
        let base = KafkaTestSupport.uniqueName("g")
        for suffix in ["a1", "b2", "c3"] {
            try fx.cluster.createTopic("pre." + base + suffix, partitions: 1)
            try fx.produce("pre." + base + suffix, [#"{"schema":"Order:1","data":{"from":"\#(suffix)"}}"#])
        }
        let run = try fx.subscribe([base + "[ab]?", "--topic-prefix", "pre.", "-g", KafkaTestSupport.uniqueName("g"),
                                    "-n", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Set(run.stdout.split(separator: "\n")) == [#"{"from":"a1"}"#, #"{"from":"b2"}"#])
    }

    @Test func kafkaeskPublishesAndPgkSubscribes() throws {
        let fx = Fixture()
        let stream = KafkaTestSupport.uniqueName("ks")
        try fx.cluster.createTopic("ks." + stream, partitions: 1)
        let check = try CommandRunner.run("python3", ["-c", "import kafkaesk, pydantic"])
        try #require(check.status == 0, "python3 cannot import kafkaesk: run scripts/install-deps --test\n\(check.stderr)")
        let script = RepositoryPaths.path("Tests/Fixtures/kafkaesk/publish_orders.py")
        let sent = try CommandRunner.run("python3", [script, fx.cluster.bootstrapServers, "ks.", stream], timeoutSeconds: 120)
        try #require(sent.status == 0, "kafkaesk could not publish: \(sent.stderr)")
        // No --schema: kafkaesk sends "note": null, which Order.1.json (a string) rejects.
        let run = try fx.subscribe([stream, "--topic-prefix", "ks.", "-g", KafkaTestSupport.uniqueName("g"),
                                    "-o", "record", "-n", "3"])
        #expect(run.status == 0, "\(run.stderr)")
        let records = try run.stdout.split(separator: "\n").map { try JSON.decode(String($0)) }
        #expect(records.map { $0[path: "data", "id"] } == [.int(1), .int(2), .int(3)], "\(run.stdout)")
        #expect(records.map { $0["key"] } == ["ann", "bob", .null])
        #expect(records.allSatisfy { $0["schema"] == "Order:1" })
    }
}
