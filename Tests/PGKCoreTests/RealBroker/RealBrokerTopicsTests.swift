import Foundation
import Testing
@testable import PGKCore

/// `pgk topics …` as users run it — the built binary — against a real
/// Kafka-compatible broker (Tansu), each test with its own broker.
///
/// Tansu 0.6.0 quirks these tests work around, none of them pgk's:
/// - ListOffsets(latest) answers the last record batch's base offset + 1,
///   so a partition's high watermark is low when its last batch held more
///   than one record. Producers here send one record per batch
///   (`-X batch.num.messages=1`) so watermarks, tail's end and lag are exact.
/// - DescribeConfigs labels a topic's own configs DEFAULT_CONFIG, so
///   describe needs --all-configs to show them.
/// - A group's first join waits about half of session.timeout.ms; the
///   consumer uses 6 s instead of the default 45 s.
@Suite(.enabled(if: RealBrokerTier.isEnabled, RealBrokerTier.disabledReason))
struct RealBrokerTopicsTests {
    static let oneRecordPerBatch = ["-X", "batch.num.messages=1"]

    @Test func createListDescribeAlterDelete() throws {
        let broker = try TansuBroker()
        let topic = KafkaTestSupport.uniqueName("admin")

        let created = try broker.pgk(["topics", "create", topic, "--partitions", "3",
                                      "--config", "retention.ms=86400000", "--config", "cleanup.policy=delete"])
        try #require(created.status == 0, "\(created.stderr)\n\(broker.log)")
        #expect(created.stderr.contains("created topic \(topic)"))
        for _ in 0..<2 {
            let again = try broker.pgk(["topics", "create", topic, "--partitions", "3", "--if-not-exists"])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stderr.contains("already exists"), "\(again.stderr)")
        }
        let duplicate = try broker.pgk(["topics", "create", topic])
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr.contains("TOPIC_ALREADY_EXISTS"), "\(duplicate.stderr)")
        let fresh = KafkaTestSupport.uniqueName("admin-ine")
        let createdIfMissing = try broker.pgk(["topics", "create", fresh, "--if-not-exists"])
        #expect(createdIfMissing.status == 0, "\(createdIfMissing.stderr)")
        #expect(createdIfMissing.stderr.contains("created topic \(fresh)"), "\(createdIfMissing.stderr)")

        let table = try broker.pgk(["topics", "list"])
        #expect(table.status == 0, "\(table.stderr)")
        let rows = table.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.first == ["TOPIC", "PARTITIONS", "REPLICAS", "ERROR"])
        #expect(rows.contains([Substring(topic), "3", "1"]), "\(table.stdout)")
        #expect(rows.contains { $0.first == Substring(fresh) }, "\(table.stdout)")

        let json = try broker.pgk(["topics", "list", "--output", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let listed = try #require(elements(try JSON.decode(json.stdout)))
        let entry = try #require(listed.first { $0["topic"] == .string(topic) }, "\(json.stdout)")
        #expect(entry["partitions"] == .int(3))
        #expect(entry["replicas"] == .int(1))
        #expect(entry["error"] == .null)

        let described = try describe(broker, topic)
        let partitions = try #require(elements(described["partitions"]))
        #expect(partitions.map { $0["partition"] } == [.int(0), .int(1), .int(2)])
        let leader = try #require(partitions.first?["leader"])
        for partition in partitions {
            #expect(partition["leader"] == leader)
            #expect(partition["replicas"] == .array([leader]))
            #expect(partition["isr"] == .array([leader]))
            #expect(partition["low"] == .int(0))
            #expect(partition["high"] == .int(0))
            #expect(partition["messages"] == .int(0))
        }
        #expect(try configs(described) == ["cleanup.policy": "delete", "retention.ms": "86400000"])

        let text = try broker.pgk(["topics", "describe", topic])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.hasPrefix("Topic: \(topic)  Partitions: 3\n"), "\(text.stdout)")
        #expect(text.stdout.contains("PARTITION  LEADER  REPLICAS  ISR  LOW  HIGH  MESSAGES"), "\(text.stdout)")

        // Set one override, remove another, keep the third.
        let altered = try broker.pgk(["topics", "alter", topic, "--config", "retention.ms=3600000",
                                      "--config", "segment.bytes=1048576", "--delete-config", "cleanup.policy"])
        #expect(altered.status == 0, "\(altered.stderr)")
        #expect(try configs(describe(broker, topic)) == ["retention.ms": "3600000", "segment.bytes": "1048576"])
        let alteredAgain = try broker.pgk(["topics", "alter", topic, "--config", "retention.ms=60000"])
        #expect(alteredAgain.status == 0, "\(alteredAgain.stderr)")
        #expect(try configs(describe(broker, topic)) == ["retention.ms": "60000", "segment.bytes": "1048576"])

        let deleted = try broker.pgk(["topics", "delete", topic, fresh])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(deleted.stderr.contains("deleted topic \(topic)"), "\(deleted.stderr)")
        let afterDelete = try broker.pgk(["topics", "list", "-o", "json"])
        #expect(afterDelete.status == 0, "\(afterDelete.stderr)")
        let names = try elements(JSON.decode(afterDelete.stdout))?.compactMap { $0["topic"]?.stringValue } ?? []
        #expect(!names.contains(topic) && !names.contains(fresh), "\(names)")
        let gone = try broker.pgk(["topics", "describe", topic])
        #expect(gone.status == 1)
        #expect(gone.stderr.contains("UNKNOWN_TOPIC_OR_PART"), "\(gone.stderr)")
        let deleteMissing = try broker.pgk(["topics", "delete", topic])
        #expect(deleteMissing.status == 1)
        #expect(deleteMissing.stderr.contains("UNKNOWN_TOPIC_OR_PART"), "\(deleteMissing.stderr)")
        let deleteIfExists = try broker.pgk(["topics", "delete", topic, "--if-exists"])
        #expect(deleteIfExists.status == 0, "\(deleteIfExists.stderr)")
    }

    @Test func produceThenTailRoundTripsEveryMessage() throws {
        let broker = try TansuBroker()
        let topic = KafkaTestSupport.uniqueName("roundtrip")
        let created = try broker.pgk(["topics", "create", topic, "--partitions", "2"])
        try #require(created.status == 0, "\(created.stderr)\n\(broker.log)")

        let count = 300
        let input = (1...count).map { "key-\($0):value \($0) ü" }.joined(separator: "\n") + "\n"
        let produced = try broker.pgk(["topics", "produce", topic, "-K", ":", "-H", "source=pgk"] + Self.oneRecordPerBatch,
                                      stdin: input)
        try #require(produced.status == 0, "\(produced.stderr)\n\(broker.log)")

        let tail = try broker.pgk(["topics", "tail", topic, "--format", "%p|%o|%k|%s|%h\\n"])
        try #require(tail.status == 0, "\(tail.stderr)")
        let lines = tail.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == count, "tail printed \(lines.count) of \(count) messages")
        var received: [String: String] = [:]
        var offsets: [String: [Int]] = [:]
        for line in lines {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            try #require(fields.count == 5, "\(line)")
            #expect(fields[4] == "source=pgk")
            received[fields[2]] = fields[3]
            offsets[fields[0], default: []].append(Int(fields[1]) ?? -1)
        }
        #expect(received == Dictionary(uniqueKeysWithValues: (1...count).map { ("key-\($0)", "value \($0) ü") }))
        // Each partition's offsets run 0, 1, 2, … in order: nothing lost or repeated.
        for (partition, seen) in offsets {
            #expect(seen == Array(0..<seen.count), "partition \(partition)")
        }
        #expect(offsets.count == 2, "keys spread over both partitions: \(offsets.keys)")

        // Watermarks agree with what tail read.
        let described = try describe(broker, topic)
        for partition in try #require(elements(described["partitions"])) {
            let id = try #require(partition["partition"]?.int64Value)
            let read = offsets[String(id)]?.count ?? 0
            #expect(partition["low"] == .int(0))
            #expect(partition["high"] == .int(Int64(read)), "partition \(id)")
            #expect(partition["messages"] == .int(Int64(read)), "partition \(id)")
        }

        let json = try broker.pgk(["topics", "tail", topic, "--json", "--packing", "string", "-p", "1", "-n", "3"])
        #expect(json.status == 0, "\(json.stderr)")
        let records = try json.stdout.split(separator: "\n").map { try JSON.decode(String($0)) }
        #expect(records.count == 3)
        for (index, record) in records.enumerated() {
            #expect(record["topic"] == .string(topic))
            #expect(record["partition"] == .int(1))
            #expect(record["offset"] == .int(Int64(index)))
            #expect(record["key"]?.stringValue.map { received[$0] } == record["value"]?.stringValue)
            #expect(record["headers"] == .array([.object(ValueObject([("key", "source"), ("value", "pgk")]))]))
        }
    }

    @Test func groupsShowCommittedOffsetsAndLag() throws {
        let broker = try TansuBroker()
        let topic = KafkaTestSupport.uniqueName("groups")
        let group = KafkaTestSupport.uniqueName("group")
        let created = try broker.pgk(["topics", "create", topic, "--partitions", "2"])
        try #require(created.status == 0, "\(created.stderr)\n\(broker.log)")
        for (partition, count) in [(0, 20), (1, 10)] {
            let input = (0..<count).map { "p\(partition)-\($0)" }.joined(separator: "\n") + "\n"
            let produced = try broker.pgk(["topics", "produce", topic, "-p", String(partition)] + Self.oneRecordPerBatch,
                                          stdin: input)
            try #require(produced.status == 0, "\(produced.stderr)")
        }

        // A real group member: joins, reads everything, then commits 15 of
        // partition 0's 20 messages and all 10 of partition 1's.
        let consumer = try broker.python(Self.committingConsumer, [topic, group, "30", "0:15,1:10"])
        try #require(consumer.status == 0, "consumer: \(consumer.stdout)\(consumer.stderr)\n\(broker.log)")

        let one = try broker.pgk(["topics", "groups", group, "-o", "json"])
        try #require(one.status == 0, "\(one.stderr)")
        let rows = try #require(elements(try JSON.decode(one.stdout)), "\(one.stdout)")
        #expect(rows.map { $0["partition"] } == [.int(0), .int(1)], "\(one.stdout)")
        #expect(rows.map { $0["committed"] } == [.int(15), .int(10)])
        #expect(rows.map { $0["high"] } == [.int(20), .int(10)])
        #expect(rows.map { $0["lag"] } == [.int(5), .int(0)])
        #expect(rows.allSatisfy { $0["group"] == .string(group) && $0["topic"] == .string(topic) })

        // Without GROUP, every group the broker lists (ListGroups).
        let all = try broker.pgk(["topics", "groups", "--topic", topic])
        #expect(all.status == 0, "\(all.stderr)")
        let lines = all.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(lines.first == ["GROUP", "TOPIC", "PARTITION", "COMMITTED", "HIGH", "LAG"])
        #expect(lines.contains([Substring(group), Substring(topic), "0", "15", "20", "5"]), "\(all.stdout)")
        #expect(lines.contains([Substring(group), Substring(topic), "1", "10", "10", "0"]), "\(all.stdout)")

        let otherTopic = try broker.pgk(["topics", "groups", group, "--topic", "no-such-topic", "-o", "json"])
        #expect(otherTopic.status == 0, "\(otherTopic.stderr)")
        #expect(try JSON.decode(otherTopic.stdout) == .array([]))
    }

    /// argv: bootstrap topic group expected-count commits("p:offset,…").
    static let committingConsumer = """
        import sys, time
        from confluent_kafka import Consumer, TopicPartition
        bootstrap, topic, group, expected, commits = sys.argv[1:6]
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                             "auto.offset.reset": "earliest", "enable.auto.commit": False,
                             "session.timeout.ms": 6000, "max.poll.interval.ms": 6000})
        consumer.subscribe([topic])
        seen, deadline = 0, time.time() + 90
        while seen < int(expected) and time.time() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                sys.exit("consume error: %s" % message.error())
            seen += 1
        if seen < int(expected):
            sys.exit("read %d of %s messages in 90 s" % (seen, expected))
        offsets = [TopicPartition(topic, int(p), int(o)) for p, o in (c.split(":") for c in commits.split(","))]
        for result in consumer.commit(offsets=offsets, asynchronous=False):
            if result.error:
                sys.exit("commit error: %s" % result.error)
        consumer.close()
        print("read", seen)
        """

    private func describe(_ broker: TansuBroker, _ topic: String) throws -> Value {
        let result = try broker.pgk(["topics", "describe", topic, "--all-configs", "--output", "json"])
        try #require(result.status == 0, "\(result.stderr)")
        return try JSON.decode(result.stdout)
    }

    /// name → value of a describe document's configs.
    private func configs(_ described: Value) throws -> [String: String] {
        let entries = try #require(elements(described["configs"]), "no configs in \(described)")
        var result: [String: String] = [:]
        for entry in entries {
            result[try #require(entry["name"]?.stringValue)] = entry["value"]?.stringValue
        }
        return result
    }
}

private func elements(_ value: Value?) -> [Value]? {
    if case .array(let items)? = value { return items }
    return nil
}
