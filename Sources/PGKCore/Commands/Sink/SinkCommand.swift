import Foundation

/// `pgk sink`: Kafka topics into a PostgreSQL table, exactly once.
enum SinkCommand {
    static let spec = CommandSpec(
        name: "sink",
        summary: "write Kafka topics into a PostgreSQL table, exactly once",
        discussion: """
        Consumes TOPIC in a consumer group and writes each message as a row. \
        Every batch is one transaction that also advances the group's offsets \
        in pgk.sink_offsets, so a restart, a crash or a rebalance neither \
        loses nor repeats a row. PostgreSQL evaluates the map (built-in json, \
        string or columns, or a YAML map file) over the staged messages; \
        messages it cannot store go to a dead-letter table with the reason. \
        Postgres or broker outages are retried. SIGINT/SIGTERM write the \
        current batch and exit 0. Several instances with one --group share \
        the partitions.

        librdkafka reads ahead at most 100000 messages (32 MiB) by default; \
        raise -X queued.min.messages and queued.max.messages.kbytes where \
        memory allows.

        Maps: json (alias JsonMap) stores the value as jsonb in 'payload', \
        string (StringMap) as text; both add id, sinked, key, topic, \
        partition and offset. columns makes one column per top-level field. \
        --map NAME looks for NAME.yaml on PGK_MAPS_PATH (default \
        ./maps:~/.config/pgk/maps); see maps/examples in the source tree.
        """,
        options: Options.all,
        examples: [
            Example("pgk sink -t orders", "Sink topic orders as jsonb into table orders, from the start."),
            Example("pgk sink -t orders --map columns --key-columns id",
                    "One column per field, upserting on id; tombstones delete."),
            Example("pgk sink -t '^sensor\\..*' --table raw.sensors --map sensors.yaml",
                    "A regex subscription through a YAML map into raw.sensors."),
            Example("pgk sink --from-file events.ndjson --table events --dry-run",
                    "Show the DDL and the first mapped rows of a file."),
        ],
        run: { invocation in try SinkCommand.run(invocation) })

    static func run(_ invocation: Invocation) throws -> Int32 {
        let settings = try self.settings(invocation)
        let registry = try invocation.registryClient(
            for: [settings.packing] + (settings.keyPacking == .avro ? [.avro] : []))
        if settings.dryRun {
            return try SinkDryRun(settings: settings, registry: registry, stop: invocation.stop, output: invocation.output).run()
        }
        let served = try invocation.startMetrics(SinkMetrics.self)
        defer { served?.endpoint.stop() }
        let source = settings.fromFile ?? settings.topics.joined(separator: ", ")
        Log.info("sink: \(source) → \(settings.table) (map \(settings.map.name), \(settings.effectiveMode.rawValue), "
            + "group \(settings.group))")
        let target = SinkTarget(settings: settings, registry: registry)
        let turns = ClaimTurns()
        let writer = BatchWriter(settings: settings, target: target, turns: turns, stop: invocation.stop)
        try writer.open()
        // A second writer overlaps one batch's COPY with the previous one's
        // statements; not while a columns-map table is still being shaped.
        let shaping = settings.map.layout == .columns && (settings.evolve || target.statements == nil)
        var writers = [writer]
        if !shaping { writers.append(BatchWriter(settings: settings, target: target, turns: turns, stop: invocation.stop)) }
        let runner = try SinkRunner(settings: settings, writers: writers, registry: registry, stop: invocation.stop,
                                    metrics: served?.metrics)
        do {
            if let path = settings.fromFile {
                try FileSinkSource(settings: settings, runner: runner, path: path, topic: settings.topics[0],
                                   stop: invocation.stop).run()
            } else {
                try KafkaSinkSource(settings: settings, runner: runner, stop: invocation.stop).run()
            }
        } catch {
            runner.finish()
            throw error
        }
        runner.finish()
        if let failure = runner.failure { throw failure }
        return ExitStatus.ok
    }

    /// The validated settings; usage mistakes are UsageErrors (exit 64).
    static func settings(_ invocation: Invocation) throws -> SinkSettings {
        var topics = invocation[Options.topic]
        let fromFile = invocation[Options.fromFile]
        if let fromFile {
            guard topics.count <= 1, !(topics.first?.hasPrefix("^") ?? false) else {
                throw invocation.usageError("--from-file takes at most one plain --topic (the file's topic name)")
            }
            if topics.isEmpty {
                let base = fromFile == "-" ? "stdin" : ((fromFile as NSString).lastPathComponent as NSString).deletingPathExtension
                topics = [base]
            }
        } else if topics.isEmpty {
            throw invocation.usageError("no topic: give -t/--topic (or --from-file)")
        }
        let table: QualifiedName
        if let given = invocation[Options.table] {
            table = given
        } else {
            guard topics.count == 1, !topics[0].hasPrefix("^") else {
                throw invocation.usageError("--table is required with several topics or a regex subscription")
            }
            table = QualifiedName(name: SinkSettings.defaultTable(forTopic: topics[0]))
        }
        let map = try MapLocator.resolve(invocation[Options.map], environment: invocation.environment)
        let packing = invocation[Options.packing]
        if fromFile != nil && packing != .json {
            throw invocation.usageError("--from-file reads JSON; --packing \(packing.rawValue) is for Kafka messages")
        }
        var settings = SinkSettings(
            topics: topics, table: table, map: map, packing: packing,
            keyPacking: invocation[Options.keyPacking],
            group: invocation[Options.group],
            start: invocation[Options.offset],
            mode: invocation[Options.mode],
            keyColumns: invocation[Options.keyColumns],
            onTombstone: invocation[Options.onTombstone],
            create: invocation[Options.create] ?? true, evolve: invocation[Options.evolve],
            drop: invocation[Options.drop], truncate: invocation[Options.truncate],
            batchSize: invocation[Options.batchSize],
            batchTimeoutMilliseconds: invocation[Options.batchTimeout],
            untilEnd: invocation[Options.untilEnd], maxMessages: invocation[Options.maxMessages],
            fromFile: fromFile, dryRun: invocation[Options.dryRun], onError: invocation[Options.onError],
            database: invocation.globals.database,
            kafka: invocation.kafkaConfig,
            registry: invocation.globals.registry)
        settings.coordination = invocation[Options.coordinate]
        if let deadLetter = invocation[Options.deadLetter] {
            settings.deadLetter = try DeadLetterTarget.parse(deadLetter, defaultSchema: table.schema)
        }
        try validate(settings, invocation)
        return settings
    }

    static func validate(_ settings: SinkSettings, _ invocation: Invocation) throws {
        let keys = settings.conflictColumns
        if keys.isEmpty, let mode = settings.mode, mode == .upsert || mode == .update {
            throw invocation.usageError("--mode \(mode.rawValue) needs key columns: give --key-columns "
                + "or use a map that declares 'conflict'")
        }
        if keys.isEmpty && settings.onTombstone == .delete {
            throw invocation.usageError("--on-tombstone delete needs key columns to match keys against (--key-columns)")
        }
        if settings.evolve && settings.map.layout != .columns {
            throw invocation.usageError("--evolve works with --map columns only; a declared map fixes its columns")
        }
        if settings.map.layout == .declared, settings.keyColumns != nil {
            for key in keys where settings.map.column(named: key) == nil {
                throw invocation.usageError("--key-columns names '\(key)', which map \(settings.map.name) does not have")
            }
        }
        if case .table(let errors) = settings.deadLetter, errors == settings.table {
            throw invocation.usageError("--dead-letter must not be the target table itself")
        }
    }
}
