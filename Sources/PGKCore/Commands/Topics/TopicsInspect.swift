extension TopicsCommand {
    static let includeInternal: Option<Bool> = .flag(
        "internal", help: "Include internal topics such as __consumer_offsets")
    static let allConfigs: Option<Bool> = .flag("all-configs", help: "List every config, including broker defaults")

    static let list = CommandSpec(
        name: "list", aliases: ["ls"],
        summary: "list topics with their partition and replica counts",
        options: [
            OutputFormat.option.spec,
            includeInternal.spec,
            timeoutOption,
        ],
        examples: [Example("pgk topics list -o json | jq -r '.[].topic'", "Topic names, one a line.")],
        run: { invocation in
            let admin = try KafkaAdmin(config: kafkaConfig(invocation))
            let includeInternal = invocation[includeInternal]
            let records = try admin.metadata().topics
                .filter { includeInternal || !$0.name.hasPrefix("__") }
                .map { topic -> ValueObject in
                    var record = ValueObject()
                    record["topic"] = .string(topic.name)
                    record["partitions"] = .int(Int64(topic.partitions.count))
                    record["replicas"] = .int(Int64(topic.partitions.map(\.replicas.count).max() ?? 0))
                    record["error"] = topic.error.map { .string($0.description) } ?? .null
                    return record
                }
            try write(outputFormat(invocation).render(records, columns: ["topic", "partitions", "replicas", "error"]), invocation)
            return ExitStatus.ok
        })

    static let describe = CommandSpec(
        name: "describe",
        summary: "show a topic's partitions, leaders, replicas, watermarks and configs",
        discussion: """
        Configs are the topic's own overrides unless --all-configs is given. \
        The mock cluster keeps no configs; describe then prints the \
        partitions and says on stderr why configs are missing.
        """,
        arguments: [ArgumentSpec("TOPIC", help: "The topic to describe")],
        options: [
            OutputFormat.option.spec,
            allConfigs.spec,
            timeoutOption,
        ],
        run: { invocation in
            let topic = invocation.argument("TOPIC")!
            let admin = try KafkaAdmin(config: kafkaConfig(invocation))
            guard let info = try admin.metadata(topic: topic).topic(topic) else {
                throw KafkaError.unknownTopic(topic, operation: "describe topic")
            }
            if let error = info.error { throw error }
            var partitions: [ValueObject] = []
            for partition in info.partitions {
                let marks = try admin.watermarks(topic: topic, partition: partition.id)
                var record = ValueObject()
                record["partition"] = .int(Int64(partition.id))
                record["leader"] = .int(Int64(partition.leader))
                record["replicas"] = .array(partition.replicas.map { .int(Int64($0)) })
                record["isr"] = .array(partition.inSyncReplicas.map { .int(Int64($0)) })
                record["low"] = .int(marks.low)
                record["high"] = .int(marks.high)
                record["messages"] = .int(marks.messageCount)
                partitions.append(record)
            }
            var configs: [ValueObject]?
            var configNote: String?
            do {
                let all = invocation[allConfigs]
                configs = try admin.describeTopicConfigs(topic)
                    .filter { all || $0.isTopicOverride }
                    .map { entry in
                        var record = ValueObject()
                        record["name"] = .string(entry.name)
                        record["value"] = entry.isSensitive ? .string("(hidden)") : (entry.value.map(Value.string) ?? .null)
                        record["source"] = .string(entry.source)
                        return record
                    }
            } catch let error as KafkaError where error.kind == .unsupported {
                configNote = "configs are not available: \(error)"
            }
            let format = outputFormat(invocation)
            switch format {
            case .json:
                var document = ValueObject()
                document["topic"] = .string(topic)
                document["partitions"] = .array(partitions.map(Value.object))
                document["configs"] = configs.map { .array($0.map(Value.object)) } ?? .null
                if let configNote { document["configs_error"] = .string(configNote) }
                try write(JSON.encode(.object(document)) + "\n", invocation)
            case .table:
                try write("Topic: \(topic)  Partitions: \(info.partitions.count)\n", invocation)
                try write(format.render(partitions, columns: ["partition", "leader", "replicas", "isr", "low", "high", "messages"]), invocation)
                if let configs {
                    try write("\n", invocation)
                    if configs.isEmpty {
                        try write("No topic-level config overrides (--all-configs lists defaults).\n", invocation)
                    } else {
                        try write(format.render(configs, columns: ["name", "value", "source"]), invocation)
                    }
                }
            }
            if let configNote { Log.warning(configNote) }
            return ExitStatus.ok
        })
}
