import Foundation
import Testing
@testable import PGKCore

/// Third-party peer: kcat (/usr/bin/kcat, librdkafka-based) talks to the
/// same in-process mock cluster over the real protocol.
@Suite struct KafkaInteropTests {
    static let kcat = "/usr/bin/kcat"

    static func requireKcat() throws {
        try #require(FileManager.default.isExecutableFile(atPath: kcat), "kcat is required at \(kcat) for interop tests")
    }

    @Test func kcatProducesAndWeConsumeExactly() throws {
        try Self.requireKcat()
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("kcat-in")
        try cluster.createTopic(topic, partitions: 1)
        let input = "k1:v1\nk2:\u{00e9}t\u{00e9} \"quoted\"\n:no key\nk4:\n"
        let (status, _, stderr) = try KafkaTestSupport.run(Self.kcat, ["-P", "-b", cluster.bootstrapServers, "-t", topic, "-p", "0",
                                                                      "-K", ":", "-H", "source=kcat", "-Z"], input: Data(input.utf8))
        try #require(status == 0, "kcat failed: \(stderr)")
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil)
        try consumer.assign([KafkaTopicPartition(topic: topic, partition: 0): .beginning])
        let messages = try KafkaTestSupport.consume(consumer, count: 4)
        try #require(messages.count == 4)
        #expect(messages.map { $0.key.map { String(decoding: $0, as: UTF8.self) } } == ["k1", "k2", nil, "k4"])
        #expect(messages.map { $0.value.map { String(decoding: $0, as: UTF8.self) } } == ["v1", "\u{00e9}t\u{00e9} \"quoted\"", "no key", nil])
        #expect(messages.allSatisfy { $0.headers == [KafkaHeader(key: "source", string: "kcat")] })
        #expect(try KafkaTestSupport.consume(consumer, count: 1, timeoutMilliseconds: 300).isEmpty)
    }

    @Test func weProduceAndKcatConsumesExactly() throws {
        try Self.requireKcat()
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("kcat-out")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        try producer.produce(topic: topic, key: Array("a".utf8), value: Array("{\"n\":1}".utf8),
                             headers: [KafkaHeader(key: "h1", string: "x"), KafkaHeader(key: "h2", string: "y")],
                             timestamp: 1_650_000_000_000)
        try producer.produce(topic: topic, key: Array("b".utf8), value: nil)
        try producer.produce(topic: topic, key: nil, value: Array("plain".utf8))
        try producer.flush(timeoutMilliseconds: 10_000)

        let (status, out, stderr) = try KafkaTestSupport.run(Self.kcat, ["-C", "-b", cluster.bootstrapServers, "-t", topic,
                                                                        "-o", "beginning", "-e", "-q", "-J"])
        try #require(status == 0, "kcat failed: \(stderr)")
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n")
        try #require(lines.count == 3, "kcat printed: \(lines)")
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects[0]["key"] as? String == "a")
        #expect(objects[0]["payload"] as? String == "{\"n\":1}")
        #expect(objects[0]["headers"] as? [String] == ["h1", "x", "h2", "y"])
        #expect((objects[0]["ts"] as? NSNumber)?.int64Value == 1_650_000_000_000)
        #expect(objects[1]["key"] as? String == "b")
        #expect(objects[1]["payload"] is NSNull)
        #expect(objects[2]["key"] is NSNull)
        #expect(objects[2]["payload"] as? String == "plain")
        #expect(objects.map { ($0["offset"] as? NSNumber)?.intValue } == [0, 1, 2])
    }
}
