/// What several verbs derive from the global options, decided in one place
/// so every verb gives the same answer and the same exit status.
extension Invocation {
    /// The librdkafka configuration from `-b` and `-X`.
    var kafkaConfig: KafkaConfig {
        KafkaConfig(brokers: globals.brokers, properties: globals.kafkaProperties.map { ($0.key, $0.value) })
    }

    /// The schema registry client when any of `packings` is Avro, else nil.
    /// A missing or malformed `--registry` is a usage error (exit 64).
    func registryClient(for packings: [Packing]) throws -> SchemaRegistryClient? {
        guard packings.contains(where: \.needsRegistry) else { return nil }
        guard let url = globals.registry else {
            throw usageError("--packing avro needs --registry URL (or PGK_REGISTRY)")
        }
        do {
            return try SchemaRegistryClient(url: url, tls: globals.registryTLS)
        } catch {
            throw usageError("--registry: \(error)")
        }
    }
}
