/// A Kafka producer whose every message is counted in an `AckWindow`:
/// delivery reports (successes too) feed the window, the messages in flight
/// are bounded by `maxInFlight`, and every wait polls in short steps and
/// ends on a stop token.
///
/// Not thread-safe, like `KafkaProducer`: reports are served on the thread
/// that produces and polls.
final class AcknowledgedProducer<Position: Comparable & Sendable> {
    typealias Window = AckWindow<Position, KafkaError>

    private let producer: KafkaProducer
    private(set) var window: Window
    let maxInFlight: Int
    /// Ends waits inside the producer (for queue space). Its own token: a
    /// signal must not abort a produce whose message is half-counted; the
    /// owner stops it only when it gives up on draining.
    let producerStop = StopToken()
    private let clock: MonotonicClock
    private var lastOutageLog: Int64?

    init(config: KafkaConfig, defaults: [(String, String)], maxInFlight: Int = .max, flushed: Position? = nil,
         clock: MonotonicClock = SystemClock.shared) throws {
        producer = try KafkaProducer(config: config, defaults: defaults, stop: producerStop, verifyConnection: false)
        window = Window(firstID: producer.nextMessageID, flushed: flushed)
        self.maxInFlight = maxInFlight
        self.clock = clock
        producer.reportSuccesses = true
        producer.onDelivery = { [unowned self] report in
            if let error = report.error {
                window.fail(report.messageID, error)
            } else {
                window.acknowledge(report.messageID)
            }
        }
    }

    var hasRoom: Bool { window.inFlight < maxInFlight }

    /// Starts a fresh window after everything produced so far; reports for
    /// earlier messages are ignored from now on.
    func restartWindow(flushed: Position? = nil) {
        window = Window(firstID: window.nextID, flushed: flushed)
    }

    /// Records a position reached after everything produced so far.
    func reached(_ position: Position) { window.reached(position) }

    /// Queues one message and returns its window id. A message that fails
    /// to queue is recorded as failed, and the error rethrown. librdkafka
    /// copies the bytes, so the caller may reuse its buffers.
    @discardableResult
    func produce(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                 headers: [KafkaHeader] = [], timestamp: Int64? = nil) throws -> UInt64 {
        // Counted before the call: its internal poll may already serve the
        // report, and a report for an id the window lacks would be lost.
        let id = window.produce()
        do {
            let producerID = try producer.produce(topic: topic, key: key, value: value, headers: headers,
                                                  timestamp: timestamp)
            precondition(producerID == id, "producer message ids are not in step with the window")
        } catch {
            window.fail(id, error as? KafkaError ?? .failure(message: "\(error)", operation: "produce"))
            throw error
        }
        return id
    }

    @discardableResult
    func produce(topic: String, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = [],
                 timestamp: Int64? = nil) throws -> UInt64 {
        try withOptionalBytes(key) { key in
            try withOptionalBytes(value) { value in
                try produce(topic: topic, key: key, value: value, headers: headers, timestamp: timestamp)
            }
        }
    }

    /// Serves delivery reports for up to `timeoutMilliseconds`.
    func poll(timeoutMilliseconds: Int = 0) throws {
        try producer.poll(timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Polls until there is room for another message or `stop` is requested;
    /// `whileWaiting` runs after every poll (throw to give up).
    func waitForRoom(stop: StopToken, whileWaiting: () throws -> Void = {}) throws {
        while !hasRoom && !stop.isStopped {
            try poll(timeoutMilliseconds: 10)
            try whileWaiting()
        }
    }

    /// How a drain may wait out a broker outage instead of failing on it.
    struct OutagePolicy {
        /// Names the pipeline in the log line.
        var label: String
        var logIntervalMilliseconds: Int64 = 10_000
    }

    /// Polls until every message is reported (acknowledged or failed).
    /// False when `timeoutMilliseconds` passed first, or `stop` was requested
    /// `graceMilliseconds` ago. `afterPoll` runs after every poll (throw to
    /// give up). With an `outage` policy, "all brokers down" is logged now
    /// and then and waited out (librdkafka retries until message.timeout.ms).
    func drain(timeoutMilliseconds: Int = Int(Int32.max), stop: StopToken?, graceMilliseconds: Int = 0,
               pollMilliseconds: Int = 10, outage: OutagePolicy? = nil,
               afterPoll: () throws -> Void = {}) throws -> Bool {
        let deadline = clock.nowMilliseconds + Int64(timeoutMilliseconds)
        var stoppedAt: Int64?
        while window.inFlight > 0 {
            let now = clock.nowMilliseconds
            if let stop, stop.isStopped {
                if stoppedAt == nil { stoppedAt = now }
                if now - stoppedAt! >= Int64(graceMilliseconds) { return false }
            }
            if now >= deadline { return false }
            do {
                try poll(timeoutMilliseconds: pollMilliseconds)
            } catch let error as KafkaError where error.kind == .allBrokersDown && outage != nil {
                logOutage(error, outage!)
            }
            try afterPoll()
        }
        return true
    }

    private func logOutage(_ error: KafkaError, _ policy: OutagePolicy) {
        let now = clock.nowMilliseconds
        if let last = lastOutageLog, now - last < policy.logIntervalMilliseconds { return }
        lastOutageLog = now
        Log.warning("\(policy.label): Kafka is unreachable; \(window.inFlight) message(s) waiting for delivery "
            + "(retried until message.timeout.ms): \(error)")
    }
}
