/// The embedded stack behind `pgk dev` and the integration tests: a
/// throwaway PostgreSQL cluster, librdkafka's mock Kafka cluster and a
/// Confluent-compatible schema registry, all on loopback.
public final class DevStack: @unchecked Sendable {
    public struct Options: Sendable {
        /// Topics to pre-create as `NAME` or `NAME:PARTITIONS`. The mock
        /// keeps only ~5 MiB per partition, so big loads need many.
        public var topics: [(name: String, partitions: Int)] = []
        public var brokers = 1
        public init() {}
    }

    public let postgres: LocalPostgresCluster
    public let kafka: MockKafkaCluster
    public let registry: SchemaRegistryServer

    public init(options: Options = Options()) throws {
        kafka = try MockKafkaCluster(brokers: options.brokers)
        for topic in options.topics {
            try kafka.createTopic(topic.name, partitions: topic.partitions)
        }
        registry = try SchemaRegistryServer()
        postgres = try LocalPostgresCluster.started()
    }

    deinit { shutdown() }

    public func shutdown() {
        postgres.shutdown()
        registry.stop()
    }

    /// The variables that point pgk (and libpq, and scripts) at this stack.
    public var environment: [(name: String, value: String)] {
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
