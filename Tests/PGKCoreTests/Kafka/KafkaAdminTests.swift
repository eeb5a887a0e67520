import CRdKafka
import Testing
@testable import PGKCore

@Suite struct KafkaAdminTests {
    @Test func metadataListsBrokersTopicsPartitionsLeadersReplicas() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("meta")
        try cluster.createTopic(topic, partitions: 3)
        let admin = try KafkaAdmin(config: KafkaTestSupport.config(cluster))
        let md = try admin.metadata(topic: topic)
        #expect(md.brokers.count == 1)
        #expect("\(md.brokers[0].host):\(md.brokers[0].port)" == cluster.bootstrapServers)
        let info = try #require(md.topic(topic))
        #expect(info.error == nil)
        #expect(info.partitions.map(\.id) == [0, 1, 2])
        for partition in info.partitions {
            #expect(partition.leader == md.brokers[0].id)
            #expect(partition.replicas == [md.brokers[0].id])
            #expect(partition.inSyncReplicas == [md.brokers[0].id])
        }
        #expect(try admin.metadata().topic(topic) != nil)
    }

    @Test func metadataForAMissingTopicReportsItAndDoesNotCreateIt() throws {
        let cluster = try MockKafkaCluster()
        let admin = try KafkaAdmin(config: KafkaTestSupport.config(cluster))
        let missing = KafkaTestSupport.uniqueName("missing")
        let info = try #require(try admin.metadata(topic: missing).topic(missing))
        #expect(info.error?.name == "UNKNOWN_TOPIC_OR_PART")
        #expect(try admin.metadata().topic(missing) == nil)
    }

    @Test func watermarksFollowProducedMessages() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("marks")
        try cluster.createTopic(topic, partitions: 2)
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        for i in 0..<5 { try producer.produce(topic: topic, partition: 1, key: nil, value: Array("m\(i)".utf8)) }
        try producer.flush(timeoutMilliseconds: 10_000)
        let admin = try KafkaAdmin(config: KafkaTestSupport.config(cluster))
        let marks = try admin.watermarks(topic: topic)
        #expect(marks.map(\.partition) == [0, 1])
        #expect(marks[0].watermarks == KafkaWatermarks(low: 0, high: 0))
        #expect(marks[1].watermarks == KafkaWatermarks(low: 0, high: 5))
    }

    @Test func unsupportedAdminCallsFailFastOnTheMockWithAClearMessage() throws {
        let cluster = try MockKafkaCluster()
        let admin = try KafkaAdmin(config: KafkaTestSupport.config(cluster))
        let calls: [(String, () throws -> Void)] = [
            ("CreateTopics", { _ = try admin.createTopics([KafkaNewTopic(name: "x", partitions: 2, replicationFactor: 1)]) }),
            ("DeleteTopics", { _ = try admin.deleteTopics(["x"]) }),
            ("DescribeConfigs", { _ = try admin.describeTopicConfigs("x") }),
            ("AlterConfigs", { try admin.alterTopicConfigs("x", set: [("retention.ms", "1000")]) }),
            ("ListGroups", { _ = try admin.listGroups() }),
        ]
        for (api, call) in calls {
            let started = SystemClock.shared.nowMilliseconds
            let error = try #require(throws: KafkaError.self) { try call() }
            let elapsed = SystemClock.shared.nowMilliseconds - started
            #expect(elapsed < 3_000, "\(api) took \(elapsed) ms")
            #expect(error.name == "_UNSUPPORTED_FEATURE")
            // AlterConfigs first reads the current overrides, so it reports DescribeConfigs.
            let reported = api == "AlterConfigs" ? "DescribeConfigs" : api
            #expect(error.description.contains("the broker does not support \(reported)"), "\(error)")
            #expect(error.description.contains("mock cluster"), "\(error)")
        }
    }

    @Test func groupLagShowsCommittedOffsetHighWatermarkAndLag() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("lag")
        let group = KafkaTestSupport.uniqueName("group")
        try cluster.createTopic(topic, partitions: 2)
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        for i in 0..<10 { try producer.produce(topic: topic, partition: 0, key: nil, value: Array("m\(i)".utf8)) }
        for i in 0..<4 { try producer.produce(topic: topic, partition: 1, key: nil, value: Array("n\(i)".utf8)) }
        try producer.flush(timeoutMilliseconds: 10_000)
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: group)
        try consumer.commit(processed: [KafkaPartitionOffset(topic: topic, partition: 0, offset: 3)])
        consumer.close()

        let admin = try KafkaAdmin(config: KafkaTestSupport.config(cluster))
        let lag = try admin.groupLag(group)
        #expect(lag == [KafkaPartitionLag(topic: topic, partition: 0, committed: 4, low: 0, high: 10)])
        #expect(lag.first?.lag == 6)
        let viaConsumer = try admin.committedThroughConsumer(group, topics: [topic])
        #expect(viaConsumer == [KafkaPartitionOffset(topic: topic, partition: 0, offset: 4)])
    }
}
