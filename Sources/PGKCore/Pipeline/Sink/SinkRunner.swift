/// Drives one sink. A source (Kafka or a file) feeds messages to `offer`
/// on its own thread, which decodes them into the open batch; sealed
/// batches go to the writer thread, one in flight, so decoding the next
/// batch overlaps with PostgreSQL writing this one. Outcomes come back to
/// the source thread, which confirms or fences offsets.
final class SinkRunner {
    let settings: SinkSettings
    let stop: StopToken
    private(set) var book = PartitionBook()
    private var builder: BatchBuilder
    private let stager: RecordStager
    private let worker: BackgroundWorker<StagedBatch, WriteOutcome>
    private let progress: ProgressReporter

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
    private var inFlight = false

    /// Called on the source thread with offsets that are now durable.
    var onCommitted: ([OffsetClaim]) -> Void = { _ in }
    /// Called when another consumer owns a partition's offsets now: the
    /// source must read it again from `stored` (nil: from --offset).
    var onFenced: (KafkaTopicPartition, Int64?) -> Void = { _, _ in }
    /// Extra counters for the progress line (lag).
    var extraCounters: () -> ProgressReporter.Counters = { [] }

    init(settings: SinkSettings, writer: BatchWriter, registry: SchemaRegistryClient?, stop: StopToken,
         clock: any MonotonicClock = SystemClock.shared) throws {
        self.settings = settings
        self.stop = stop
        builder = BatchBuilder(maxRows: settings.batchSize, maxAgeMilliseconds: settings.batchTimeoutMilliseconds,
                               clock: clock)
        stager = try RecordStager(packing: settings.packing, keyPacking: settings.keyPacking, registry: registry,
                                  tombstones: settings.effectiveTombstonePolicy, keyColumns: settings.conflictColumns,
                                  onError: settings.onError)
        worker = BackgroundWorker(name: "pgk sink writer") { writer.write($0) }
        progress = ProgressReporter(label: "sink", clock: clock)
    }

    deinit { worker.shutdown() }

    var failure: SinkFailure? { writeFailure ?? messageFailure }
    var isFailed: Bool { failure != nil }
    var bufferedCount: Int { builder.count }
    var isIdle: Bool { builder.isEmpty && !inFlight }
    var millisecondsUntilDue: Int64? { builder.millisecondsUntilDue }
    var reachedMaxMessages: Bool { settings.maxMessages.map { consumed >= $0 } ?? false }

    /// Decodes one message into the open batch. Registry outages are
    /// retried here (the message is still valid); a fatal outcome stops
    /// the sink after what came before it is written.
    func offer<M: SinkMessage>(_ message: M, topic: String) {
        guard failure == nil, !reachedMaxMessages,
              let slot = book.accept(topic: topic, partition: message.partition, offset: message.offset) else { return }
        let topicIndex = book.topicIndex(ofSlot: slot)
        var backoff = Backoff(initialMilliseconds: 500, maximumMilliseconds: 30_000)
        while true {
            do throws(RegistryError) {
                switch try stager.stage(message, topicIndex: topicIndex, into: &builder) {
                case .staged:
                    book.record(slot: slot, offset: message.offset)
                    consumed += 1
                case .fatal(let reason):
                    messageFailure = SinkFailure("\(topic)[\(message.partition)] offset \(message.offset): \(reason)")
                }
                return
            } catch {
                if stop.isStopped {
                    messageFailure = SinkFailure("stopped while the schema registry was unreachable: \(error)")
                    return
                }
                let delay = backoff.nextDelayMilliseconds()
                Log.warning("sink: schema registry unavailable, retrying in \(Retry.formatDuration(delay)): \(error)")
                stop.sleep(milliseconds: delay)
            }
        }
    }

    func assign(_ partition: KafkaTopicPartition, stored: Int64?) { book.assign(partition, stored: stored) }
    func revoke(_ partition: KafkaTopicPartition) { book.revoke(partition) }
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

    /// Collects a finished batch's outcome without blocking.
    func collect() {
        if let outcome = worker.poll() { handle(outcome) }
    }

    /// Seals the open batch and hands it to the writer once the previous
    /// one is done. With `wait`, returns only after it is committed.
    func flush(wait: Bool) {
        if inFlight, let previous = worker.wait() { handle(previous) }
        inFlight = false
        let claims = book.seal()
        if writeFailure == nil && (!builder.isEmpty || !claims.isEmpty) {
            let batch = builder.seal(topics: book.topics, claims: claims)
            worker.start(batch)
            inFlight = true
        }
        if wait, inFlight, let outcome = worker.wait() {
            inFlight = false
            handle(outcome)
        }
        tick()
    }

    func flushIfDue() {
        collect()
        if builder.isDue { flush(wait: false) }
    }

    private func handle(_ outcome: WriteOutcome) {
        inFlight = false
        for claim in outcome.committed { book.confirm(claim.topicPartition, next: claim.next) }
        if !outcome.committed.isEmpty { onCommitted(outcome.committed) }
        for (partition, stored) in outcome.fenced {
            book.fence(partition, stored: stored)
            builder.remove { row in
                row.partition == partition.partition && book.topics[Int(row.topicIndex)] == partition.topic
            }
            onFenced(partition, stored)
        }
        stats += outcome.stats
        counters += outcome.counters
        if let error = outcome.failure, writeFailure == nil { writeFailure = error }
    }

    func tick() {
        progress.tick(units: consumed, unitName: "msgs", counters: self.progressCounters + self.extraCounters())
    }

    private var progressCounters: ProgressReporter.Counters {
        [("rows written", stats.rowsWritten), ("dead-lettered", stats.deadLettered)]
    }

    /// Waits for the writer, stops its thread and prints the summary.
    func finish() {
        if inFlight, let outcome = worker.wait() { handle(outcome) }
        inFlight = false
        worker.shutdown()
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
    }
}
