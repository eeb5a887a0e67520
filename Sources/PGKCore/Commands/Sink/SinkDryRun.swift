/// `pgk sink --dry-run`: reads the first messages (from the stored offsets,
/// without joining the group or committing anything), then sets up and
/// maps them in a transaction that is rolled back. Prints the DDL that a
/// real run would execute, then each mapped row as one JSON line.
struct SinkDryRun {
    let settings: SinkSettings
    let registry: SchemaRegistryClient?
    let stop: StopToken
    let output: OutputSink

    /// How many messages to map when --max-messages is not given.
    static let defaultSample = 10

    func run() throws -> Int32 {
        let limit = settings.maxMessages ?? Self.defaultSample
        let batch = try collect(limit: limit)
        let writer = BatchWriter(settings: settings, target: SinkTarget(settings: settings, registry: registry), stop: stop)
        let preview = try writer.preview(batch)
        var text = ""
        if preview.ddl.isEmpty { text += "-- no DDL: \(settings.table) and pgk's tables exist\n" }
        for statement in preview.ddl { text += statement + ";\n" }
        for row in preview.rows { text += row + "\n" }
        try output.write(text)
        try output.flush()
        let failures = batch.rows.filter { $0.kind == .failure }.count
        if failures > 0 { Log.info("sink: dry run: \(failures) of \(batch.rows.count) message(s) could not be decoded") }
        if let error = preview.mappingError {
            throw SinkFailure("dry run: \(error)")
        }
        return ExitStatus.ok
    }

    private func collect(limit: Int) throws -> StagedBatch {
        var book = PartitionBook()
        var builder = BatchBuilder(maxRows: max(limit, 1), maxAgeMilliseconds: 0)
        let stager = try RecordStager(settings: settings, registry: registry, onError: .deadLetter)
        let lookup = OffsetLookup(database: settings.database, group: settings.group, stop: stop)
        func offer<M: SinkMessage>(_ message: M, topic: String) throws {
            guard builder.count < limit, let slot = book.accept(topic: topic, partition: message.partition,
                                                                offset: message.offset) else { return }
            _ = try stager.stage(message, topicIndex: book.topicIndex(ofSlot: slot), into: &builder)
            book.record(slot: slot, offset: message.offset)
        }
        if let path = settings.fromFile {
            let partition = KafkaTopicPartition(topic: settings.topics[0], partition: 0)
            book.assign(partition, stored: try lookup.stored([partition])[partition])
            var failure: Error?
            try FileRecords.read(path: path) { offset, bytes in
                do { try offer(FileMessage(offset: offset, value: bytes), topic: partition.topic) } catch {
                    failure = error
                }
                return failure == nil && builder.count < limit
            }
            if let failure { throw failure }
        } else {
            let consumer = try KafkaConsumer(config: settings.kafka, groupID: nil, partitionEOF: true)
            defer { consumer.close(timeoutMilliseconds: 1_000) }
            let partitions = try self.partitions(consumer)
            let stored = try lookup.stored(partitions)
            var starts: [KafkaTopicPartition: KafkaStartOffset] = [:]
            for partition in partitions {
                book.assign(partition, stored: stored[partition])
                starts[partition] = stored[partition].map { .offset($0) } ?? (settings.start == .earliest ? .beginning : .end)
            }
            try consumer.assign(starts)
            let deadline = SystemClock.shared.nowMilliseconds + 10_000
            var ended = Set<KafkaTopicPartition>()
            while builder.count < limit, ended.count < partitions.count, !stop.isStopped,
                  SystemClock.shared.nowMilliseconds < deadline {
                var failure: Error?
                try consumer.pollBatch(maxMessages: limit, timeoutMilliseconds: 200) { record in
                    switch record {
                    case .message(let view):
                        do { try offer(view, topic: view.topic) } catch { failure = error }
                    case .partitionEnd(let end):
                        ended.insert(end.topicPartition)
                    }
                }
                if let failure { throw failure }
            }
        }
        return builder.seal(topics: book.topics, claims: [])
    }

    /// The partitions of the named topics; regexes (leading ^) are matched
    /// against the cluster's topic list.
    private func partitions(_ consumer: KafkaConsumer) throws -> [KafkaTopicPartition] {
        let topics = try consumer.metadata(topic: nil).topics
        let names = SinkTopics.resolve(settings.topics, among: topics.map(\.name))
            + settings.topics.filter { !$0.hasPrefix("^") && !topics.map(\.name).contains($0) }
        return try names.flatMap { name in
            try consumer.partitions(of: name).map { KafkaTopicPartition(topic: name, partition: $0) }
        }
    }
}
