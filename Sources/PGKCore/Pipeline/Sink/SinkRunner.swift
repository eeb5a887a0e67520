/// Drives one sink. A source (Kafka or a file) feeds messages to `offer`
/// on its own thread, which decodes them into the open batch; sealed
/// batches go to writer threads, one batch each, so decoding overlaps
/// with writing, and with two writers one batch's COPY overlaps the
/// previous batch's statements in PostgreSQL (a second backend, a second
/// core). The offset claims serialize their commits per partition.
/// Outcomes come back to the source thread, oldest first, which confirms
/// or fences offsets.
final class SinkRunner {
    let settings: SinkSettings
    let stop: StopToken
    private(set) var book = PartitionBook()
    private var builder: BatchBuilder
    private let stager: RecordStager
    private let workers: [BackgroundWorker<StagedBatch, WriteOutcome>]
    /// Workers with a batch, oldest first.
    private var inFlight: [Int] = []
    private var nextSequence: UInt64 = 0
    private let progress: ProgressReporter
    /// nil without --metrics.
    let metrics: SinkMetrics?

    /// Messages staged (ignored ones, from revoked partitions or before
    /// a seek position, are not counted).
    private(set) var consumed = 0
    private(set) var stats = WriteStats()
    private(set) var counters = StageCounters()
    /// The writer failed: nothing more may be written.
    private var writeFailure: SinkFailure?
    /// A message was fatal (--on-error fail, --on-tombstone fail): what
    /// came before it is still written, then the sink stops.
    private var messageFailure: SinkFailure?
    private let clock: any MonotonicClock
    private let startedAt: Int64
    /// When the first message was staged (the group join and setup are over).
    private var firstMessageAt: Int64?

    /// Called on the source thread with offsets that are now durable.
    var onCommitted: ([OffsetClaim]) -> Void = { _ in }
    /// Called when another consumer owns a partition's offsets now: the
    /// source must read it again from `stored` (nil: from --offset).
    var onFenced: (KafkaTopicPartition, Int64?) -> Void = { _, _ in }
    /// Extra counters for the progress line (lag).
    var extraCounters: () -> ProgressReporter.Counters = { [] }

    init(settings: SinkSettings, writers: [any BatchWriting], registry: SchemaRegistryClient?, stop: StopToken,
         metrics: SinkMetrics? = nil, clock: any MonotonicClock = SystemClock.shared) throws {
        self.settings = settings
        self.stop = stop
        builder = BatchBuilder(maxRows: settings.batchSize, maxAgeMilliseconds: settings.batchTimeoutMilliseconds,
                               clock: clock)
        stager = try RecordStager(settings: settings, registry: registry, onError: settings.onError)
        workers = writers.enumerated().map { index, writer in
            BackgroundWorker(name: "pgk sink writer \(index)") { batch in
                guard let metrics else { return writer.write(batch) }
                let started = ContinuousClock.now
                let outcome = writer.write(batch)
                metrics.batchSeconds.observe(ContinuousClock.now - started)
                return outcome
            }
        }
        self.metrics = metrics
        progress = ProgressReporter(label: "sink", clock: clock)
        self.clock = clock
        startedAt = clock.nowMilliseconds
    }

    deinit { workers.forEach { $0.shutdown() } }

    var failure: SinkFailure? { writeFailure ?? messageFailure }
    var isFailed: Bool { failure != nil }
    var bufferedCount: Int { builder.count }
    var isIdle: Bool { builder.isEmpty && inFlight.isEmpty }
    var millisecondsUntilDue: Int64? { builder.millisecondsUntilDue }
    var reachedMaxMessages: Bool { settings.maxMessages.map { consumed >= $0 } ?? false }

    /// Decodes one message into the open batch. Registry outages are
    /// retried here (the message is still valid); a fatal outcome stops
    /// the sink after what came before it is written.
    func offer<M: SinkMessage>(_ message: M, topic: String) {
        guard failure == nil, !reachedMaxMessages,
              let slot = book.accept(topic: topic, partition: message.partition, offset: message.offset) else { return }
        let topicIndex = book.topicIndex(ofSlot: slot)
        // The stager throws only registry outages (the message is still
        // valid), so every thrown error is worth waiting out.
        var retry = Retry(stop: stop, backoff: Backoff(initialMilliseconds: 500, maximumMilliseconds: 30_000))
        do {
            let outcome = try retry.run("sink: schema registry lookup", isRetryable: { _ in true }) {
                try stager.stage(message, topicIndex: topicIndex, into: &builder)
            }
            switch outcome {
            case .staged:
                book.record(slot: slot, offset: message.offset)
                consumed += 1
                if firstMessageAt == nil { firstMessageAt = clock.nowMilliseconds }
            case .fatal(let reason):
                messageFailure = SinkFailure("\(topic)[\(message.partition)] offset \(message.offset): \(reason)")
            }
        } catch {
            messageFailure = SinkFailure("stopped while the schema registry was unreachable: \(error)")
        }
    }

    func assign(_ partition: KafkaTopicPartition, stored: Int64?) { book.assign(partition, stored: stored) }
    /// Another consumer gets the partition: its messages still in the open
    /// batch are dropped (the source writes before giving partitions up, so
    /// normally there are none), and no claim is made for it.
    func revoke(_ partition: KafkaTopicPartition) {
        book.revoke(partition)
        dropStaged(partition)
    }
    /// Starts a partition without a stored offset at `offset`, and stores
    /// that with the next batch.
    func startAt(_ partition: KafkaTopicPartition, offset: Int64) {
        guard offset > 0, let slot = book.accept(topic: partition.topic, partition: partition.partition, offset: offset - 1) else {
            return
        }
        book.record(slot: slot, offset: offset - 1)
    }
    func reachedEnd(_ partition: KafkaTopicPartition, nextOffset: Int64) {
        book.reachedEnd(partition, nextOffset: nextOffset)
    }

    /// Handles finished batches, oldest first, without blocking.
    func collect() {
        while let oldest = inFlight.first, let outcome = workers[oldest].poll() {
            inFlight.removeFirst()
            handle(outcome)
        }
    }

    /// Waits for every batch in flight.
    func drain() {
        while let oldest = inFlight.first {
            inFlight.removeFirst()
            if let outcome = workers[oldest].wait() { handle(outcome) }
        }
    }

    /// Seals the open batch and hands it to a free writer (waiting for the
    /// oldest batch when all are busy). With `wait`, returns only once
    /// everything is committed.
    func flush(wait: Bool) {
        collect()
        if inFlight.count == workers.count {
            let oldest = inFlight.removeFirst()
            if let outcome = workers[oldest].wait() { handle(outcome) }
        }
        let claims = book.seal()
        if writeFailure == nil && (!builder.isEmpty || !claims.isEmpty),
           let free = workers.indices.first(where: { !inFlight.contains($0) }) {
            var batch = builder.seal(topics: book.topics, claims: claims)
            batch.sequence = nextSequence
            nextSequence += 1
            workers[free].start(batch)
            inFlight.append(free)
        }
        if wait { drain() }
        tick()
    }

    func flushIfDue() {
        collect()
        if builder.isDue { flush(wait: false) }
    }

    private func handle(_ outcome: WriteOutcome) {
        for claim in outcome.committed { book.confirm(claim.topicPartition, next: claim.next) }
        if !outcome.committed.isEmpty { onCommitted(outcome.committed) }
        for (partition, stored) in outcome.fenced {
            book.fence(partition, stored: stored)
            dropStaged(partition)
            onFenced(partition, stored)
        }
        stats += outcome.stats
        counters += outcome.counters
        metrics?.rowsWritten.add(Double(outcome.stats.rowsWritten))
        metrics?.deadLetters.add(Double(outcome.stats.deadLettered))
        if let error = outcome.failure, writeFailure == nil { writeFailure = error }
    }

    private func dropStaged(_ partition: KafkaTopicPartition) {
        builder.remove { row in
            row.partition == partition.partition && book.topics[Int(row.topicIndex)] == partition.topic
        }
    }

    func tick() {
        if let metrics {
            metrics.messages.set(Double(consumed))
            if let failure { metrics.health.unhealthy("failed: \(failure)") }
            else if stop.isStopped { metrics.health.unhealthy("stopping") }
            else if !book.hasAssignment { metrics.health.unhealthy("no partitions assigned") }
            else { metrics.health.healthy() }
        }
        progress.tick(units: consumed, unitName: "msgs", counters: self.progressCounters + self.extraCounters())
    }

    private var progressCounters: ProgressReporter.Counters {
        [("rows written", stats.rowsWritten), ("dead-lettered", stats.deadLettered)]
    }

    /// Waits for the writer, stops its thread and prints the summary.
    func finish() {
        drain()
        workers.forEach { $0.shutdown() }
        var summary: ProgressReporter.Counters = [("rows written", stats.rowsWritten)]
        if stats.rowsDeleted > 0 { summary.append(("rows deleted", stats.rowsDeleted)) }
        summary.append(("dead-lettered", stats.deadLettered))
        if stats.filtered > 0 { summary.append(("filtered", stats.filtered)) }
        if stats.errorsSkipped + counters.errorsSkipped > 0 {
            summary.append(("bad skipped", stats.errorsSkipped + counters.errorsSkipped))
        }
        if counters.tombstonesSkipped > 0 { summary.append(("tombstones skipped", counters.tombstonesSkipped)) }
        if counters.nonFinite > 0 { summary.append(("NaN/Infinity as null", counters.nonFinite)) }
        let unknown = stats.unknownFields.values.reduce(0, +)
        if unknown > 0 {
            summary.append(("unknown fields dropped", unknown))
            let names = stats.unknownFields.sorted { $0.value > $1.value }.prefix(10)
                .map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
            Log.info("sink: fields without a column in \(settings.table), dropped: \(names)")
        }
        progress.finish(units: consumed, unitName: "msgs", counters: summary)
        if let first = firstMessageAt {
            let now = clock.nowMilliseconds
            let rate = Double(consumed) * 1000 / Double(max(1, now - first))
            Log.debug("sink: first message \(first - startedAt) ms after start; \(consumed) msgs in the "
                + "\(now - first) ms since (\(Int(rate)) msgs/s)")
        }
    }
}
