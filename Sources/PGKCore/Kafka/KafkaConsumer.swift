import CRdKafka
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What a consumer poll yields besides nothing.
enum KafkaConsumerEvent: Sendable, Equatable {
    case message(KafkaMessage)
    /// The consumer reached the current end of a partition (needs
    /// `partitionEOF: true`); `offset` is the next offset to arrive.
    case partitionEnd(KafkaPartitionOffset)
}

/// A batch element: a borrowed message or an end-of-partition marker.
enum KafkaConsumerRecord {
    case message(KafkaMessageView)
    case partitionEnd(KafkaPartitionOffset)
}

/// Lets the caller act on group rebalances, on the polling thread:
/// flush a sink before partitions are revoked, or choose start offsets.
struct KafkaRebalanceHandler {
    /// Partitions newly assigned; return explicit start positions for any
    /// of them (the rest resume from the committed offset).
    var onAssign: ([KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaStartOffset]
    /// Partitions about to be taken away (or lost): commit what is done.
    var onRevoke: ([KafkaTopicPartition]) -> Void

    init(onAssign: @escaping ([KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaStartOffset] = { _ in [:] },
                onRevoke: @escaping ([KafkaTopicPartition]) -> Void = { _ in }) {
        self.onAssign = onAssign
        self.onRevoke = onRevoke
    }
}

final class ConsumerState: KafkaClientState, @unchecked Sendable {
    var rebalanceHandler: KafkaRebalanceHandler?
    var assignment: Set<KafkaTopicPartition> = []
    var rebalanceError: KafkaError?
    /// For resolving start offsets inside the rebalance callback.
    var config = KafkaConfig(brokers: nil)

    func rebalance(_ rk: OpaquePointer, _ err: rd_kafka_resp_err_t,
                   _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        let changed = readPartitionList(partitions).entries.map(\.topicPartition)
        if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, let partitions {
            let starts = rebalanceHandler?.onAssign(changed) ?? [:]
            if !starts.isEmpty { applyStarts(rk, starts, to: partitions) }
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, partitions) {
                    rebalanceError = KafkaError(consuming: error, operation: "assign partitions")
                }
            } else {
                let result = rd_kafka_assign(rk, partitions)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR { rebalanceError = KafkaError(result, operation: "assign partitions") }
            }
            assignment.formUnion(changed)
        } else if err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS {
            rebalanceHandler?.onRevoke(changed)
            if cooperative, let partitions {
                if let error = rd_kafka_incremental_unassign(rk, partitions) { rd_kafka_error_destroy(error) }
            } else {
                _ = rd_kafka_assign(rk, nil)
            }
            assignment.subtract(changed)
        } else {
            rebalanceError = KafkaError(err, operation: "rebalance")
            _ = rd_kafka_assign(rk, nil)
            assignment.removeAll()
        }
    }

    private func applyStarts(_ rk: OpaquePointer, _ starts: [KafkaTopicPartition: KafkaStartOffset],
                             to list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        let resolved: [KafkaTopicPartition: Int64]
        do {
            resolved = try resolveStartOffsets(rk, config: config, starts, timeoutMilliseconds: config.connectTimeoutMilliseconds)
        } catch {
            rebalanceError = error as? KafkaError
            return
        }
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            let key = KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
            if let offset = resolved[key] { list.pointee.elems[index].offset = offset }
        }
    }
}

/// A high-level consumer: group mode (`subscribe`, balanced, commits) or
/// assign-only mode (`assign` explicit partitions, no group membership).
///
/// Offsets are stored and committed only when the caller says so, and the
/// committed value is always "last processed offset + 1". Not thread-safe:
/// one thread polls; rebalance callbacks run inside its polls.
final class KafkaConsumer {
    let handle: KafkaHandle
    let state: ConsumerState
    private let queue: OpaquePointer
    private var batch: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>
    private var batchCapacity: Int
    private var topicNames = TopicNameCache()
    private var closed = false
    let groupID: String?

    /// pgk's defaults, all overridable with `-X`:
    /// - offsets are stored/committed explicitly (no auto commit/store);
    /// - `queued.min.messages`/`queued.max.messages.kbytes` at their maxima,
    ///   because librdkafka 2.0.2 backs a partition off for a fixed 1000 ms
    ///   whenever its fetch queue passes either limit, which stalls any
    ///   consumer feeding a slower stage (see shared/ENVIRONMENT.md);
    /// - where librdkafka has it (2.2.0 on), `fetch.queue.backoff.ms=10`,
    ///   so that a partition is fetched again 10 ms after its queue
    ///   drains rather than a second later. With a bounded read-ahead
    ///   (the sink's) on librdkafka 2.16 this took a sink from 0.25M to
    ///   0.5–0.64M msgs/s at the same memory.
    static func builtinDefaults(partitionEOF: Bool,
                                libraryVersion: Int = Int(rd_kafka_version())) -> [KafkaProperty] {
        var defaults = [
            KafkaProperty(key: "enable.auto.commit", value: "false"),
            KafkaProperty(key: "enable.auto.offset.store", value: "false"),
            KafkaProperty(key: "queued.min.messages", value: "10000000"),
            KafkaProperty(key: "queued.max.messages.kbytes", value: "2097151"),
            KafkaProperty(key: "enable.partition.eof", value: partitionEOF ? "true" : "false"),
        ]
        if libraryVersion >= fetchQueueBackoffSince {
            defaults.append(KafkaProperty(key: "fetch.queue.backoff.ms", value: "10"))
        }
        return defaults
    }

    /// For members of a consumer group (`sink`, `subscribe`): a member
    /// killed with -9 holds its partitions until its session times out,
    /// 45 s by librdkafka's default. 10 s (Kafka's own default before 3.0;
    /// brokers accept 6 s and up) lets a restarted or surviving instance
    /// take over within seconds. Heartbeats come from librdkafka's own
    /// thread, so a long batch does not end a session. `-X` overrides.
    static let groupMemberDefaults: [(String, String)] = [
        ("session.timeout.ms", "10000"),
        ("heartbeat.interval.ms", "1000"),
    ]

    /// For reading to the end: a drained partition's end is only known
    /// when an empty fetch returns, which the broker holds for this long
    /// (500 ms by default; at 100 ms, about 0.1 s of a 1.5 s run of 1M
    /// records was its last fetch). Fetches with records return at once anyway.
    static let readToEndDefaults: [(String, String)] = [("fetch.wait.max.ms", "10")]

    /// librdkafka's version number (0xMMmmrrxx) for 2.2.0, the first with
    /// `fetch.queue.backoff.ms`.
    static let fetchQueueBackoffSince = 0x0202_0000

    /// - Parameters:
    ///   - groupID: the consumer group for `subscribe`/commits; nil for
    ///     assign-only use (a private throwaway group id that never joins).
    ///   - defaults: caller defaults (e.g. `auto.offset.reset=earliest`)
    ///     applied after pgk's and before the user's `-X` properties.
    ///   - partitionEOF: report `.partitionEnd` when a partition is drained.
    init(config: KafkaConfig, groupID: String?, defaults: [(String, String)] = [],
                partitionEOF: Bool = false, verifyConnection: Bool = true) throws {
        let state = ConsumerState()
        state.config = config
        var pgkDefaults = Self.builtinDefaults(partitionEOF: partitionEOF)
        let group = groupID ?? "pgk-assign-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        pgkDefaults.append(KafkaProperty(key: "group.id", value: group))
        let native = try config.makeNative(defaults: pgkDefaults + defaults.map { KafkaProperty(key: $0.0, value: $0.1) })
        rd_kafka_conf_set_rebalance_cb(native.pointer, consumerRebalanceCallback)
        handle = try KafkaHandle(type: RD_KAFKA_CONSUMER, config: config, native: native, state: state)
        self.state = state
        self.groupID = config.userValue("group.id") ?? groupID
        // Route the main queue (errors, logs) into the consumer queue so one poll serves all.
        _ = rd_kafka_poll_set_consumer(handle.pointer)
        queue = rd_kafka_queue_get_consumer(handle.pointer)
        batchCapacity = 1024
        batch = .allocate(capacity: batchCapacity)
        if verifyConnection { try handle.verifyReachable(timeoutMilliseconds: config.connectTimeoutMilliseconds) }
    }

    deinit {
        close(timeoutMilliseconds: handle.config.connectTimeoutMilliseconds)
        rd_kafka_queue_destroy(queue)
        batch.deallocate()
    }

    var rebalanceHandler: KafkaRebalanceHandler? {
        get { state.rebalanceHandler }
        set { state.rebalanceHandler = newValue }
    }

    /// Partitions currently assigned (by the group or by `assign`).
    var assignment: Set<KafkaTopicPartition> { state.assignment }

    /// Joins the group for `topics`; names starting with `^` are regexes.
    func subscribe(_ topics: [String]) throws {
        guard groupID != nil else {
            throw KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG, message: "subscribe needs a consumer group id",
                             operation: "subscribe")
        }
        let list = makePartitionList(topics.map { KafkaPartitionOffset(topic: $0, partition: KafkaConstant.partitionUnassigned, offset: KafkaConstant.offsetInvalid) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_subscribe(handle.pointer, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, operation: "subscribe to \(topics.joined(separator: ","))")
        }
    }

    /// Assign-only mode: read exactly these partitions from these positions.
    func assign(_ starts: [KafkaTopicPartition: KafkaStartOffset]) throws {
        let timeout = handle.config.connectTimeoutMilliseconds
        // The lookup only saves librdkafka's own: it need not wait long.
        let resolved = resolveLogicalOffsets(handle.pointer, try resolveStartOffsets(handle.pointer, config: handle.config, starts, timeoutMilliseconds: timeout),
                                             timeoutMilliseconds: min(timeout, 2_000))
        let entries = resolved.map { KafkaPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value) }
        let list = makePartitionList(entries)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_assign(handle.pointer, entries.isEmpty ? nil : list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, operation: "assign partitions") }
        state.assignment = Set(resolved.keys)
    }

    /// Waits up to `timeoutMilliseconds` for one message or partition end,
    /// copying the message out of librdkafka's memory.
    func poll(timeoutMilliseconds: Int) throws -> KafkaConsumerEvent? {
        guard let raw = rd_kafka_consumer_poll(handle.pointer, Int32(clamping: timeoutMilliseconds)) else {
            try checkState()
            return nil
        }
        deliveries.add(1, ordering: .relaxed)
        defer { rd_kafka_message_destroy(raw) }
        try checkState()
        switch try classify(raw) {
        case .message(let view): return .message(view.copy())
        case .partitionEnd(let end): return .partitionEnd(end)
        }
    }

    /// Waits up to `timeoutMilliseconds` for up to `maxMessages` messages and
    /// hands each to `body` while still in librdkafka's memory (no copies).
    /// With `upToWhatIsQueued`, it waits for the first message only and
    /// takes what is queued by then. Returns how many records were handed over.
    @discardableResult
    func pollBatch(maxMessages: Int, timeoutMilliseconds: Int, upToWhatIsQueued: Bool = false,
                   _ body: (KafkaConsumerRecord) throws -> Void) throws -> Int {
        if maxMessages > batchCapacity {
            batch.deallocate()
            batchCapacity = maxMessages
            batch = .allocate(capacity: batchCapacity)
        }
        // librdkafka's batch call waits until the batch is full or the time is up.
        var count = rd_kafka_consume_batch_queue(queue, Int32(clamping: timeoutMilliseconds), batch, upToWhatIsQueued ? 1 : maxMessages)
        if upToWhatIsQueued && count == 1 && maxMessages > 1 {
            count += max(0, rd_kafka_consume_batch_queue(queue, 0, batch + 1, maxMessages - 1))
        }
        guard count > 0 else {
            try checkState()
            return 0
        }
        deliveries.add(1, ordering: .relaxed)
        var index = 0
        defer { while index < count { rd_kafka_message_destroy(batch[index]); index += 1 } }
        try checkState()
        while index < count {
            let raw = batch[index]!
            let record = try classify(raw)
            try body(record)
            rd_kafka_message_destroy(raw)
            index += 1
        }
        return count
    }

    /// Messages fetched and waiting in librdkafka's queue (read-ahead).
    var queuedMessages: Int { Int(rd_kafka_queue_length(queue)) }

    private let deliveries = Atomic<Int>(0)

    /// Polls that returned records so far; safe to read from any thread.
    var deliveringPolls: Int { deliveries.load(ordering: .relaxed) }

    /// Stops (or restarts) fetching these partitions; the read position is kept.
    func setPaused(_ paused: Bool, _ partitions: [KafkaTopicPartition]) throws {
        guard !partitions.isEmpty else { return }
        let list = makePartitionList(partitions.map { KafkaPartitionOffset(topic: $0.topic, partition: $0.partition, offset: -1001) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = paused ? rd_kafka_pause_partitions(handle.pointer, list) : rd_kafka_resume_partitions(handle.pointer, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, operation: paused ? "pause partitions" : "resume partitions") }
    }

    private func classify(_ raw: UnsafeMutablePointer<rd_kafka_message_t>) throws -> KafkaConsumerRecord {
        let topic = topicNames.name(of: raw.pointee.rkt)
        let err = raw.pointee.err
        if err == RD_KAFKA_RESP_ERR_NO_ERROR {
            state.noteTraffic()
            return .message(KafkaMessageView(raw: raw, topic: topic))
        }
        if err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
            state.noteTraffic()
            return .partitionEnd(KafkaPartitionOffset(topic: topic, partition: raw.pointee.partition, offset: raw.pointee.offset))
        }
        let text = String(cString: rd_kafka_message_errstr(raw))
        throw KafkaError(err, message: text, operation: "consume", topic: topic.isEmpty ? nil : topic,
                         partition: raw.pointee.partition, offset: raw.pointee.offset)
    }

    private func checkState() throws {
        if let error = state.rebalanceError {
            state.rebalanceError = nil
            throw error
        }
        try handle.checkHealth()
    }

    /// Leaves the group (revoking partitions through the rebalance handler)
    /// within `timeoutMilliseconds`; past that, the handle is destroyed
    /// without the group handshake rather than hanging.
    func close(timeoutMilliseconds: Int = 10_000) {
        guard !closed else { return }
        closed = true
        let rk = handle.pointer
        let closeQueue = rd_kafka_queue_new(rk)!
        defer { rd_kafka_queue_destroy(closeQueue) }
        if let error = rd_kafka_consumer_close_queue(rk, closeQueue) {
            Log.debug("Kafka consumer close: \(KafkaError(consuming: error))")
            handle.destroyFlags = KafkaConstant.destroyNoConsumerClose
            return
        }
        let clock = SystemClock.shared
        let deadline = clock.nowMilliseconds + Int64(timeoutMilliseconds)
        while rd_kafka_consumer_closed(rk) == 0 {
            if clock.nowMilliseconds >= deadline {
                Log.warning("Kafka consumer did not close within \(timeoutMilliseconds) ms; abandoning the group handshake")
                handle.destroyFlags = KafkaConstant.destroyNoConsumerClose
                return
            }
            // Event mode: callback mode asserts on ops it cannot serve.
            guard let event = rd_kafka_queue_poll(closeQueue, 100) else { continue }
            if rd_kafka_event_type(event) == RD_KAFKA_EVENT_REBALANCE {
                state.rebalance(rk, rd_kafka_event_error(event), rd_kafka_event_topic_partition_list(event))
            }
            rd_kafka_event_destroy(event)
        }
    }
}

private let consumerRebalanceCallback: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = { rk, err, partitions, opaque in
    guard let rk, let opaque else { return }
    Unmanaged<ConsumerState>.fromOpaque(opaque).takeUnretainedValue().rebalance(rk, err, partitions)
}
