import CRdKafka
import Foundation
import Testing
@testable import PGKCore

/// `pgk publish` as users run it: the built binary against an in-process
/// mock cluster, read back with a plain consumer.
@Suite struct PublishCommandTests {
    static let orderSchema = #"""
        {"$schema": "http://json-schema.org/draft-07/schema#", "title": "Order", "type": "object",
         "properties": {"id": {"type": "integer"}, "customer": {"type": "string"},
                        "lines": {"type": "array", "items": {"$ref": "#/definitions/Line"}},
                        "note": {"type": "string"}},
         "required": ["id", "customer", "lines"],
         "definitions": {"Line": {"type": "object", "required": ["sku", "qty"],
                                  "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}}}
        """#

    /// A schemas directory with Order:1, removed with the value.
    final class Fixture {
        let cluster: MockKafkaCluster
        let schemas: String
        init() throws {
            cluster = try MockKafkaCluster()
            schemas = try SchemaCatalogTests.directory(["Order.1.json": PublishCommandTests.orderSchema])
        }
        deinit { try? FileManager.default.removeItem(atPath: schemas) }

        func publish(_ arguments: [String], stdin: String? = nil, environment extra: [String: String] = [:]) throws -> CommandResult {
            var environment = TopicsCommandTests.environment
            environment["PGK_SCHEMAS"] = schemas
            environment.merge(extra) { $1 }
            return try CommandRunner.pgk(["publish"] + arguments + ["-b", cluster.bootstrapServers],
                                         environment: environment, stdin: stdin.map { Data($0.utf8) })
        }

        func read(_ topic: String, count: Int, timeoutMilliseconds: Int = 15_000) throws -> [KafkaMessage] {
            // A short session: the mock makes a group's first join wait half of it.
            let config = KafkaTestSupport.config(cluster, [("session.timeout.ms", "3000"), ("heartbeat.interval.ms", "500")])
            let consumer = try KafkaConsumer(config: config, groupID: KafkaTestSupport.uniqueName("g"),
                                             defaults: [("auto.offset.reset", "earliest")])
            try consumer.subscribe([topic])
            return try KafkaTestSupport.consume(consumer, count: count, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    static func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    @Test func publishesValidLinesAsKafkaeskEnvelopesByteForByte() throws {
        let fixture = try Fixture()
        let stream = KafkaTestSupport.uniqueName("orders")
        try fixture.cluster.createTopic(stream, partitions: 1)
        let input = """
            {"id":1,"customer":"ann","lines":[{"sku":"A","qty":2}]}
            {"id": 2, "customer": "bob", "lines": [], "note": "caf\\u00e9 é \\"q\\""}

            {"id":3,"customer":"cy","lines":[{"sku":"B","qty":1},{"sku":"C","qty":5}]}

            """
        let result = try fixture.publish([stream, "--schema", "Order:1"], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("3 sent, 0 rejected, 0 failed"), "\(result.stderr)")
        let messages = try fixture.read(stream, count: 3)
        #expect(messages.map { Self.text($0.value) } == [
            #"{"schema":"Order:1","data":{"id":1,"customer":"ann","lines":[{"sku":"A","qty":2}]}}"#,
            #"{"schema":"Order:1","data":{"id":2,"customer":"bob","lines":[],"note":"caf\u00e9 é \"q\""}}"#,
            #"{"schema":"Order:1","data":{"id":3,"customer":"cy","lines":[{"sku":"B","qty":1},{"sku":"C","qty":5}]}}"#,
        ])
        #expect(messages.allSatisfy { $0.key == nil && $0.headers.isEmpty })
    }

    @Test func rejectsBadLinesWithTheirNumbersAndSendsTheRest() throws {
        let fixture = try Fixture()
        let stream = KafkaTestSupport.uniqueName("orders")
        try fixture.cluster.createTopic(stream, partitions: 1)
        let input = """
            {"id":1,"customer":"ann","lines":[]}
            not json at all
            {"id":3,"customer":"bob","lines":[{"sku":"A","qty":1},{"sku":"B","qty":1},{"sku":"C","qty":1},{"sku":"D","qty":0}]}
            [1, 2]
            {"id":"5","customer":"cy","lines":[]}
            {"id":6,"customer":"dee","lines":[]}
            """
        let result = try fixture.publish([stream, "-s", "Order:1"], stdin: input)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("line 2: not JSON: invalid json at byte 0"), "\(result.stderr)")
        #expect(result.stderr.contains("line 3: /lines/3/qty: 'minimum' 1 at #/definitions/Line/properties/qty"),
                "\(result.stderr)")
        #expect(result.stderr.contains("line 4: the event is not a JSON object"), "\(result.stderr)")
        #expect(result.stderr.contains("line 5: /id: 'type' integer"), "\(result.stderr)")
        #expect(result.stderr.contains("2 sent, 4 rejected, 0 failed"), "\(result.stderr)")
        let messages = try fixture.read(stream, count: 3, timeoutMilliseconds: 5_000)
        #expect(messages.compactMap { Self.text($0.value) } == [
            #"{"schema":"Order:1","data":{"id":1,"customer":"ann","lines":[]}}"#,
            #"{"schema":"Order:1","data":{"id":6,"customer":"dee","lines":[]}}"#,
        ])
    }

    @Test func lineNumbersStayRightAcrossBlocksAndWorkerThreads() throws {
        // 30k lines of ~60 bytes span several 256 KiB blocks.
        let fixture = try Fixture()
        let stream = KafkaTestSupport.uniqueName("orders")
        try fixture.cluster.createTopic(stream, partitions: 4)
        let bad: Set<Int> = [1, 4_999, 13_001, 29_999]
        let input = (1...30_000).map { line in
            bad.contains(line) ? #"{"id":"\#(line)","customer":"c","lines":[]}"#
                : #"{"id":\#(line),"customer":"c\#(line % 7)","lines":[]}"#
        }.joined(separator: "\n")
        let result = try fixture.publish([stream, "-s", "Order:1", "--key-field", "customer"], stdin: input)
        #expect(result.status == 1)
        for line in bad.sorted() {
            #expect(result.stderr.contains("line \(line): /id: 'type' integer"), "line \(line): \(result.stderr)")
        }
        #expect(result.stderr.contains("29996 sent, 4 rejected, 0 failed"), "\(result.stderr)")
        let messages = try fixture.read(stream, count: 29_996, timeoutMilliseconds: 30_000)
        #expect(messages.count == 29_996)
        // Per key (so per partition) the input order holds.
        var lastID: [String: Int] = [:]
        for message in messages {
            let envelope = try Envelope.decode(message.value ?? [])
            let id = Int(envelope.data["id"]?.int64Value ?? -1)
            let key = Self.text(message.key) ?? ""
            #expect(id > lastID[key, default: 0], "key \(key): \(id) after \(lastID[key, default: 0])")
            lastID[key] = id
        }
    }

    @Test func onInvalidFailStopsAtTheFirstBadLineAndKeepsWhatWasSent() throws {
        let fixture = try Fixture()
        let stream = KafkaTestSupport.uniqueName("orders")
        try fixture.cluster.createTopic(stream, partitions: 1)
        let input = """
            {"id":1,"customer":"ann","lines":[]}
            {"id":2,"lines":[]}
            {"id":3,"customer":"cy","lines":[]}
            """
        let result = try fixture.publish([stream, "-s", "Order:1", "--on-invalid", "fail"], stdin: input)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("line 2: /: 'required'"), "\(result.stderr)")
        #expect(!result.stderr.contains("line 3"), "\(result.stderr)")
        let messages = try fixture.read(stream, count: 2, timeoutMilliseconds: 5_000)
        #expect(messages.compactMap { Self.text($0.value) } == [#"{"schema":"Order:1","data":{"id":1,"customer":"ann","lines":[]}}"#])
    }

    @Test func schemaProblemsFailBeforeAnythingIsSent() throws {
        let fixture = try Fixture()
        let stream = KafkaTestSupport.uniqueName("orders")
        let event = #"{"id":1,"customer":"ann","lines":[]}"#
        let unknown = try fixture.publish([stream, "-s", "Order:2"], stdin: event)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("unknown schema Order:2: no file \(fixture.schemas)/Order.2.json"), "\(unknown.stderr)")
        let noDirectory = try fixture.publish([stream, "-s", "Order:1", "--schemas", fixture.schemas + "/missing"], stdin: event)
        #expect(noDirectory.status == 1)
        #expect(noDirectory.stderr.contains("schema directory \(fixture.schemas)/missing does not exist"), "\(noDirectory.stderr)")
        try "{\"type\": ".write(toFile: fixture.schemas + "/Broken.1.json", atomically: true, encoding: .utf8)
        let broken = try fixture.publish([stream, "-s", "Broken:1"], stdin: event)
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("schema \(fixture.schemas)/Broken.1.json is not valid JSON"), "\(broken.stderr)")
        let badID = try fixture.publish([stream, "-s", "Order"], stdin: event)
        #expect(badID.status == 64, "\(badID.stderr)")
        #expect(badID.stderr.contains("expected NAME:VERSION"), "\(badID.stderr)")
        let noSchema = try fixture.publish([stream], stdin: event)
        #expect(noSchema.status == 64, "\(noSchema.stderr)")
        #expect(try fixture.read(stream, count: 1, timeoutMilliseconds: 2_000).isEmpty)
    }

    @Test func rawEnvelopesAreValidatedAgainstTheSchemaTheyName() throws {
        let fixture = try Fixture()
        let stream = KafkaTestSupport.uniqueName("orders")
        try fixture.cluster.createTopic(stream, partitions: 1)
        let good = #"{"schema":"Order:1","data":{"id":1,"customer":"ann","lines":[]}}"#
        let input = [
            good,
            #"{"schema":"Order:1","data":{"id":2}}"#,
            #"{"schema":"Invoice:1","data":{}}"#,
            #"{"data":{}}"#,
            #"{"schema":"Order","data":{}}"#,
            "{oops",
        ].joined(separator: "\n")
        let result = try fixture.publish([stream, "--raw"], stdin: input)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("line 2: Order:1: /: 'required'"), "\(result.stderr)")
        #expect(result.stderr.contains("line 3: unknown schema Invoice:1: no file \(fixture.schemas)/Invoice.1.json"), "\(result.stderr)")
        #expect(result.stderr.contains(#"line 4: not a kafkaesk envelope: no "schema" member"#), "\(result.stderr)")
        #expect(result.stderr.contains("line 5: bad schema id 'Order'"), "\(result.stderr)")
        #expect(result.stderr.contains("line 6: not JSON"), "\(result.stderr)")
        let messages = try fixture.read(stream, count: 2, timeoutMilliseconds: 5_000)
        #expect(messages.compactMap { Self.text($0.value) } == [good])
    }

    @Test func keysFromAFieldOrADelimiterAndHeadersOnEveryMessage() throws {
        let fixture = try Fixture()
        let byField = KafkaTestSupport.uniqueName("orders")
        let byDelimiter = KafkaTestSupport.uniqueName("orders")
        try fixture.cluster.createTopic("app." + byField, partitions: 1)
        try fixture.cluster.createTopic(byDelimiter, partitions: 1)
        let fieldRun = try fixture.publish(
            [byField, "-s", "Order:1", "--key-field", "customer", "-H", "source=pgk", "-H", "trace=1",
             "--topic-prefix", "app."],
            stdin: #"{"id":1,"customer":"ann","lines":[]}"# + "\n" + #"{"id":2,"customer":"bob","lines":[]}"#)
        #expect(fieldRun.status == 0, "\(fieldRun.stderr)")
        let keyed = try fixture.read("app." + byField, count: 2)
        #expect(keyed.map { Self.text($0.key) } == ["ann", "bob"])
        #expect(keyed.allSatisfy { $0.headers == [KafkaHeader(key: "source", string: "pgk"), KafkaHeader(key: "trace", string: "1")] })

        let numeric = try fixture.publish([byDelimiter, "-s", "Order:1", "--key-field", "lines.0.qty"],
                                          stdin: #"{"id":1,"customer":"ann","lines":[]}"#)
        #expect(numeric.status == 1)
        #expect(numeric.stderr.contains("line 1: key field 'lines.0.qty' is missing"), "\(numeric.stderr)")

        let delimited = try fixture.publish([byDelimiter, "-s", "Order:1", "-K", "|"],
                                            stdin: #"k-1|{"id":1,"customer":"ann","lines":[]}"# + "\n" + #"{"id":2,"customer":"b|c","lines":[]}"#,
                                            environment: ["PGK_TOPIC_PREFIX": ""])
        #expect(delimited.status == 1, "the second line splits at its first '|', which leaves no JSON")
        #expect(delimited.stderr.contains("line 2: not JSON"), "\(delimited.stderr)")
        let split = try fixture.read(byDelimiter, count: 2, timeoutMilliseconds: 5_000)
        #expect(split.map { Self.text($0.key) } == ["k-1"])
        #expect(split.map { Self.text($0.value) } == [#"{"schema":"Order:1","data":{"id":1,"customer":"ann","lines":[]}}"#])
    }

    @Test func topicPrefixComesFromTheEnvironmentAndDataFromTheCommandLine() throws {
        let fixture = try Fixture()
        let stream = KafkaTestSupport.uniqueName("orders")
        try fixture.cluster.createTopic("env." + stream, partitions: 1)
        let result = try fixture.publish([stream, "-s", "Order:1", "--data", #"{"id": 9, "customer": "x", "lines": []}"#],
                                         environment: ["PGK_TOPIC_PREFIX": "env."])
        #expect(result.status == 0, "\(result.stderr)")
        let messages = try fixture.read("env." + stream, count: 1)
        #expect(messages.map { Self.text($0.value) } == [#"{"schema":"Order:1","data":{"id":9,"customer":"x","lines":[]}}"#])
        let bad = try fixture.publish([stream, "-s", "Order:1", "--data", #"{"id": 9}"#], environment: ["PGK_TOPIC_PREFIX": "env."])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("line 1: /: 'required'"), "\(bad.stderr)")
    }

    @Test func undeliveredMessagesAreReportedByLineAndExitOne() throws {
        let fixture = try Fixture()
        let stream = KafkaTestSupport.uniqueName("orders")
        try fixture.cluster.createTopic(stream, partitions: 1)
        // Produce is API key 0; a permanent, non-retriable error.
        fixture.cluster.failNextRequests(apiKey: 0, error: RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        let result = try fixture.publish([stream, "-s", "Order:1"],
                                         stdin: "\n{\"id\":1}\n" + #"{"id":3,"customer":"ann","lines":[]}"#)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("line 2: /: 'required'"), "\(result.stderr)")
        #expect(result.stderr.contains("line 3: not delivered to \(stream):"), "\(result.stderr)")
        #expect(result.stderr.contains("TOPIC_AUTHORIZATION_FAILED"), "\(result.stderr)")
        #expect(result.stderr.contains("0 sent, 1 rejected, 1 failed"), "\(result.stderr)")
    }

    @Test func createTopicSaysTheMockCannotCreateTopics() throws {
        // librdkafka's mock cluster has no CreateTopics; the real-broker
        // tier covers creation. Here: a clear error, and nothing sent.
        let fixture = try Fixture()
        let stream = KafkaTestSupport.uniqueName("orders")
        let result = try fixture.publish([stream, "-s", "Order:1", "--create-topic"],
                                         stdin: #"{"id":1,"customer":"ann","lines":[]}"#)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("does not support CreateTopics"), "\(result.stderr)")
        #expect(try fixture.read(stream, count: 1, timeoutMilliseconds: 2_000).isEmpty)
        // An existing topic is used as it is, with no CreateTopics request.
        let existingStream = KafkaTestSupport.uniqueName("orders")
        try fixture.cluster.createTopic(existingStream, partitions: 2)
        let existing = try fixture.publish([existingStream, "-s", "Order:1", "--create-topic"],
                                           stdin: #"{"id":1,"customer":"ann","lines":[]}"#)
        #expect(existing.status == 0, "\(existing.stderr)")
    }
}
