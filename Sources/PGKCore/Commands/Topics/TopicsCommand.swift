/// `pgk topics`: topic administration plus tail and produce.
enum TopicsCommand {
    static let spec = CommandSpec(
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

    static let timeout: Option<Int64> = .duration(
        "timeout", bareUnitMilliseconds: 1_000,
        help: "Give up on unreachable brokers and slow requests after this long", default: "10s")
    static var timeoutOption: OptionSpec { timeout.spec }

    static func kafkaConfig(_ invocation: Invocation) -> KafkaConfig {
        var config = invocation.kafkaConfig
        config.connectTimeoutMilliseconds = Int(invocation[timeout])
        return config
    }

    static func outputFormat(_ invocation: Invocation) -> OutputFormat {
        invocation[OutputFormat.option]
    }

    static func write(_ text: String, _ invocation: Invocation) throws {
        try invocation.output.write(text)
    }
}
