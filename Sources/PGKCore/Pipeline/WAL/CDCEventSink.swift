/// The producer side of the WAL pipeline: every message goes through
/// here, so the flush tracker sees each one and its delivery ack.
///
/// Defaults (all overridable with -X): acks=all with the idempotent
/// producer, and `message.timeout.ms=0` (retry forever) so a broker outage
/// is backpressure, never a dropped change. `linger.ms=20` fills batches
/// when keys spread events over many partitions (half the broker CPU of 5 ms). A failed delivery is fatal: the
/// run stops without confirming past it, and the next run replays it.
final class CDCEventSink {
    let producer: KafkaProducer
    private(set) var tracker: FlushTracker
    /// The first failed delivery, if any.
    private(set) var failure: KafkaDeliveryReport?
    let maxInFlight: Int
    private var nextID: UInt64 = 1
    /// Stops waits inside the producer only when pgk gives up on draining;
    /// SIGINT must not abort a produce whose message is half-accounted.
    let producerStop = StopToken()

    static let defaults: [(String, String)] = [
        ("acks", "all"),
        ("message.timeout.ms", "0"),
        ("linger.ms", "20"),
        ("batch.num.messages", "10000"),
        ("queue.buffering.max.messages", "200000"),
        ("sticky.partitioning.linger.ms", "0"),
    ]

    init(config: KafkaConfig, maxInFlight: Int = 150_000) throws {
        // Outages are waited out here (logged), not turned into errors by
        // the client's health check after the connect timeout.
        var patient = config
        patient.connectTimeoutMilliseconds = Int(Int32.max)
        producer = try KafkaProducer(config: patient, defaults: CDCEventSink.defaults, stop: producerStop,
                                     verifyConnection: false)
        tracker = FlushTracker(flushed: .zero)
        self.maxInFlight = maxInFlight
        producer.reportSuccesses = true
        producer.onDelivery = { [unowned self] report in
            if report.error == nil {
                tracker.delivered(id: report.messageID)
            } else if failure == nil {
                failure = report
            }
        }
    }

    /// Starts tracking from `flushed` (the position streaming starts at).
    func resetPosition(_ flushed: LSN) {
        if flushed > tracker.flushed {
            var fresh = FlushTracker(flushed: flushed, firstEventID: nextID)
            precondition(tracker.inFlight == 0, "cannot move the flush position with events in flight")
            swap(&fresh, &tracker)
        }
    }

    func reached(_ lsn: LSN) { tracker.reached(lsn) }

    var hasRoom: Bool { tracker.inFlight < maxInFlight }

    func send(topic: String, key: [UInt8]?, value: [UInt8]?) throws {
        try withOptionalBytes(key) { key in
            try withOptionalBytes(value) { value in try send(topic: topic, key: key, value: value) }
        }
    }

    /// librdkafka copies the bytes, so the caller may reuse its buffers.
    func send(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) throws {
        try checkFailure()
        // Registered before the produce call: its internal poll may already
        // serve acks, and an ack for an unknown id would be lost.
        tracker.produced(id: nextID)
        let id = try producer.produce(topic: topic, key: key, value: value)
        precondition(id == nextID, "producer message ids are not consecutive")
        nextID += 1
    }

    /// Serves delivery reports for up to `timeoutMilliseconds`.
    func poll(timeoutMilliseconds: Int = 0) throws {
        try producer.poll(timeoutMilliseconds: timeoutMilliseconds)
        try checkFailure()
    }

    /// Blocks (polling) until there is room for more events.
    func waitForRoom(stop: StopToken, whileWaiting: () throws -> Void = {}) throws {
        while !hasRoom && !stop.isStopped {
            try poll(timeoutMilliseconds: 10)
            try whileWaiting()
        }
    }

    /// Waits until every event is acknowledged, or `timeoutMilliseconds` passed.
    @discardableResult
    func drain(timeoutMilliseconds: Int, stop: StopToken? = nil) throws -> Bool {
        let deadline = SystemClock.shared.nowMilliseconds + Int64(timeoutMilliseconds)
        while tracker.inFlight > 0 {
            if let stop, stop.isStopped { return false }
            if SystemClock.shared.nowMilliseconds >= deadline { return false }
            try poll(timeoutMilliseconds: 10)
        }
        return true
    }

    func checkFailure() throws {
        guard let failure else { return }
        let reason = failure.error.map { String(describing: $0) } ?? "unknown error"
        throw WALError.delivery("Kafka did not accept a change event (\(reason)); nothing after the last "
            + "acknowledged transaction was confirmed to PostgreSQL, so the next run re-sends it")
    }
}
