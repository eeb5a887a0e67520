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

    private final class Tracker {
        var firstID: UInt64 = 0
        var statuses: [Status] = []
        var open = 0
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
            let index = Int(report.messageID &- tracker.firstID)
            guard index >= 0, index < tracker.statuses.count, tracker.statuses[index] == .pending else { return }
            tracker.statuses[index] = report.error.map(Status.failed) ?? .acknowledged
            tracker.open -= 1
        }
    }

    /// Produces `messages` in order and waits for all their reports. After
    /// `stop` is requested it waits at most `graceMilliseconds` more; what
    /// is still unreported then stays `.pending`.
    func send(_ messages: [OutboxMessage], stop: StopToken, graceMilliseconds: Int) throws -> Outcome {
        tracker.statuses = Array(repeating: .pending, count: messages.count)
        tracker.open = messages.count
        tracker.firstID = 0
        for (index, message) in messages.enumerated() {
            let id: UInt64
            do {
                id = try producer.produce(topic: message.topic, key: message.key, value: message.value,
                                          headers: message.headers, timestamp: message.timestamp)
            } catch let error as KafkaError {
                // What was produced still reports into this batch's tracker,
                // so wait for it; the rest failed here.
                for rest in index..<messages.count { tracker.statuses[rest] = .failed(error) }
                tracker.open -= messages.count - index
                break
            }
            if index == 0 { tracker.firstID = id }
        }
        let clock = SystemClock.shared
        var stoppedAt: Int64?
        var lastOutageLog: Int64 = 0
        while tracker.open > 0 {
            do {
                try producer.poll(timeoutMilliseconds: 50)
            } catch let error as KafkaError where error.err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN {
                let now = clock.nowMilliseconds
                if now - lastOutageLog >= 10_000 {
                    lastOutageLog = now
                    Log.warning("outbox: Kafka is unreachable; \(tracker.open) event(s) waiting for delivery "
                        + "(retried until message.timeout.ms): \(error)")
                }
            }
            if stop.isStopped {
                let now = clock.nowMilliseconds
                if stoppedAt == nil { stoppedAt = now }
                if now - stoppedAt! >= Int64(graceMilliseconds) { break }
            }
        }
        return Outcome(statuses: tracker.statuses)
    }

    /// Serves callbacks (errors, logs) between batches.
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
