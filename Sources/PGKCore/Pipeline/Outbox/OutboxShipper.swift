/// How `pgk cdc outbox run` behaves.
struct OutboxRunOptions: Sendable {
    var batchSize = 5_000
    /// How long to sleep without a NOTIFY before looking anyway (the safety sweep).
    var pollIntervalMilliseconds = 1_000
    /// How often a standby tries to become the leader.
    var standbyRetryMilliseconds = 500
    var exitWhenEmpty = false
    /// Print events as NDJSON on stdout; claim and delete nothing.
    var dryRun = false
    var createTopics = false
    /// After SIGTERM/SIGINT, how long the batch in flight may take to be acknowledged.
    var stopGraceMilliseconds = 30_000
    /// Rows per claim statement within a batch.
    static let chunkSize = 2_500
    init() {}
}

/// What a run did.
struct OutboxRunSummary: Sendable, Equatable {
    var shipped = 0
    var batches = 0
    /// Claims rolled back and retried (broker trouble, partial failures).
    var retriedBatches = 0
    /// Events printed by a dry run.
    var previewed = 0
}

/// Connects, wins (or waits for) leadership, then loops: claim a batch,
/// encode it, produce it, wait for every acknowledgement, commit the claim.
/// Database and broker outages are logged and retried with backoff; what
/// cannot succeed by retrying (a missing topic, an event that cannot be
/// encoded, a missing table) ends the run with an error naming it.
final class OutboxShipper<Queue: OutboxQueue> {
    private var queue: Queue
    private let conninfo: String?
    private let kafka: KafkaConfig
    private let options: OutboxRunOptions
    private let stop: StopToken
    private let encode: (Queue.Item) throws -> OutboxMessage
    private let preview: (Queue.Item) throws -> [UInt8]
    private let output: OutputSink
    private let topics: OutboxTopicChecker
    private var delivery: OutboxDelivery?
    private var summary = OutboxRunSummary()
    private var progress: ProgressReporter?
    /// nil without --metrics.
    var metrics: OutboxMetrics?

    init(queue: Queue, conninfo: String?, kafka: KafkaConfig, options: OutboxRunOptions, stop: StopToken,
         output: OutputSink = .standardOutput,
         encode: @escaping (Queue.Item) throws -> OutboxMessage,
         preview: @escaping (Queue.Item) throws -> [UInt8]) {
        self.queue = queue
        self.conninfo = conninfo
        self.kafka = kafka
        self.options = options
        self.stop = stop
        self.output = output
        self.encode = encode
        self.preview = preview
        topics = OutboxTopicChecker(config: kafka, createTopics: options.createTopics)
    }

    func run() throws -> OutboxRunSummary {
        var retry = Retry(stop: stop, backoff: Backoff(initialMilliseconds: 250, maximumMilliseconds: 15_000))
        let progress = ProgressReporter(label: options.dryRun ? "outbox dry run" : "outbox")
        self.progress = progress
        defer {
            metrics?.leader.set(0)
            metrics?.health.unhealthy("stopped")
            progress.finish(units: options.dryRun ? summary.previewed : summary.shipped, unitName: "events",
                            counters: options.dryRun ? [] : [("batches", summary.batches), ("retried", summary.retriedBatches)])
        }
        // Until the first start succeeds, nothing has been shipped: an
        // unreachable database or broker is a mistake to report, not an
        // outage to wait out.
        var started = false
        while !stop.isStopped {
            do {
                let db = try PostgresConnection(conninfo: conninfo, applicationName: "pgk cdc outbox")
                try queue.prepare(on: db)
                if !started && !options.dryRun {
                    _ = try KafkaAdmin(config: kafka) // fails within the connect timeout when no broker answers
                }
                started = true
                if options.dryRun {
                    try db.listen(OutboxSchema.notifyChannel)
                    try previewLoop(db)
                    return summary
                }
                guard try becomeLeader(db) else { return summary }
                // LISTEN before the first claim, so no NOTIFY can fall between.
                try db.listen(OutboxSchema.notifyChannel)
                retry.reset()
                if try leaderLoop(db, retry: &retry) { return summary }
            } catch {
                guard started, Retry.isTransient(error), !stop.isStopped else { throw error }
                metrics?.leader.set(0)
                metrics?.health.unhealthy("reconnecting after: \(error)")
                if error is KafkaError { delivery = nil } // a fresh producer after fatal client errors
                _ = try retry.pause { "outbox: \(error); retrying in \($0)" }
            }
        }
        return summary
    }

    /// Waits as a standby until this process holds the queue's lock; false
    /// when it should end instead (stopped, or --exit-when-empty and empty).
    private func becomeLeader(_ db: PostgresConnection) throws -> Bool {
        var announced = false
        while !stop.isStopped {
            if try OutboxLeadership.tryAcquire(queue: queue.name, on: db) {
                metrics?.leader.set(1)
                metrics?.health.healthy()
                Log.info("outbox: leading \(queue.name) (backend \(db.backendPID))")
                return true
            }
            if !announced {
                announced = true
                metrics?.health.healthy() // a standby is doing its job
                let holder = try OutboxLeadership.holder(queue: queue.name, on: db)
                Log.info("outbox: standing by; another shipper leads \(queue.name)"
                    + (holder.map { " (backend \($0.pid), \($0.applicationName))" } ?? ""))
            }
            if options.exitWhenEmpty, try queue.pendingCount(on: db) == 0 { return false }
            publishBacklog(db)
            stop.sleep(milliseconds: options.standbyRetryMilliseconds)
        }
        return false
    }

    /// Ships until stopped; true when the run is over (stopped or drained).
    private func leaderLoop(_ db: PostgresConnection, retry: inout Retry) throws -> Bool {
        while !stop.isStopped {
            let delivery = try self.delivery ?? OutboxDelivery(config: kafka)
            self.delivery = delivery
            try delivery.idle()
            let shipped = try shipOneBatch(db, delivery: delivery, retry: &retry)
            publishBacklog(db)
            if shipped > 0 { continue }
            if options.exitWhenEmpty { return true }
            _ = try db.waitForNotifications(timeoutMilliseconds: options.pollIntervalMilliseconds, stop: stop)
        }
        return true
    }

    /// One claim → encode → produce → acknowledge → commit cycle; returns
    /// how many items it shipped (0 when the queue was empty). The batch is
    /// claimed in chunks within its one transaction, each produced at once,
    /// so Kafka delivers a chunk while the next is read from the database.
    private func shipOneBatch(_ db: PostgresConnection, delivery: OutboxDelivery,
                              retry: inout Retry) throws -> Int {
        try db.begin()
        var committed = false
        defer { if !committed { db.rollbackQuietly() } }
        delivery.begin()
        var items: [Queue.Item] = []
        var messages: [OutboxMessage] = []
        let chunkSize = max(1, min(options.batchSize, OutboxRunOptions.chunkSize))
        while items.count < options.batchSize {
            let wanted = min(chunkSize, options.batchSize - items.count)
            let chunk = try queue.claim(limit: wanted, on: db)
            let encoded = try chunk.map(encode)
            try topics.ensure(encoded.map(\.topic))
            delivery.produce(encoded)
            try delivery.idle()
            items += chunk
            messages += encoded
            if chunk.count < wanted { break }
        }
        guard !items.isEmpty else {
            try db.commit()
            committed = true
            return 0
        }
        let outcome = try delivery.finish(stop: stop, graceMilliseconds: options.stopGraceMilliseconds)
        if outcome.allAcknowledged {
            try db.commit()
            committed = true
            record(items.count)
            retry.reset()
            return items.count
        }
        // Keep only the acknowledged prefix deleted; everything from the
        // first unacknowledged item on is shipped again, in order.
        db.rollbackQuietly()
        committed = true
        let prefix = outcome.acknowledgedPrefix
        try queue.delete(items[..<prefix], on: db)
        record(prefix)
        summary.retriedBatches += 1
        guard let failure = outcome.firstFailure else {
            // Stopped before every report arrived; the rest ships next run.
            Log.warning("outbox: stopping with \(items.count - prefix) event(s) unacknowledged; they stay queued")
            return prefix
        }
        let message = messages[failure.index]
        if failure.error.kind == .unknownTopic { throw OutboxMissingTopicError(topic: message.topic) }
        guard failure.error.isTransient else {
            throw RuntimeError("Kafka rejected \(queue.describe(items[failure.index])) for topic \(message.topic): "
                + "\(failure.error)")
        }
        _ = try retry.pause { "outbox: \(items.count - prefix) event(s) not delivered (\(failure.error)); retrying in \($0)" }
        return prefix
    }

    private func record(_ count: Int) {
        guard count > 0 else { return }
        summary.shipped += count
        metrics?.shipped.add(Double(count))
        summary.batches += 1
        progress?.tick(units: summary.shipped, unitName: "events", counters: [("batches", summary.batches)])
    }

    /// Refreshes the queue depth and age for --metrics, every few seconds.
    private func publishBacklog(_ db: PostgresConnection) {
        guard let metrics, metrics.backlogDue(now: SystemClock.shared.nowMilliseconds) else { return }
        do {
            let backlog = try queue.backlog(on: db)
            metrics.queueDepth.set(Double(backlog.depth))
            if let age = backlog.oldestAgeSeconds { metrics.oldestAge.set(age) }
        } catch {
            // The next claim meets the same trouble and handles it.
            Log.debug("metrics: reading the queue depth failed: \(error)")
        }
    }

    /// --dry-run: prints every queued item once, in shipping order, as it
    /// becomes visible; deletes nothing. Each pass pages through the whole
    /// queue, so an item committed late below earlier ones is still printed.
    private func previewLoop(_ db: PostgresConnection) throws {
        var printed = Set<String>()
        while !stop.isStopped {
            var fresh = 0
            var cursor: Queue.Item?
            while true {
                let page = try queue.peek(after: cursor, limit: options.batchSize, on: db)
                for item in page where printed.insert(queue.identity(of: item)).inserted {
                    try output.write(try preview(item) + [UInt8(ascii: "\n")])
                    fresh += 1
                }
                cursor = page.last
                if page.count < options.batchSize { break }
            }
            try output.flush()
            summary.previewed += fresh
            if fresh == 0 && options.exitWhenEmpty { return }
            if fresh > 0 && options.exitWhenEmpty { continue }
            _ = try db.waitForNotifications(timeoutMilliseconds: options.pollIntervalMilliseconds, stop: stop)
        }
    }
}
