/// The embedded stack behind `pgk dev` and the integration tests: a
/// throwaway PostgreSQL cluster, librdkafka's mock Kafka cluster and a
/// Confluent-compatible schema registry, all on loopback.
final class DevStack: @unchecked Sendable {
    struct Options: Sendable {
        /// Topics to pre-create as `NAME` or `NAME:PARTITIONS`. The mock
        /// keeps only ~5 MiB per partition, so big loads need many.
        var topics: [(name: String, partitions: Int)] = []
        var brokers = 1
        init() {}
    }

    let postgres: LocalPostgresCluster
    let kafka: MockKafkaCluster
    let registry: SchemaRegistryServer

    init(options: Options = Options()) throws {
        kafka = try MockKafkaCluster(brokers: options.brokers)
        for topic in options.topics {
            try kafka.createTopic(topic.name, partitions: topic.partitions)
        }
        registry = try SchemaRegistryServer()
        postgres = try LocalPostgresCluster.started(
            options: .init(password: LocalPostgresCluster.Options.generatedPassword()))
    }

    deinit { shutdown() }

    func shutdown() {
        postgres.shutdown()
        registry.stop()
    }

    /// The variables that point pgk (and libpq, and scripts) at this stack.
    var environment: [(name: String, value: String)] {
        [("PGK_BROKERS", kafka.bootstrapServers),
         ("PGK_DATABASE", postgres.url),
         ("PGK_REGISTRY", registry.url)]
    }

    /// `NAME` or `NAME:PARTITIONS`.
    static func parseTopic(_ text: String) -> (name: String, partitions: Int)? {
        guard let colon = text.lastIndex(of: ":") else { return text.isEmpty ? nil : (text, 1) }
        guard let count = Int(text[text.index(after: colon)...]), count > 0, colon != text.startIndex else {
            return nil
        }
        return (String(text[..<colon]), count)
    }
}
