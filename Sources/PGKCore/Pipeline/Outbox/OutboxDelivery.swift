/// The produce-with-acknowledgement stage: a batch goes to an idempotent
/// producer (acks=all, ordered per partition) all at once, and the stage
/// waits for every delivery report. Broker outages are waited out (and
/// logged), not failed on; librdkafka retries until `message.timeout.ms`.
final class OutboxDelivery {
    struct Outcome {
        /// Messages handed to `produce` in the batch, including failed ones.
        var count: Int
        /// Items before the first one that is not acknowledged: the prefix
        /// that may be deleted without letting a later event of some row
        /// overtake an earlier one on the next attempt.
        var acknowledgedPrefix: Int
        /// The earliest failed item of the batch, by its index in it.
        var firstFailure: (index: Int, error: KafkaError)?

        var allAcknowledged: Bool { acknowledgedPrefix == count }
    }

    /// Outbox items are committed by prefix, not by position: no positions.
    private let producer: AcknowledgedProducer<Never>
    /// Set once a message fails to queue: the rest of the batch is not sent.
    private var produceFailed = false
    /// Messages handed to `produce` since `begin`, including failed ones.
    private(set) var count = 0

    init(config: KafkaConfig) throws {
        // The producer's private stop token: a signal must not abort a batch
        // half-produced; the shipper finishes it within its grace period.
        producer = try AcknowledgedProducer(config: config, defaults: [("acks", "all")])
    }

    /// Starts a batch; `produce` may then be called several times, so the
    /// claim of the next chunk overlaps the delivery of the previous one.
    /// Reports still due for an earlier batch are ignored from now on.
    func begin() {
        producer.restartWindow()
        produceFailed = false
        count = 0
    }

    /// Queues `messages` after those already in the batch, in order. Once
    /// one fails to queue, it and everything after it count as failed.
    func produce(_ messages: [OutboxMessage]) {
        count += messages.count
        guard !produceFailed else { return }
        for message in messages {
            do {
                try producer.produce(topic: message.topic, key: message.key, value: message.value,
                                     headers: message.headers, timestamp: message.timestamp)
            } catch {
                // The window recorded the failure; what was queued before
                // still reports, so `finish` waits for it.
                produceFailed = true
                return
            }
        }
    }

    /// Waits for every report of the batch. After `stop` is requested it
    /// waits at most `graceMilliseconds` more; what is still unreported then
    /// is neither acknowledged nor failed.
    func finish(stop: StopToken, graceMilliseconds: Int) throws -> Outcome {
        _ = try producer.drain(stop: stop, graceMilliseconds: graceMilliseconds, pollMilliseconds: 50,
                               outage: .init(label: "outbox"))
        let window = producer.window
        return Outcome(count: count, acknowledgedPrefix: window.acknowledgedPrefix,
                       firstFailure: window.firstFailure.map { (Int($0.id - window.firstID), $0.error) })
    }

    /// One whole batch: `begin`, `produce`, `finish`.
    func send(_ messages: [OutboxMessage], stop: StopToken, graceMilliseconds: Int) throws -> Outcome {
        begin()
        produce(messages)
        return try finish(stop: stop, graceMilliseconds: graceMilliseconds)
    }

    /// Serves reports and callbacks without waiting.
    func idle() throws { try producer.poll(timeoutMilliseconds: 0) }
}
