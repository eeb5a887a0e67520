/// Where `pgk subscribe` puts what it could not use: the original record
/// (key, value and headers unchanged) on the dead-letter topic, with
/// headers saying why, where it came from and, for a failing handler,
/// every attempt. Nothing is committed past a message until its dead
/// letter is acknowledged.
final class DeadLetterPublisher {
    let topic: String
    private let producer: KafkaProducer
    private(set) var sent = 0

    init(topic: String, config: KafkaConfig) throws {
        self.topic = topic
        producer = try KafkaProducer(config: config, defaults: [("acks", "all"), ("enable.idempotence", "true")])
    }

    /// One failed attempt of a handler, for the retry history.
    struct Attempt: Equatable {
        var status: String
        var stderrTail: String
        var atMilliseconds: Int64
    }

    /// The headers a dead letter carries besides the original ones.
    static func headers(code: String, reason: String, topic: String, partition: Int32, offset: Int64,
                        attempts: [Attempt], nowMilliseconds: Int64) -> [KafkaHeader] {
        var headers = [
            KafkaHeader(key: "pgk-error-code", string: code),
            KafkaHeader(key: "pgk-error", string: reason),
            KafkaHeader(key: "pgk-source-topic", string: topic),
            KafkaHeader(key: "pgk-source-partition", string: String(partition)),
            KafkaHeader(key: "pgk-source-offset", string: String(offset)),
            KafkaHeader(key: "pgk-failed-at", string: String(nowMilliseconds)),
        ]
        if !attempts.isEmpty {
            let history = Value.array(attempts.enumerated().map { index, attempt in
                .object(ValueObject([("attempt", .int(Int64(index + 1))), ("status", .string(attempt.status)),
                                     ("stderr", .string(attempt.stderrTail)), ("at", .int(attempt.atMilliseconds))]))
            })
            headers.append(KafkaHeader(key: "pgk-retry-history", string: JSON.encode(history)))
        }
        return headers
    }

    func send(_ message: KafkaMessage, code: String, reason: String, attempts: [Attempt] = []) throws {
        let extra = Self.headers(code: code, reason: reason, topic: message.topic, partition: message.partition,
                                 offset: message.offset, attempts: attempts, nowMilliseconds: unixMilliseconds())
        try producer.produce(topic: topic, key: message.key, value: message.value, headers: message.headers + extra)
        sent += 1
        try producer.poll(timeoutMilliseconds: 0)
    }

    /// Waits until every dead letter so far is acknowledged; throws, naming
    /// the failure, when one was not (the caller then commits nothing more).
    func flush() throws {
        try producer.flush(timeoutMilliseconds: 60_000)
        if let failure = producer.failures.first?.error {
            throw RuntimeError("the dead-letter topic \(topic) did not accept a message: \(failure)")
        }
    }
}
