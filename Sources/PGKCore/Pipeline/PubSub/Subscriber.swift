/// `pgk subscribe`'s loop, on the consumer thread: consume in a group,
/// classify each message (EnvelopeFilter), write accepted ones to stdout
/// or hand them to handler lanes, and commit a partition's offset only
/// over the contiguous prefix of messages that are written and flushed,
/// handled, or dead-lettered and acknowledged (OffsetLedger): at least
/// once, and nothing past an unfinished message is ever committed.
final class Subscriber {
    enum OutputMode: String, CaseIterable, Sendable { case data, envelope, record }
    enum ErrorPolicy: String, CaseIterable, Sendable { case deadLetter = "dead-letter", stop, skip }
    enum StartPosition: String, CaseIterable, Sendable { case earliest, latest }
    /// Who gets accepted messages besides stdout.
    enum Handler {
        case exec(ExecHandler)
        case worker(command: String, environment: [String: String])
    }

    struct Settings {
        var subscriptions: [String]
        var group: String
        var filter: EnvelopeFilter
        var output: OutputMode = .data
        var deadLetterTopic: String?
        var handler: Handler?
        var policy = HandlerPolicy()
        var concurrency = 1
        var order: LaneOrder = .partition
        var onHandlerError: ErrorPolicy = .stop
        var maxMessages: Int?
        var untilEnd = false
        var start: StartPosition = .earliest
        var kafka: KafkaConfig
        var metrics: SubscribeMetrics?
    }

    struct Summary {
        var received = 0
        var delivered = 0
        var rejected = 0
        var deadLettered = 0
        var skipped = 0
        var handlerFailures = 0
    }

    let settings: Settings
    private let output: OutputSink
    let stop: StopToken
    var consumer: KafkaConsumer!
    private var deadLetters: DeadLetterPublisher?
    var ledger = OffsetLedger()
    var lanes: [any HandlerLane] = []
    let completions = HandlerCompletions()
    /// A job its lane had no room for yet: fetching waits until it is placed.
    var blocked: (lane: Int, job: HandlerJob)?
    /// Set when a handler failed for good under `--on-error stop`.
    var failure: RuntimeError?
    private var ended: Set<KafkaTopicPartition> = []
    private var assigned: Set<KafkaTopicPartition> = []
    /// The last offset of each partition's finished prefix handed to a
    /// commit, acknowledged or not: an asynchronous commit the broker
    /// refused during a rebalance fails silently.
    private var handedToCommit: [KafkaTopicPartition: Int64] = [:]
    /// Finished positions of revoked partitions, for ones that come
    /// straight back: the broker may have refused their commit.
    private var unsettled: [KafkaTopicPartition: Int64] = [:]
    /// Set by a rebalance callback run inside the current poll: messages
    /// it collected before the callback may belong to revoked partitions.
    private var rebalancedInPoll = false
    /// Per partition, the last offset handled since its assignment, kept
    /// only to drop those stale messages (see `isStale`).
    private var resumedAt: [KafkaTopicPartition: Int64] = [:]
    /// Next offset to read per partition, for the lag metric.
    private var positions: [KafkaTopicPartition: Int64] = [:]
    var sinceCommit = 0
    private var lastCommit = SystemClock.shared.nowMilliseconds
    var summary = Summary()

    init(settings: Settings, output: OutputSink, stop: StopToken) {
        self.settings = settings
        self.output = output
        self.stop = stop
    }

    /// Runs until stopped, `--count` or `--until-end`; throws (after
    /// committing what came before) when a message cannot be dealt with.
    func run() throws -> Summary {
        consumer = try KafkaConsumer(config: settings.kafka, groupID: settings.group,
                                     defaults: [("auto.offset.reset", settings.start.rawValue)]
                                        + KafkaConsumer.groupMemberDefaults,
                                     partitionEOF: settings.untilEnd)
        if let topic = settings.deadLetterTopic { deadLetters = try DeadLetterPublisher(topic: topic, config: settings.kafka) }
        lanes = try makeLanes()
        consumer.rebalanceHandler = KafkaRebalanceHandler(
            onAssign: { [unowned self] partitions in
                // Set by a revoke in this same poll: its stale messages may follow.
                let revokedInThisPoll = rebalancedInPoll
                rebalancedInPoll = true
                ended.subtract(partitions)
                // Not consumer.assignment: its state is locked during this callback.
                assigned.formUnion(partitions)
                settings.metrics?.rebalanced(assigned: assigned.count)
                return resumeUnsettled(partitions, revokedInThisPoll: revokedInThisPoll)
            },
            onRevoke: { [unowned self] partitions in
                rebalancedInPoll = true
                revoke(Set(partitions))
                assigned.subtract(partitions)
            })
        let progress = ProgressReporter(label: "subscribe")
        defer { consumer.close() }
        do {
            try consumer.subscribe(settings.subscriptions)
            Log.info("subscribe: \(settings.subscriptions.joined(separator: ", ")) in group \(settings.group)"
                + (lanes.isEmpty ? "" : " with \(lanes.count) handler lane(s)"))
            try consume(progress)
            try finishLanes()
            try commit(synchronously: true)
        } catch {
            // Everything before the failing message is done: keep it.
            try? finishLanes()
            try? commit(synchronously: true)
            progress.finish(units: summary.received, unitName: "msgs", counters: counters)
            throw error
        }
        progress.finish(units: summary.received, unitName: "msgs", counters: counters)
        if let failure { throw failure }
        return summary
    }

    private func consume(_ progress: ProgressReporter) throws {
        while !stop.isStopped && !finished && failure == nil {
            if !lanes.isEmpty {
                try settleCompletions(waitingUpTo: 0)
                if let pending = blocked {
                    if lanes[pending.lane].queue.offer(pending.job) {
                        blocked = nil
                    } else {
                        try settleCompletions(waitingUpTo: 20)
                        continue
                    }
                }
            }
            let room = settings.maxMessages.map { $0 - summary.received } ?? Int.max
            // With handlers, one message at a time: a full lane pauses fetching.
            let batch = lanes.isEmpty ? min(room, 1_000) : min(room, 1)
            if batch > 0 {
                rebalancedInPoll = false
                try consumer.pollBatch(maxMessages: batch, timeoutMilliseconds: ledger.running > 0 ? 5 : 100) { record in
                    switch record {
                    case .message(let view):
                        if (rebalancedInPoll || !resumedAt.isEmpty) && isStale(view) { return }
                        if lanes.isEmpty { try write(view) } else { try handle(view.copy()) }
                    case .partitionEnd(let end):
                        ended.insert(KafkaTopicPartition(topic: end.topic, partition: end.partition))
                    }
                }
                progress.tick(units: summary.received, unitName: "msgs", counters: counters)
            } else if !lanes.isEmpty {
                try settleCompletions(waitingUpTo: 20)
            }
            if sinceCommit >= 1_000 || (sinceCommit > 0 && SystemClock.shared.nowMilliseconds - lastCommit >= 500) {
                try commit(synchronously: false)
            }
            settings.metrics?.refresh(now: SystemClock.shared.nowMilliseconds, lags: lags, lanes: lanes,
                                      assigned: assigned.count)
        }
    }

    var counters: ProgressReporter.Counters {
        [("delivered", summary.delivered), ("rejected", summary.rejected), ("dead-lettered", summary.deadLettered),
         ("handler failures", summary.handlerFailures)]
    }

    private var finished: Bool {
        guard ledger.running == 0 && blocked == nil else { return false }
        if let limit = settings.maxMessages, summary.received >= limit { return true }
        guard settings.untilEnd else { return false }
        return !assigned.isEmpty && assigned.isSubset(of: ended)
    }

    /// Whether a message of a poll that ran a rebalance callback must be
    /// dropped. librdkafka may return messages it collected before the
    /// revoke: their partition went elsewhere (its new owner reads them),
    /// or came straight back and is fetched again from where this process
    /// stopped, so the same offsets can follow in this very batch.
    /// The refetch that follows may arrive in later polls, so a partition
    /// stays filtered until a later poll brings an offset past the floor.
    private func isStale(_ view: KafkaMessageView) -> Bool {
        let partition = KafkaTopicPartition(topic: view.topic, partition: view.partition)
        if rebalancedInPoll && !assigned.contains(partition) { return true }
        guard let floor = resumedAt[partition] else { return false }
        if view.offset <= floor { return true }
        resumedAt[partition] = rebalancedInPoll ? view.offset : nil
        return false
    }

    /// The stdout path, straight from librdkafka's memory: a message is
    /// only copied for `-o record` or to dead-letter it.
    private func write(_ view: KafkaMessageView) throws {
        summary.received += 1
        let partition = KafkaTopicPartition(topic: view.topic, partition: view.partition)
        noteConsumed(partition, view.offset)
        switch settings.filter.classify(view.value) {
        case .success(let accepted):
            let line = settings.output == .record ? SubscribeLine.render(view.copy(), accepted, as: .record)
                                                  : SubscribeLine.render(nil, accepted, as: settings.output)
            try output.write(line)
            summary.delivered += 1
            settings.metrics?.counted(topic: view.topic, partition: view.partition, result: "delivered")
            ledger.trackFinished(partition, view.offset)
        case .failure(let rejection):
            try rejected(view.copy(), rejection)
        }
        sinceCommit += 1
    }

    /// The handler path: accepted messages go to their lane.
    private func handle(_ message: KafkaMessage) throws {
        summary.received += 1
        noteConsumed(message.topicPartition, message.offset)
        switch withOptionalBytes(message.value, { settings.filter.classify($0) }) {
        case .success(let accepted):
            let line = SubscribeLine.render(message, accepted, as: settings.output)
            dispatch(HandlerJob(message: message, schema: accepted.schema, input: line))
        case .failure(let rejection):
            try rejected(message, rejection)
        }
        sinceCommit += 1
    }

    private func rejected(_ message: KafkaMessage, _ rejection: EnvelopeFilter.Rejection) throws {
        summary.rejected += 1
        try reject(message, code: rejection.code, reason: rejection.description)
        ledger.trackFinished(message.topicPartition, message.offset)
    }

    /// The next offset to read, kept only for the lag metric.
    private func noteConsumed(_ partition: KafkaTopicPartition, _ offset: Int64) {
        if settings.metrics != nil { positions[partition] = offset + 1 }
    }

    func reject(_ message: KafkaMessage, code: String, reason: String,
                attempts: [DeadLetterPublisher.Attempt] = []) throws {
        settings.metrics?.counted(topic: message.topic, partition: message.partition, result: code)
        if let deadLetters {
            try deadLetters.send(message, code: code, reason: reason, attempts: attempts)
            summary.deadLettered += 1
            settings.metrics?.deadLetters.add(labels: [deadLetters.topic])
            Log.debug("subscribe: \(message.topic)[\(message.partition)] offset \(message.offset) → \(deadLetters.topic): \(reason)")
        } else {
            summary.skipped += 1
            Log.warning("subscribe: skipped \(message.topic)[\(message.partition)] offset \(message.offset): \(reason)")
        }
    }

    /// `lag` per assigned partition, from librdkafka's cached watermarks.
    private func lags() -> [(KafkaTopicPartition, Int64)] {
        assigned.compactMap { partition in
            guard let next = positions[partition],
                  let high = consumer.cachedHighWatermark(topic: partition.topic, partition: partition.partition)
            else { return nil }
            return (partition, max(0, high - next))
        }
    }

    /// Another member takes these partitions over: settle what is in hand
    /// for them and commit it first, so the new owner starts right after.
    private func revoke(_ partitions: Set<KafkaTopicPartition>) {
        if !lanes.isEmpty { drainLanes(of: partitions) }
        do {
            try commit(synchronously: true)
        } catch {
            Log.warning("subscribe: commit before a rebalance failed: \(error)")
        }
        for partition in partitions {
            unsettled[partition] = handedToCommit.removeValue(forKey: partition)
            resumedAt[partition] = nil
            ledger.forget(partition)
            ended.remove(partition)
            positions[partition] = nil
        }
    }

    /// A partition revoked and assigned straight back resumes after what
    /// this process finished, which the next commit then stores: the
    /// broker may have refused the commits that carried it (the mock does
    /// during a rebalance), and restarting at the group's stored offset
    /// would repeat it. Skipping only what this process itself finished
    /// keeps at-least-once even if another member owned it in between.
    private func resumeUnsettled(_ partitions: [KafkaTopicPartition],
                                 revokedInThisPoll: Bool) -> [KafkaTopicPartition: KafkaStartOffset] {
        defer { unsettled.removeAll() }
        var starts: [KafkaTopicPartition: KafkaStartOffset] = [:]
        for partition in partitions {
            // A floor only where a refetch can repeat what this process saw.
            if let offset = unsettled[partition] { resumedAt[partition] = offset }
            else if revokedInThisPoll { resumedAt[partition] = -1 }
            guard let offset = unsettled[partition] else { continue }
            starts[partition] = .offset(offset + 1)
            ledger.trackFinished(partition, offset)
            sinceCommit += 1
        }
        return starts
    }

    /// Makes everything finished durable (stdout flushed, dead letters
    /// acknowledged), then commits the finished prefixes.
    func commit(synchronously: Bool) throws {
        guard sinceCommit > 0 || ledger.hasUncommitted else { return }
        try output.flush()
        try deadLetters?.flush()
        let processed = ledger.takeCommittable()
        for position in processed {
            handedToCommit[KafkaTopicPartition(topic: position.topic, partition: position.partition)] = position.offset
        }
        do {
            try consumer.commit(processed: processed, synchronously: synchronously)
        } catch {
            ledger.restore(processed)
            throw error
        }
        sinceCommit = 0
        lastCommit = SystemClock.shared.nowMilliseconds
    }
}
