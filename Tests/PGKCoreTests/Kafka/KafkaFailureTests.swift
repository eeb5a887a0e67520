import CRdKafka
import Testing
@testable import PGKCore

@Suite struct KafkaFailureTests {
    @Test func deliveryFailureReportsTheMessageAndLibrdkafkaErrorName() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("dr-fail")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        let ok = try producer.produce(topic: topic, key: nil, value: Array("ok".utf8))
        try producer.flush(timeoutMilliseconds: 10_000)
        // Produce is API key 0; a permanent, non-retriable error.
        cluster.failNextRequests(apiKey: 0, error: RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        var reports: [KafkaDeliveryReport] = []
        producer.onDelivery = { reports.append($0) }
        let bad = try producer.produce(topic: topic, key: nil, value: Array("bad".utf8))
        try producer.flush(timeoutMilliseconds: 10_000)
        #expect(producer.deliveredCount == 1)
        #expect(producer.failedCount == 1)
        #expect(ok != bad)
        let failure = try #require(reports.first)
        #expect(failure.messageID == bad)
        #expect(failure.error?.name == "TOPIC_AUTHORIZATION_FAILED")
        #expect(failure.error?.topic == topic)
        #expect(failure.error?.description.contains("deliver message \(bad)") == true)
        #expect(producer.failures.map(\.messageID) == [bad])
    }

    @Test func invalidPropertyNamesThePropertyAndLibrdkafkasReason() throws {
        let config = KafkaConfig(brokers: "127.0.0.1:9", properties: [("linger.ms", "banana")])
        let error = try #require(throws: KafkaConfigError.self) { _ = try KafkaProducer(config: config) }
        #expect(error.property == "linger.ms")
        #expect(error.description.contains("linger.ms=banana"))
        #expect(error.reason.contains("Invalid value"), "\(error.reason)")
        let unknown = try #require(throws: KafkaConfigError.self) {
            _ = try KafkaConsumer(config: KafkaConfig(brokers: "x", properties: [("no.such.thing", "1")]), groupID: nil)
        }
        #expect(unknown.reason.contains("No such configuration property"), "\(unknown.reason)")
    }

    @Test func userPropertiesOverridePgkDefaults() throws {
        let config = KafkaConfig(brokers: "a:1", properties: [("enable.idempotence", "false"), ("bootstrap.servers", "b:2")])
        let native = try config.makeNative(defaults: [KafkaProperty(key: "enable.idempotence", value: "true")])
        #expect(native.get("enable.idempotence") == "false")
        #expect(native.get("bootstrap.servers") == "b:2")
        #expect(config.bootstrapServers == "b:2")
    }

    @Test func unreachableBrokerFailsWithinTheBoundNamingTheBroker() throws {
        let config = KafkaConfig(brokers: "127.0.0.1:1")
        let clock = SystemClock.shared
        let started = clock.nowMilliseconds
        let error = try #require(throws: KafkaError.self) { _ = try KafkaProducer(config: config) }
        let elapsed = clock.nowMilliseconds - started
        #expect(elapsed < 12_000, "took \(elapsed) ms")
        #expect(error.description.contains("cannot reach any Kafka broker of bootstrap.servers=127.0.0.1:1"), "\(error)")
        #expect(error.description.contains("Connection refused"), "\(error)")

        let short = KafkaConfig(brokers: "127.0.0.1:1", connectTimeoutMilliseconds: 1_500)
        for make in [{ _ = try KafkaConsumer(config: short, groupID: "g") }, { _ = try KafkaAdmin(config: short) }] as [() throws -> Void] {
            let t0 = clock.nowMilliseconds
            let failure = try #require(throws: KafkaError.self) { try make() }
            #expect(clock.nowMilliseconds - t0 < 4_000)
            #expect(failure.description.contains("127.0.0.1:1"), "\(failure)")
        }
    }

    @Test func flushGivesUpWhenEveryBrokerStaysDown() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("down")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(config: KafkaConfig(brokers: cluster.bootstrapServers, connectTimeoutMilliseconds: 2_000))
        try producer.produce(topic: topic, key: nil, value: Array("first".utf8))
        try producer.flush(timeoutMilliseconds: 10_000)
        cluster.setBrokersUp(false)
        try producer.produce(topic: topic, key: nil, value: Array("second".utf8))
        let started = SystemClock.shared.nowMilliseconds
        let error = try #require(throws: KafkaError.self) { try producer.flush(timeoutMilliseconds: 60_000) }
        let elapsed = SystemClock.shared.nowMilliseconds - started
        #expect(elapsed < 15_000, "took \(elapsed) ms")
        #expect(error.name == "_ALL_BROKERS_DOWN", "\(error)")
        #expect(error.description.contains(cluster.bootstrapServers), "\(error)")
    }

    @Test func flushTimeoutSaysHowManyMessagesRemain() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("slow")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        cluster.setBrokersUp(false)
        for i in 0..<3 { try producer.produce(topic: topic, key: nil, value: Array("m\(i)".utf8)) }
        let error = try #require(throws: KafkaError.self) { try producer.flush(timeoutMilliseconds: 500) }
        #expect(error.name == "_TIMED_OUT")
        #expect(error.message == "3 message(s) still undelivered after 500 ms")
        cluster.setBrokersUp(true)
        try producer.flush(timeoutMilliseconds: 15_000)
        #expect(producer.deliveredCount == 3)
    }
}
