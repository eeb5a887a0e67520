import Testing
@testable import PGKCore

@Suite struct KafkaRoundTripTests {
    @Test func produceThenConsumeKeepsKeysHeadersTimestampsAndTombstones() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("roundtrip")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        var reports: [KafkaDeliveryReport] = []
        producer.reportSuccesses = true
        producer.onDelivery = { reports.append($0) }

        let first = try producer.produce(topic: topic, key: Array("k1".utf8), value: Array("v1".utf8),
                                         headers: [KafkaHeader(key: "h", string: "x"), KafkaHeader(key: "n", value: nil)],
                                         timestamp: 1_600_000_000_123)
        let second = try producer.produce(topic: topic, key: Array("k2".utf8), value: nil)
        let third = try producer.produce(topic: topic, key: nil, value: [])
        try producer.flush(timeoutMilliseconds: 10_000)
        #expect(producer.deliveredCount == 3)
        #expect(producer.failedCount == 0)
        #expect(reports.map(\.messageID) == [first, second, third])
        #expect(reports.map(\.offset) == [0, 1, 2])

        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil)
        try consumer.assign([KafkaTopicPartition(topic: topic, partition: 0): .beginning])
        let messages = try KafkaTestSupport.consume(consumer, count: 3)
        try #require(messages.count == 3)
        #expect(messages[0].key == Array("k1".utf8))
        #expect(messages[0].value == Array("v1".utf8))
        #expect(messages[0].headers == [KafkaHeader(key: "h", string: "x"), KafkaHeader(key: "n", value: nil)])
        #expect(messages[0].timestamp == 1_600_000_000_123)
        #expect(messages[0].topic == topic)
        #expect(messages[1].key == Array("k2".utf8))
        #expect(messages[1].value == nil)
        #expect(messages[2].key == nil)
        #expect(messages[2].value == [])
        #expect(messages.map(\.offset) == [0, 1, 2])
    }
}

@Suite struct MockKafkaClusterTests {
    @Test func aFixedBootstrapPortRelaysToTheMock() throws {
        let cluster = try MockKafkaCluster(bootstrapPort: 0)
        #expect(cluster.bootstrapServers != cluster.brokerAddresses)
        #expect(cluster.bootstrapServers.hasPrefix("127.0.0.1:"))
        let topic = KafkaTestSupport.uniqueName("relay")
        try cluster.createTopic(topic, partitions: 2)
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        for i in 0..<20 { try producer.produce(topic: topic, partition: Int32(i % 2), key: nil, value: Array("m\(i)".utf8)) }
        try producer.flush(timeoutMilliseconds: 10_000)
        let admin = try KafkaAdmin(config: KafkaTestSupport.config(cluster))
        #expect(try admin.watermarks(topic: topic).map(\.watermarks.high) == [10, 10])
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil)
        try consumer.assign([KafkaTopicPartition(topic: topic, partition: 1): .beginning])
        #expect(try KafkaTestSupport.consume(consumer, count: 10).map(\.offset) == Array(0..<10))
    }

    @Test func aTakenBootstrapPortIsAClearError() throws {
        let first = try MockKafkaCluster(bootstrapPort: 0)
        let port = UInt16(first.bootstrapServers.split(separator: ":").last!)!
        let error = #expect(throws: RuntimeError.self) { _ = try MockKafkaCluster(bootstrapPort: port) }
        #expect(error?.message.contains("cannot listen on 127.0.0.1:\(port)") == true)
    }
}
