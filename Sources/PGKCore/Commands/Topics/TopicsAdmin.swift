extension TopicsCommand {
    enum CreateOptions {
        static let partitions: Option<Int?> = .integer(
            "partitions", 1...Int64.max, help: "Partition count (default: the broker's num.partitions)")
        static let replicationFactor: Option<Int?> = .integer(
            "replication-factor", 1...Int64.max,
            help: "Replicas per partition (default: the broker's default.replication.factor)")
        static let config: Option<[(key: String, value: String)]> = .keyValues(
            "config", help: "Topic config, e.g. retention.ms=86400000 (repeatable)", environment: .none)
        static let ifNotExists: Option<Bool> = .flag(
            "if-not-exists", help: "Succeed without change when the topic already exists")
    }

    enum AlterOptions {
        static let config: Option<[(key: String, value: String)]> = .keyValues(
            "config", help: "Config to set (repeatable)", environment: .none)
        static let deleteConfig: Option<[String]> = .list(
            "delete-config", name: "KEY", help: "Override to remove (repeatable)", environment: .none)
    }

    static let ifExists: Option<Bool> = .flag("if-exists", help: "Succeed for topics that do not exist")
    static let groupTopics: Option<[String]> = .list(
        "topic", name: "TOPIC", help: "Only these topics (repeatable)", environment: .none)

    static let create = CommandSpec(
        name: "create",
        summary: "create a topic",
        arguments: [ArgumentSpec("TOPIC", help: "The topic to create")],
        options: [
            CreateOptions.partitions.spec, CreateOptions.replicationFactor.spec, CreateOptions.config.spec,
            CreateOptions.ifNotExists.spec, timeoutOption,
        ],
        examples: [Example("pgk topics create orders --partitions 12 --config cleanup.policy=compact",
                           "A compacted topic with 12 partitions.")],
        run: { invocation in
            let topic = invocation.argument("TOPIC")!
            let admin = try KafkaAdmin(config: kafkaConfig(invocation))
            let ifNotExists = invocation[CreateOptions.ifNotExists]
            if ifNotExists, try admin.metadata(topic: topic).topic(topic)?.error == nil {
                Log.info("topic \(topic) already exists")
                return ExitStatus.ok
            }
            let request = KafkaNewTopic(
                name: topic, partitions: invocation[CreateOptions.partitions] ?? -1,
                replicationFactor: invocation[CreateOptions.replicationFactor] ?? -1,
                configs: invocation[CreateOptions.config].map { ($0.key, $0.value) })
            for outcome in try admin.createTopics([request]) {
                guard let error = outcome.error else { continue }
                if ifNotExists, error.kind == .topicAlreadyExists {
                    Log.info("topic \(topic) already exists")
                    return ExitStatus.ok
                }
                throw error
            }
            Log.info("created topic \(topic)")
            return ExitStatus.ok
        })

    static let delete = CommandSpec(
        name: "delete",
        summary: "delete topics",
        arguments: [ArgumentSpec("TOPIC", help: "Topics to delete", arity: .oneOrMore)],
        options: [
            ifExists.spec, timeoutOption,
        ],
        run: { invocation in
            let topics = invocation.arguments("TOPIC")
            let admin = try KafkaAdmin(config: kafkaConfig(invocation))
            var failed = 0
            for outcome in try admin.deleteTopics(topics) {
                if let error = outcome.error {
                    if invocation[ifExists], error.kind == .unknownTopic { continue }
                    Log.error(error.description)
                    failed += 1
                } else {
                    Log.info("deleted topic \(outcome.topic)")
                }
            }
            if failed > 0 {
                throw RuntimeError("\(failed) of \(topics.count) topic(s) could not be deleted")
            }
            return ExitStatus.ok
        })

    static let alter = CommandSpec(
        name: "alter",
        summary: "set or remove a topic's config overrides",
        discussion: """
        Other overrides of the topic are kept. pgk sends an \
        IncrementalAlterConfigs request when librdkafka (2.2 or later) and \
        the broker support it; otherwise it reads the current overrides and \
        sends them back merged with the change in a replacing AlterConfigs.
        """,
        arguments: [ArgumentSpec("TOPIC", help: "The topic to change")],
        options: [
            AlterOptions.config.spec, AlterOptions.deleteConfig.spec, timeoutOption,
        ],
        examples: [Example("pgk topics alter orders --config retention.ms=3600000", "Keep an hour of data.")],
        run: { invocation in
            let topic = invocation.argument("TOPIC")!
            let changes = invocation[AlterOptions.config].map { ($0.key, $0.value) }
            let removals = invocation[AlterOptions.deleteConfig]
            if changes.isEmpty && removals.isEmpty {
                throw invocation.usageError("nothing to change: give --config KEY=VALUE or --delete-config KEY")
            }
            let admin = try KafkaAdmin(config: kafkaConfig(invocation))
            try admin.alterTopicConfigs(topic, set: changes, remove: removals)
            Log.info("updated configs of topic \(topic)")
            return ExitStatus.ok
        })

    static let groups = CommandSpec(
        name: "groups",
        summary: "show consumer groups' committed offsets and lag",
        discussion: """
        Without GROUP every group the brokers list is shown; the mock \
        cluster cannot list groups, so name the group there.
        """,
        arguments: [ArgumentSpec("GROUP", help: "One consumer group", arity: .optional)],
        options: [
            groupTopics.spec,
            OutputFormat.option.spec,
            timeoutOption,
        ],
        examples: [Example("pgk topics groups orders-sink", "Per-partition lag of one group.")],
        run: { invocation in
            let admin = try KafkaAdmin(config: kafkaConfig(invocation))
            let topics = invocation[groupTopics]
            let names = try invocation.argument("GROUP").map { [$0] } ?? admin.listGroups().map(\.name)
            var records: [ValueObject] = []
            for group in names {
                for lag in try admin.groupLag(group, topics: topics.isEmpty ? nil : topics) {
                    var record = ValueObject()
                    record["group"] = .string(group)
                    record["topic"] = .string(lag.topic)
                    record["partition"] = .int(Int64(lag.partition))
                    record["committed"] = lag.committed.map(Value.int) ?? .null
                    record["high"] = .int(lag.high)
                    record["lag"] = lag.lag.map(Value.int) ?? .null
                    records.append(record)
                }
            }
            try write(outputFormat(invocation).render(records, columns: ["group", "topic", "partition", "committed", "high", "lag"]), invocation)
            return ExitStatus.ok
        })
}
