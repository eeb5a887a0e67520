/// `pgk subscribe`'s loop: consume in a group, classify each message
/// (EnvelopeFilter), hand accepted ones to stdout or a handler, and commit
/// a partition's offset only once everything before it is written and
/// flushed, handled, or dead-lettered and acknowledged: at least once.
/// Messages are handled one at a time, in partition order.
final class Subscriber {
    enum OutputMode: String, CaseIterable, Sendable { case data, envelope, record }
    enum ErrorPolicy: String, CaseIterable, Sendable { case deadLetter = "dead-letter", stop, skip }
    enum StartPosition: String, CaseIterable, Sendable { case earliest, latest }

    struct Settings {
        var subscriptions: [String]
        var group: String
        var filter: EnvelopeFilter
        var output: OutputMode = .data
        var deadLetterTopic: String?
        var handler: ExecHandler?
        var retries = 0
        var backoffMilliseconds: Int64 = 1_000
        var onHandlerError: ErrorPolicy = .stop
        var maxMessages: Int?
        var untilEnd = false
        var start: StartPosition = .earliest
        var kafka: KafkaConfig
    }

    struct Summary {
        var received = 0
        var delivered = 0
        var rejected = 0
        var deadLettered = 0
        var skipped = 0
        var handlerFailures = 0
    }

    private let settings: Settings
    private let output: OutputSink
    private let stop: StopToken
    private var consumer: KafkaConsumer!
    private var deadLetters: DeadLetterPublisher?
    /// Last handled offset per partition since the last commit.
    private var handled: [KafkaTopicPartition: Int64] = [:]
    private var ended: Set<KafkaTopicPartition> = []
    private var sinceCommit = 0
    private var lastCommit = SystemClock.shared.nowMilliseconds
    private(set) var summary = Summary()

    init(settings: Settings, output: OutputSink, stop: StopToken) {
        self.settings = settings
        self.output = output
        self.stop = stop
    }

    /// Runs until stopped, `--count` or `--until-end`; throws (after
    /// committing what came before) when a message cannot be dealt with.
    func run() throws -> Summary {
        consumer = try KafkaConsumer(config: settings.kafka, groupID: settings.group,
                                     defaults: [("auto.offset.reset", settings.start.rawValue)],
                                     partitionEOF: settings.untilEnd)
        if let topic = settings.deadLetterTopic { deadLetters = try DeadLetterPublisher(topic: topic, config: settings.kafka) }
        consumer.rebalanceHandler = KafkaRebalanceHandler(
            onAssign: { [unowned self] partitions in
                ended.subtract(partitions)
                return [:]
            },
            onRevoke: { [unowned self] partitions in
                // Another member takes these over: commit what was handled first.
                do { try commit(synchronously: true) } catch { Log.warning("subscribe: commit before a rebalance failed: \(error)") }
                for partition in partitions { handled[partition] = nil; ended.remove(partition) }
            })
        try consumer.subscribe(settings.subscriptions)
        Log.info("subscribe: \(settings.subscriptions.joined(separator: ", ")) in group \(settings.group)")
        let progress = ProgressReporter(label: "subscribe")
        defer { consumer.close() }
        do {
            while !stop.isStopped && !finished {
                switch try consumer.poll(timeoutMilliseconds: 100) {
                case .message(let message)?:
                    try handle(message)
                    progress.tick(units: summary.received, unitName: "msgs", counters: counters)
                case .partitionEnd(let end)?:
                    ended.insert(KafkaTopicPartition(topic: end.topic, partition: end.partition))
                case nil:
                    break
                }
                if sinceCommit >= 1_000 || (sinceCommit > 0 && SystemClock.shared.nowMilliseconds - lastCommit >= 500) {
                    try commit(synchronously: false)
                }
            }
            try commit(synchronously: true)
        } catch {
            // Everything before the failing message is done: keep it.
            try? commit(synchronously: true)
            progress.finish(units: summary.received, unitName: "msgs", counters: counters)
            throw error
        }
        progress.finish(units: summary.received, unitName: "msgs", counters: counters)
        return summary
    }

    private var counters: ProgressReporter.Counters {
        [("delivered", summary.delivered), ("rejected", summary.rejected), ("dead-lettered", summary.deadLettered),
         ("handler failures", summary.handlerFailures)]
    }

    private var finished: Bool {
        if let limit = settings.maxMessages, summary.received >= limit { return true }
        guard settings.untilEnd else { return false }
        let assigned = consumer.assignment
        return !assigned.isEmpty && assigned.isSubset(of: ended)
    }

    private func handle(_ message: KafkaMessage) throws {
        summary.received += 1
        let verdict = withOptionalBytes(message.value) { settings.filter.classify($0) }
        switch verdict {
        case .success(let accepted):
            try deliver(message, accepted)
        case .failure(let rejection):
            summary.rejected += 1
            try reject(message, code: rejection.code, reason: rejection.description)
        }
        handled[message.topicPartition] = message.offset
        sinceCommit += 1
    }

    private func reject(_ message: KafkaMessage, code: String, reason: String,
                        attempts: [DeadLetterPublisher.Attempt] = []) throws {
        if let deadLetters {
            try deadLetters.send(message, code: code, reason: reason, attempts: attempts)
            summary.deadLettered += 1
            Log.debug("subscribe: \(message.topic)[\(message.partition)] offset \(message.offset) → \(deadLetters.topic): \(reason)")
        } else {
            summary.skipped += 1
            Log.warning("subscribe: skipped \(message.topic)[\(message.partition)] offset \(message.offset): \(reason)")
        }
    }

    private func deliver(_ message: KafkaMessage, _ accepted: EnvelopeFilter.Accepted) throws {
        let line = render(message, accepted)
        guard let handler = settings.handler else {
            try output.write(line)
            summary.delivered += 1
            return
        }
        var attempts: [DeadLetterPublisher.Attempt] = []
        let input = ExecHandler.Message(topic: message.topic, partition: message.partition, offset: message.offset,
                                        key: message.key, schema: accepted.schema, input: line)
        while true {
            switch try handler.run(input) {
            case .done:
                summary.delivered += 1
                return
            case .failed(let status, let stderrTail):
                summary.handlerFailures += 1
                attempts.append(.init(status: status, stderrTail: stderrTail, atMilliseconds: unixMilliseconds()))
                let place = "\(message.topic)[\(message.partition)] offset \(message.offset)"
                if attempts.count <= settings.retries && !stop.isStopped {
                    Log.warning("subscribe: handler \(status) for \(place); retry \(attempts.count) of "
                        + "\(settings.retries) in \(settings.backoffMilliseconds) ms")
                    _ = stop.sleep(milliseconds: Int(settings.backoffMilliseconds))
                    continue
                }
                let reason = "handler \(status) after \(attempts.count) attempt(s)"
                switch settings.onHandlerError {
                case .stop:
                    throw RuntimeError("subscribe: \(place): \(reason); stopping without committing it, so it is "
                        + "delivered again" + (stderrTail.isEmpty ? "" : "; its stderr ended with: \(stderrTail.suffix(300))"))
                case .deadLetter, .skip:
                    try reject(message, code: "handler-failed", reason: reason, attempts: attempts)
                    return
                }
            }
        }
    }

    /// The line for stdout or the handler's stdin, newline included.
    private func render(_ message: KafkaMessage, _ accepted: EnvelopeFilter.Accepted) -> [UInt8] {
        var line: [UInt8]
        switch settings.output {
        case .data:
            line = accepted.data
        case .envelope:
            line = EnvelopeWriter(schema: accepted.schema).encode(data: accepted.data)
        case .record:
            var object = ValueObject()
            object.appendUnchecked("topic", .string(message.topic))
            object.appendUnchecked("partition", .int(Int64(message.partition)))
            object.appendUnchecked("offset", .int(message.offset))
            object.appendUnchecked("timestamp", message.timestamp.map { .int($0) } ?? .null)
            object.appendUnchecked("key", message.key.map { key in key.withUnsafeBytes { Value.textOrBytes($0) } } ?? .null)
            object.appendUnchecked("headers", .array(message.headers.map { header in
                .object(ValueObject([("key", .string(header.key)),
                                     ("value", header.value.map { value in value.withUnsafeBytes { Value.textOrBytes($0) } } ?? .null)]))
            }))
            object.appendUnchecked("schema", .string(accepted.schema))
            // The data goes in as its own compact JSON text, not re-encoded.
            var text = JSON.encodeBytes(.object(object))
            text.removeLast()
            text += Array(",\"data\":".utf8) + accepted.data + [UInt8(ascii: "}")]
            line = text
        }
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// Makes everything handled durable (stdout flushed, dead letters
    /// acknowledged), then commits the offsets after it.
    private func commit(synchronously: Bool) throws {
        guard !handled.isEmpty else { return }
        try output.flush()
        try deadLetters?.flush()
        let processed = handled.map { KafkaPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value) }
        try consumer.commit(processed: processed, synchronously: synchronously)
        handled.removeAll()
        sinceCommit = 0
        lastCommit = SystemClock.shared.nowMilliseconds
    }
}
