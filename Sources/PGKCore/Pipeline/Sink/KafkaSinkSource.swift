/// A connection for the source thread's own lookups (stored offsets on
/// assignment and after a fence), retried while PostgreSQL is away.
final class OffsetLookup {
    private let database: String?
    private let group: String
    private let stop: StopToken
    private var connection: PostgresConnection?

    init(database: String?, group: String, stop: StopToken) {
        self.database = database
        self.group = group
        self.stop = stop
    }

    func stored(_ partitions: [KafkaTopicPartition]) throws -> [KafkaTopicPartition: Int64] {
        try Retry.run("reading stored offsets", stop: stop,
                      isRetryable: { SinkFailureKind.classify($0) == .connection },
                      onRetry: { _ in self.connection = nil }) {
            let connection = try self.connection ?? PostgresConnection(conninfo: database, applicationName: "pgk sink")
            self.connection = connection
            return try SinkOffsetStore.stored(connection, group: group, partitions: partitions)
        }
    }
}

/// The Kafka side of `pgk sink`: a consumer-group member that starts each
/// assigned partition at the offset stored in PostgreSQL (`--offset` only
/// where none is), writes its open batch before giving partitions up, and
/// commits Kafka offsets after PostgreSQL has the rows, for information.
final class KafkaSinkSource {
    let settings: SinkSettings
    let runner: SinkRunner
    let lookup: OffsetLookup
    let stop: StopToken
    let leaseState = SinkLeaseState()

    init(settings: SinkSettings, runner: SinkRunner, stop: StopToken) {
        self.settings = settings
        self.runner = runner
        self.stop = stop
        lookup = OffsetLookup(database: settings.database, group: settings.group, stop: stop)
    }

    private var fallbackStart: KafkaStartOffset { settings.start == .earliest ? .beginning : .end }

    func run() throws {
        let consumer = try KafkaConsumer(
            config: settings.kafka, groupID: settings.group,
            defaults: [("auto.offset.reset", settings.start.rawValue)] + SinkTopics.prefetchDefaults
                + KafkaConsumer.groupMemberDefaults + (settings.untilEnd ? KafkaConsumer.readToEndDefaults : []),
            partitionEOF: true)
        consumer.rebalanceHandler = KafkaRebalanceHandler(
            onAssign: { [unowned self, unowned consumer] partitions in self.assigned(partitions, consumer: consumer) },
            onRevoke: { [unowned self] partitions in
                // Runs inside poll: write what we hold before another
                // consumer starts from the stored offsets.
                self.runner.flush(wait: true)
                for partition in partitions { self.runner.revoke(partition) }
                Log.debug("sink: revoked \(partitions.map(\.description).sorted().joined(separator: ", "))")
            })
        runner.onCommitted = { [unowned self] claims in
            // Outcomes may arrive out of order; Kafka's offsets only move forward.
            for claim in claims where (self.kafkaPending[claim.topicPartition] ?? -1) < claim.next {
                self.kafkaPending[claim.topicPartition] = claim.next
            }
        }
        runner.onFenced = { [unowned self] partition, stored in
            do {
                try consumer.seek(partition, to: stored.map { .offset($0) } ?? self.fallbackStart)
            } catch {
                Log.warning("sink: seeking \(partition) after losing its offsets failed: \(error)")
            }
        }
        runner.extraCounters = { [("lag", Self.lag(consumer, self.runner.book))] }
        if settings.untilEnd {
            try assignDirectly(consumer)
        } else if settings.coordination == .kafka {
            try consumer.subscribe(settings.topics)
            Log.debug("sink: joining group \(settings.group) for \(settings.topics.joined(separator: ", "))")
        } else {
            try refreshLeases(consumer)
        }
        // Every partition of the topics, whichever this member holds: a
        // nudge wakes its leader's connection, which may fetch for ours.
        let nudger = try KafkaFetchNudger.start(for: consumer, partitions: (try? topicPartitions(consumer)) ?? [])
        defer {
            nudger?.stop()
            commitToKafka(consumer, force: true)
            consumer.close()
        }
        try consume(consumer)
        runner.flush(wait: true)
    }

    /// Offsets PostgreSQL has, not yet told to Kafka, and what Kafka has.
    private var kafkaPending: [KafkaTopicPartition: Int64] = [:]
    private var kafkaCommitted: [KafkaTopicPartition: Int64] = [:]
    private var lastKafkaCommit: Int64 = 0

    /// Kafka's committed offsets are only informational (pgk resumes from
    /// PostgreSQL), so they are sent every few seconds rather than per
    /// batch: less load, and less noise while a broker is away.
    private func commitToKafka(_ consumer: KafkaConsumer, force: Bool = false) {
        let now = SystemClock.shared.nowMilliseconds
        guard force || now - lastKafkaCommit >= 5_000 else { return }
        lastKafkaCommit = now
        let forward = kafkaPending.filter { entry in kafkaCommitted[entry.key].map { entry.value > $0 } ?? true }
        guard !forward.isEmpty else { return }
        do {
            try consumer.commit(processed: forward.map {
                KafkaPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value - 1)
            }, synchronously: false)
            kafkaCommitted.merge(forward) { max($0, $1) }
        } catch {
            Log.debug("sink: committing offsets to Kafka (informational) failed: \(error)")
        }
    }

    func assigned(_ partitions: [KafkaTopicPartition],
                          consumer: KafkaConsumer) -> [KafkaTopicPartition: KafkaStartOffset] {
        let stored: [KafkaTopicPartition: Int64]
        do {
            stored = try lookup.stored(partitions)
        } catch {
            // Only when stopping: start nowhere in particular, nothing is
            // written before we exit anyway.
            Log.warning("sink: cannot read stored offsets: \(error)")
            stored = [:]
        }
        var starts: [KafkaTopicPartition: KafkaStartOffset] = [:]
        for partition in partitions {
            runner.assign(partition, stored: stored[partition])
            starts[partition] = stored[partition].map { .offset($0) } ?? fallbackStart
            if stored[partition] == nil, settings.start == .latest,
               let high = try? consumer.watermarks(topic: partition.topic, partition: partition.partition).high {
                // Pin "latest" to an offset and store it with the next
                // batch, so a restart continues here instead of skipping
                // whatever arrived while it was down.
                starts[partition] = .offset(high)
                runner.startAt(partition, offset: high)
            }
        }
        Log.debug("sink: assigned " + partitions.sorted { $0.description < $1.description }
            .map { "\($0)@\(stored[$0].map(String.init) ?? settings.start.rawValue)" }.joined(separator: ", "))
        return starts
    }

    /// `--until-end`: read every partition at once instead of waiting
    /// seconds for a group to form. The offsets in PostgreSQL and their
    /// compare-and-set per batch still fence any other instance writing
    /// the same partitions, so this stays exactly once; it only gives up
    /// sharing the partitions with other members for this bounded run.
    private func assignDirectly(_ consumer: KafkaConsumer) throws {
        let partitions = try topicPartitions(consumer)
        guard !partitions.isEmpty else {
            throw RuntimeError("sink: no topic matches \(settings.topics.joined(separator: ", "))")
        }
        try consumer.assign(assigned(partitions, consumer: consumer))
        Log.debug("sink: --until-end reads \(partitions.count) partition(s) directly, without joining group "
            + settings.group)
    }

    /// Every partition of the topics the sink reads, regexes resolved
    /// against the cluster's topics.
    func topicPartitions(_ consumer: KafkaConsumer) throws -> [KafkaTopicPartition] {
        let timeout = settings.kafka.connectTimeoutMilliseconds
        let names = try consumer.metadata(topic: nil, timeoutMilliseconds: timeout).topics.map(\.name)
        return try SinkTopics.resolve(settings.topics, among: names).flatMap { topic in
            try consumer.partitions(of: topic, timeoutMilliseconds: timeout).map { KafkaTopicPartition(topic: topic, partition: $0) }
        }
    }

    /// Logged while the group has assigned nothing for a while.
    private var waitingSince: Int64?
    private var lastWaitingNote: Int64 = 0

    private func noteWaiting() {
        let now = SystemClock.shared.nowMilliseconds
        guard !runner.book.hasAssignment else { waitingSince = nil; return }
        let since = waitingSince ?? now
        waitingSince = since
        guard now - since >= 5_000, now - lastWaitingNote >= 15_000 else { return }
        lastWaitingNote = now
        if settings.coordination == .postgres {
            Log.info("sink: waiting \((now - since) / 1000) s for partitions of \(settings.topics.joined(separator: ", ")) "
                + "(other instances of group \(settings.group) may hold them all, or no topic matches yet)")
            return
        }
        Log.info("sink: waiting \((now - since) / 1000) s for group \(settings.group) to assign partitions of "
            + "\(settings.topics.joined(separator: ", ")) (a member that died keeps its partitions until "
            + "session.timeout.ms passes; other members may hold them all)")
    }

    private func consume(_ consumer: KafkaConsumer) throws {
        var retry = Retry(stop: stop, backoff: Backoff(initialMilliseconds: 500, maximumMilliseconds: 10_000))
        while !stop.isStopped && !runner.isFailed && !runner.reachedMaxMessages {
            let timeout = Int(min(runner.millisecondsUntilDue ?? 200, 200))
            let room = max(1, min(10_000, settings.batchSize - runner.bufferedCount))
            do {
                try consumer.pollBatch(maxMessages: room, timeoutMilliseconds: timeout) { record in
                    switch record {
                    case .message(let view): runner.offer(view, topic: view.topic)
                    case .partitionEnd(let end): runner.reachedEnd(end.topicPartition, nextOffset: end.offset)
                    }
                }
                retry.reset()
            } catch let error as KafkaError {
                if consumer.state.fatalError != nil { throw error }
                // Written before the pause: a due batch must not wait out the outage.
                runner.flushIfDue()
                _ = try retry.pause { "sink: Kafka: \(error); retrying in \($0)" }
                continue
            }
            runner.flushIfDue()
            if !settings.untilEnd && settings.coordination == .postgres { try refreshLeases(consumer) }
            commitToKafka(consumer)
            if !settings.untilEnd { noteWaiting() }
            if runner.book.allAtEnd && runner.bufferedCount > 0 {
                // Caught up: write now rather than wait out --batch-timeout.
                runner.flush(wait: false)
            }
            if settings.untilEnd && runner.book.allAtEnd {
                runner.flush(wait: true)
                if runner.book.allAtEnd && runner.isIdle { break }
            }
            runner.tick()
            runner.metrics?.refreshLag(now: SystemClock.shared.nowMilliseconds) { Self.lags(consumer, runner.book) }
        }
    }

    /// `lag` per assigned partition, for the metrics.
    static func lags(_ consumer: KafkaConsumer, _ book: PartitionBook) -> [(KafkaTopicPartition, Int64)] {
        book.slots.filter(\.assigned).map { slot in
            let high = consumer.cachedHighWatermark(topic: slot.topicPartition.topic, partition: slot.topicPartition.partition)
            let position = slot.position >= 0 ? slot.position : slot.stored ?? 0
            return (slot.topicPartition, max(0, (high ?? position) - position))
        }
    }

    /// Messages behind the high watermark over the assigned partitions,
    /// from librdkafka's cached watermarks (no broker round trip).
    static func lag(_ consumer: KafkaConsumer, _ book: PartitionBook) -> Int {
        var total: Int64 = 0
        for slot in book.slots where slot.assigned && slot.position >= 0 {
            if let high = consumer.cachedHighWatermark(topic: slot.topicPartition.topic,
                                                       partition: slot.topicPartition.partition) {
                total += max(0, high - slot.position)
            }
        }
        return Int(total)
    }
}
