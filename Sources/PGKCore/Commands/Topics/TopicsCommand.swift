/// `pgk topics`: topic administration plus tail and produce.
public enum TopicsCommand {
    public static let spec = CommandSpec(
        name: "topics",
        summary: "list, describe, create, delete, tail and produce to Kafka topics",
        discussion: """
        Topic administration and message I/O on librdkafka. Every \
        librdkafka property can be passed with -X. Against the embedded mock \
        cluster (pgk dev), create, delete, alter and config listing are not \
        available: the mock does not implement those requests, and pgk says \
        so at once instead of waiting for a timeout.
        """,
        subcommands: [list, describe, create, delete, alter, tail, produce, groups])

    static let timeoutOption = OptionSpec.value(
        "timeout", .duration(bareUnitMilliseconds: 1_000), name: "DURATION",
        help: "Give up on unreachable brokers and slow requests after this long", default: "10s")

    static func kafkaConfig(_ invocation: Invocation) -> KafkaConfig {
        KafkaConfig(brokers: invocation.globals.brokers,
                    properties: invocation.globals.kafkaProperties.map { ($0.key, $0.value) },
                    connectTimeoutMilliseconds: Int(invocation.milliseconds("timeout") ?? 10_000))
    }

    static func outputFormat(_ invocation: Invocation) -> OutputFormat {
        OutputFormat(rawValue: invocation.string("output") ?? "table") ?? .table
    }

    static func write(_ text: String) throws {
        try OutputSink.standardOutput.write(text)
    }
}
