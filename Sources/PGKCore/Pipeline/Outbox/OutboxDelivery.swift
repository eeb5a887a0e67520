import CRdKafka

/// The produce-with-acknowledgement stage: a batch goes to an idempotent
/// producer (acks=all, ordered per partition) all at once, and the stage
/// waits for every delivery report. Broker outages are waited out (and
/// logged), not failed on; librdkafka retries until `message.timeout.ms`.
final class OutboxDelivery {
    enum Status: Equatable {
        case pending
        case acknowledged
        case failed(KafkaError)
    }

    struct Outcome {
        var statuses: [Status]

        var allAcknowledged: Bool { statuses.allSatisfy { $0 == .acknowledged } }
        /// Items before the first one that is not acknowledged: the prefix
        /// that may be deleted without letting a later event of some row
        /// overtake an earlier one on the next attempt.
        var acknowledgedPrefix: Int { statuses.firstIndex { $0 != .acknowledged } ?? statuses.count }
        var firstFailure: (index: Int, error: KafkaError)? {
            for (index, status) in statuses.enumerated() {
                if case .failed(let error) = status { return (index, error) }
            }
            return nil
        }
    }

    /// Reports by message id. A report can arrive while `produce` is still
    /// running (librdkafka's queue is served from inside it), before the
    /// caller knows that message's id, so reports are keyed, not indexed.
    private final class Tracker {
        var reports: [UInt64: Status] = [:]
    }

    private let producer: KafkaProducer
    private let tracker = Tracker()

    init(config: KafkaConfig) throws {
        // A private stop token: a signal must not abort a batch half-produced;
        // the shipper finishes the batch within its grace period instead.
        producer = try KafkaProducer(config: config, defaults: [("acks", "all")], stop: StopToken(),
                                     verifyConnection: false)
        producer.reportSuccesses = true
        let tracker = self.tracker
        producer.onDelivery = { report in
            tracker.reports[report.messageID] = report.error.map(Status.failed) ?? .acknowledged
        }
    }

    private var ids: [UInt64] = []
    private var produceFailure: KafkaError?
    /// Messages handed to `produce` since `begin`, including failed ones.
    private(set) var count = 0

    /// Starts a batch; `produce` may then be called several times, so the
    /// claim of the next chunk overlaps the delivery of the previous one.
    func begin() {
        tracker.reports.removeAll(keepingCapacity: true)
        ids.removeAll(keepingCapacity: true)
        produceFailure = nil
        count = 0
    }

    /// Queues `messages` after those already in the batch, in order. Once
    /// one fails to queue, it and everything after it count as failed.
    func produce(_ messages: [OutboxMessage]) {
        count += messages.count
        guard produceFailure == nil else { return }
        for message in messages {
            do {
                ids.append(try producer.produce(topic: message.topic, key: message.key, value: message.value,
                                                headers: message.headers, timestamp: message.timestamp))
            } catch let error as KafkaError {
                // What was queued still reports, so `finish` waits for it.
                produceFailure = error
                return
            } catch {
                produceFailure = KafkaError(RD_KAFKA_RESP_ERR__FAIL, message: "\(error)", operation: "produce")
                return
            }
        }
    }

    /// Waits for every report of the batch. After `stop` is requested it
    /// waits at most `graceMilliseconds` more; what is still unreported then
    /// stays `.pending`. Statuses are in `produce` order.
    func finish(stop: StopToken, graceMilliseconds: Int) throws -> Outcome {
        let clock = SystemClock.shared
        var stoppedAt: Int64?
        var lastOutageLog: Int64 = 0
        while tracker.reports.count < ids.count {
            do {
                try producer.poll(timeoutMilliseconds: 50)
            } catch let error as KafkaError where error.err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN {
                let now = clock.nowMilliseconds
                if now - lastOutageLog >= 10_000 {
                    lastOutageLog = now
                    Log.warning("outbox: Kafka is unreachable; \(ids.count - tracker.reports.count) event(s) "
                        + "waiting for delivery (retried until message.timeout.ms): \(error)")
                }
            }
            if stop.isStopped {
                let now = clock.nowMilliseconds
                if stoppedAt == nil { stoppedAt = now }
                if now - stoppedAt! >= Int64(graceMilliseconds) { break }
            }
        }
        var statuses = ids.map { tracker.reports[$0] ?? .pending }
        if let produceFailure {
            statuses += Array(repeating: .failed(produceFailure), count: count - ids.count)
        }
        return Outcome(statuses: statuses)
    }

    /// One whole batch: `begin`, `produce`, `finish`.
    func send(_ messages: [OutboxMessage], stop: StopToken, graceMilliseconds: Int) throws -> Outcome {
        begin()
        produce(messages)
        return try finish(stop: stop, graceMilliseconds: graceMilliseconds)
    }

    /// Serves reports and callbacks without waiting.
    func idle() throws { try producer.poll(timeoutMilliseconds: 0) }

    /// Classifies a delivery failure.
    enum FailureKind { case retryable, unknownTopic, permanent }

    static func kind(of error: KafkaError) -> FailureKind {
        switch error.err {
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
             RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
            return .unknownTopic
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT,
             RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
             RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
             RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
             RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR__PURGE_QUEUE, RD_KAFKA_RESP_ERR__PURGE_INFLIGHT,
             RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR, RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR__RESOLVE,
             RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, RD_KAFKA_RESP_ERR__INCONSISTENT,
             RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED, RD_KAFKA_RESP_ERR__NODE_UPDATE:
            return .retryable
        default:
            return .permanent
        }
    }
}
