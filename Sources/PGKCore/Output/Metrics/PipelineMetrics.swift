import Synchronization

/// `pgk sink`'s metrics. The runner stores totals it already keeps and
/// times batches on the writer threads; the Kafka loop refreshes the lag.
final class SinkMetrics: Sendable {
    let health = HealthStatus(starting: "starting: no partitions assigned yet")
    let messages: Counter
    let rowsWritten: Counter
    let deadLetters: Counter
    let batchSeconds: Histogram
    let lag: LagGauge
    private let lastLag = Atomic<Int64>(0)

    init(_ registry: MetricsRegistry) {
        messages = registry.counter("pgk_sink_messages_total", help: "Kafka messages consumed into batches")
        rowsWritten = registry.counter("pgk_sink_rows_written_total", help: "Rows inserted or updated in the target table")
        deadLetters = registry.counter("pgk_sink_dead_letters_total", help: "Messages written to the dead-letter target")
        batchSeconds = registry.histogram("pgk_sink_batch_write_seconds",
                                          help: "Time to write and commit one batch (one transaction)")
        lag = LagGauge(registry, name: "pgk_sink_consumer_lag_messages")
    }

    /// At most once a second: lag is read from librdkafka's cached watermarks.
    func refreshLag(now: Int64, _ lags: () -> [(KafkaTopicPartition, Int64)]) {
        guard now - lastLag.load(ordering: .relaxed) >= 1000 else { return }
        lastLag.store(now, ordering: .relaxed)
        lag.update(lags())
    }
}

/// Consumer lag per assigned partition; partitions no longer reported
/// (revoked) lose their series.
final class LagGauge: Sendable {
    private let gauge: Gauge
    private let known = Mutex<Set<KafkaTopicPartition>>([])

    init(_ registry: MetricsRegistry, name: String) {
        gauge = registry.gauge(name, help: "Messages behind the high watermark, per assigned partition",
                               labels: ["topic", "partition"])
    }

    func update(_ current: [(KafkaTopicPartition, Int64)]) {
        let keys = Set(current.map(\.0))
        let gone = known.withLock { known in defer { known = keys }; return known.subtracting(keys) }
        for partition in gone { gauge.remove(labels: [partition.topic, String(partition.partition)]) }
        for (partition, value) in current { gauge.set(Double(value), labels: [partition.topic, String(partition.partition)]) }
    }
}

/// `pgk cdc wal run`'s metrics, updated by the streaming thread.
final class WALMetrics: Sendable {
    let health = HealthStatus(starting: "starting: not streaming yet")
    let events: Counter
    let transactions: Counter
    let confirmedLSN: Gauge
    let slotLagBytes: Gauge
    let inFlight: Gauge
    let deliverySeconds: Histogram
    /// Transactions read and not yet acknowledged: (end LSN, read at), oldest first.
    private let pending = Mutex<[(lsn: UInt64, at: ContinuousClock.Instant)]>([])
    private let lastLagQuery = Atomic<Int64>(Int64.min)
    static let pendingLimit = 10_000

    init(_ registry: MetricsRegistry) {
        events = registry.counter("pgk_wal_events_total",
                                  help: "Change events produced to Kafka (snapshot rows included)")
        transactions = registry.counter("pgk_wal_transactions_total", help: "Transactions streamed from the slot")
        confirmedLSN = registry.gauge(
            "pgk_wal_confirmed_lsn",
            help: "LSN (as a number) up to which Kafka acknowledged every event; confirmed to the slot")
        slotLagBytes = registry.gauge(
            "pgk_wal_slot_lag_bytes",
            help: "Bytes of WAL between the server's current position and the slot's confirmed position")
        inFlight = registry.gauge("pgk_wal_in_flight_events", help: "Events produced and not yet acknowledged by Kafka")
        deliverySeconds = registry.histogram(
            "pgk_wal_delivery_seconds",
            help: "From reading a transaction's commit off the slot to Kafka acknowledging all its events")
    }

    /// A transaction's commit was read; it is delivered once `flushed` passes `end`.
    func committed(_ end: LSN) {
        pending.withLock { list in
            // A stalled broker must not grow this without bound; drop the newest.
            if list.count < Self.pendingLimit { list.append((end.value, .now)) }
        }
    }

    /// Records delivery of every transaction at or before `flushed`.
    func acknowledged(through flushed: LSN, events total: Int, inFlight count: Int) {
        events.set(Double(total))
        inFlight.set(Double(count))
        guard flushed > .zero else { return }
        confirmedLSN.set(Double(flushed.value))
        let now = ContinuousClock.now
        let done = pending.withLock { list -> [ContinuousClock.Instant] in
            let n = list.prefix { $0.lsn <= flushed.value }.count
            defer { list.removeFirst(n) }
            return list.prefix(n).map(\.at)
        }
        for at in done { deliverySeconds.observe(now - at) }
    }

    /// Whether the slot lag is due for a refresh (every 5 s).
    func lagQueryDue(now: Int64) -> Bool {
        let last = lastLagQuery.load(ordering: .relaxed)
        guard last == Int64.min || now - last >= 5_000 else { return false }
        lastLagQuery.store(now, ordering: .relaxed)
        return true
    }
}

/// `pgk cdc outbox run`'s metrics, updated by the shipper's thread.
final class OutboxMetrics: Sendable {
    let health = HealthStatus(starting: "starting: not connected yet")
    let shipped: Counter
    let queueDepth: Gauge
    let oldestAge: Gauge
    let leader: Gauge
    private let lastBacklog = Atomic<Int64>(Int64.min)

    init(_ registry: MetricsRegistry) {
        shipped = registry.counter("pgk_outbox_events_shipped_total",
                                   help: "Events acknowledged by Kafka and deleted from the queue")
        queueDepth = registry.gauge("pgk_outbox_queue_depth", help: "Events waiting in the queue")
        oldestAge = registry.gauge("pgk_outbox_oldest_event_age_seconds",
                                   help: "Age of the oldest queued event (0 when empty; pgk's own queue only)")
        leader = registry.gauge("pgk_outbox_leader", help: "1 while this process leads (ships) the queue, else 0")
        leader.set(0)
    }

    /// Whether the queue's depth is due for a refresh (every 2 s).
    func backlogDue(now: Int64) -> Bool {
        let last = lastBacklog.load(ordering: .relaxed)
        guard last == Int64.min || now - last >= 2_000 else { return false }
        lastBacklog.store(now, ordering: .relaxed)
        return true
    }
}
