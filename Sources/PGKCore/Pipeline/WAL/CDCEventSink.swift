/// The producer side of the WAL pipeline: every change event goes through
/// here, so its acknowledgement window decides which LSN may be confirmed
/// to the server (the highest one with every event before it acknowledged).
///
/// Defaults (all overridable with -X): acks=all with the idempotent
/// producer, and `message.timeout.ms=0` (retry forever) so a broker outage
/// is backpressure, never a dropped change. `linger.ms=20` fills batches
/// when keys spread events over many partitions (half the broker CPU of 5 ms). A failed delivery is fatal: the
/// run stops without confirming past it, and the next run replays it.
final class CDCEventSink {
    private let producer: AcknowledgedProducer<LSN>

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
        producer = try AcknowledgedProducer(config: patient, defaults: CDCEventSink.defaults,
                                            maxInFlight: maxInFlight, flushed: .zero)
    }

    /// The highest LSN safe to confirm: Kafka acknowledged everything before it.
    var flushed: LSN { producer.window.flushed ?? .zero }
    var inFlight: Int { producer.window.inFlight }
    /// Nothing in flight and no position waiting for acknowledgements.
    var isIdle: Bool { producer.window.isIdle }
    var hasRoom: Bool { producer.hasRoom }
    /// Stops waits inside the producer; only when pgk gives up on draining.
    var producerStop: StopToken { producer.producerStop }

    /// Starts tracking from `flushed` (the position streaming starts at).
    func resetPosition(_ flushed: LSN) {
        guard flushed > self.flushed else { return }
        precondition(inFlight == 0, "cannot move the flush position with events in flight")
        producer.restartWindow(flushed: flushed)
    }

    func reached(_ lsn: LSN) { producer.reached(lsn) }

    /// librdkafka copies the bytes, so the caller may reuse its buffers.
    func send(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) throws {
        try checkFailure()
        try producer.produce(topic: topic, key: key, value: value)
    }

    /// Serves delivery reports for up to `timeoutMilliseconds`.
    func poll(timeoutMilliseconds: Int = 0) throws {
        try producer.poll(timeoutMilliseconds: timeoutMilliseconds)
        try checkFailure()
    }

    /// Blocks (polling) until there is room for more events.
    func waitForRoom(stop: StopToken, whileWaiting: () throws -> Void = {}) throws {
        try producer.waitForRoom(stop: stop) {
            try checkFailure()
            try whileWaiting()
        }
    }

    /// Waits until every event is acknowledged, or `timeoutMilliseconds` passed.
    @discardableResult
    func drain(timeoutMilliseconds: Int, stop: StopToken? = nil) throws -> Bool {
        try producer.drain(timeoutMilliseconds: timeoutMilliseconds, stop: stop, afterPoll: checkFailure)
    }

    func checkFailure() throws {
        guard let failure = producer.window.firstFailure else { return }
        throw WALError.delivery("Kafka did not accept a change event (\(failure.error)); nothing after the last "
            + "acknowledged transaction was confirmed to PostgreSQL, so the next run re-sends it")
    }
}
