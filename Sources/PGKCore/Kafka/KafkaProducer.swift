import CRdKafka

/// The outcome of one produced message, matched to `produce`'s return value.
struct KafkaDeliveryReport: Sendable {
    var messageID: UInt64
    var partition: Int32
    var offset: Int64
    /// nil when the broker acknowledged the message.
    var error: KafkaError?
}

final class ProducerState: KafkaClientState, @unchecked Sendable {
    var delivered = 0
    var failed = 0
    /// The first failures, kept for the summary; `failed` counts them all.
    var failures: [KafkaDeliveryReport] = []
    var onDelivery: ((KafkaDeliveryReport) -> Void)?
    var reportSuccesses = false
    static let keptFailures = 100
}

/// An idempotent producer (unless the user sets `enable.idempotence=false`).
///
/// Not thread-safe: one thread produces, polls and flushes. Delivery reports
/// run on that thread inside `produce`, `poll` and `flush`.
final class KafkaProducer {
    private let handle: KafkaHandle
    private let state: ProducerState
    private let stop: StopToken
    private var topics: [String: OpaquePointer] = [:]
    private var lastTopic: (name: String, rkt: OpaquePointer)?
    private var nextID: UInt64 = 1
    /// Messages librdkafka accepted; with the delivery reports, what is outstanding.
    private var enqueued = 0
    private var sincePoll = 0

    /// - Parameters:
    ///   - defaults: properties pgk's caller wants unless the user overrides them.
    ///   - stop: ends waits for queue space (backpressure) and flushes early.
    ///   - verifyConnection: fetch metadata first, so an unreachable broker
    ///     fails within `config.connectTimeoutMilliseconds` instead of at flush.
    init(config: KafkaConfig, defaults: [(String, String)] = [], stop: StopToken = .process,
                verifyConnection: Bool = true) throws {
        let state = ProducerState()
        let native = try config.makeNative(defaults: [KafkaProperty(key: "enable.idempotence", value: "true")]
            + defaults.map { KafkaProperty(key: $0.0, value: $0.1) })
        rd_kafka_conf_set_dr_msg_cb(native.pointer, producerDeliveryCallback)
        handle = try KafkaHandle(type: RD_KAFKA_PRODUCER, config: config, native: native, state: state)
        self.state = state
        self.stop = stop
        if verifyConnection { try handle.verifyReachable(timeoutMilliseconds: config.connectTimeoutMilliseconds) }
    }

    deinit {
        for rkt in topics.values { rd_kafka_topic_destroy(rkt) }
    }

    /// Called for every failed message, and for successes when
    /// `reportSuccesses` is true, on the thread that produces/polls.
    var onDelivery: ((KafkaDeliveryReport) -> Void)? {
        get { state.onDelivery }
        set { state.onDelivery = newValue }
    }
    var reportSuccesses: Bool {
        get { state.reportSuccesses }
        set { state.reportSuccesses = newValue }
    }

    var deliveredCount: Int { state.delivered }
    var failedCount: Int { state.failed }
    /// The first (up to 100) failed deliveries.
    var failures: [KafkaDeliveryReport] { state.failures }
    /// The id the next `produce` call takes; ids are consecutive.
    var nextMessageID: UInt64 { nextID }
    /// Messages produced but not yet reported (queued, in flight, or
    /// awaiting poll). Counted here: librdkafka's queue length also holds
    /// requests and events (a broker-down error), not only messages.
    var outstandingCount: Int { enqueued - state.delivered - state.failed }

    /// Queues one message and returns its ID, which its delivery report
    /// carries. A nil value is a tombstone. `partition` nil lets the
    /// partitioner choose. Waits (polling) while librdkafka's queue is full.
    @discardableResult
    func produce(topic: String, partition: Int32? = nil,
                        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                        headers: [KafkaHeader] = [], timestamp: Int64? = nil) throws -> UInt64 {
        // Every call takes an id, even one that fails, so callers can
        // number their messages in step with the producer.
        let id = nextID
        nextID &+= 1
        let rkt = try topicHandle(topic)
        let opaque = UnsafeMutableRawPointer(bitPattern: UInt(id))
        let target = partition ?? KafkaConstant.partitionUnassigned
        while true {
            let err: rd_kafka_resp_err_t
            if headers.isEmpty && timestamp == nil {
                let rc = rd_kafka_produce(rkt, target, KafkaConstant.messageFlagCopy,
                                          UnsafeMutableRawPointer(mutating: value?.baseAddress), value?.count ?? 0,
                                          key?.baseAddress, key?.count ?? 0, opaque)
                err = rc == 0 ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_last_error()
            } else {
                err = produceWithExtras(rkt: rkt, partition: target, key: key, value: value,
                                        headers: headers, timestamp: timestamp, opaque: opaque)
            }
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { break }
            guard err == RD_KAFKA_RESP_ERR__QUEUE_FULL else {
                throw KafkaError(err, operation: "produce", topic: topic, partition: partition)
            }
            // Backpressure: serve delivery reports until the queue has room.
            rd_kafka_poll(handle.pointer, 10)
            try handle.checkHealth()
            if stop.isStopped {
                throw KafkaError(RD_KAFKA_RESP_ERR__INTR, message: "stopped while waiting for queue space",
                                 operation: "produce", topic: topic)
            }
        }
        enqueued += 1
        sincePoll += 1
        if sincePoll >= 64 {
            sincePoll = 0
            rd_kafka_poll(handle.pointer, 0)
        }
        return id
    }

    @discardableResult
    func produce(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?,
                        headers: [KafkaHeader] = [], timestamp: Int64? = nil) throws -> UInt64 {
        try withOptionalBytes(key) { keyBuffer in
            try withOptionalBytes(value) { valueBuffer in
                try produce(topic: topic, partition: partition, key: keyBuffer, value: valueBuffer,
                            headers: headers, timestamp: timestamp)
            }
        }
    }

    private func produceWithExtras(rkt: OpaquePointer, partition: Int32, key: UnsafeRawBufferPointer?,
                                   value: UnsafeRawBufferPointer?, headers: [KafkaHeader],
                                   timestamp: Int64?, opaque: UnsafeMutableRawPointer?) -> rd_kafka_resp_err_t {
        var list: [rd_kafka_vu_t] = []
        list.reserveCapacity(8)
        func add(_ type: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t) -> Void) {
            var vu = rd_kafka_vu_t()
            vu.vtype = type
            fill(&vu)
            list.append(vu)
        }
        add(RD_KAFKA_VTYPE_RKT) { $0.u.rkt = rkt }
        add(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition }
        add(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = KafkaConstant.messageFlagCopy }
        add(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = opaque }
        if let value {
            add(RD_KAFKA_VTYPE_VALUE) { $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress); $0.u.mem.size = value.count }
        }
        if let key {
            add(RD_KAFKA_VTYPE_KEY) { $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress); $0.u.mem.size = key.count }
        }
        if let timestamp { add(RD_KAFKA_VTYPE_TIMESTAMP) { $0.u.i64 = timestamp } }
        var nativeHeaders: OpaquePointer?
        if !headers.isEmpty {
            let hdrs = rd_kafka_headers_new(headers.count)!
            for header in headers {
                if let bytes = header.value {
                    bytes.withUnsafeBytes { _ = rd_kafka_header_add(hdrs, header.key, -1, $0.baseAddress, $0.count) }
                } else {
                    _ = rd_kafka_header_add(hdrs, header.key, -1, nil, 0)
                }
            }
            nativeHeaders = hdrs
            add(RD_KAFKA_VTYPE_HEADERS) { $0.u.headers = hdrs }
        }
        guard let error = rd_kafka_produceva(handle.pointer, list, list.count) else {
            return RD_KAFKA_RESP_ERR_NO_ERROR // librdkafka now owns the headers
        }
        if let nativeHeaders { rd_kafka_headers_destroy(nativeHeaders) }
        let code = rd_kafka_error_code(error)
        rd_kafka_error_destroy(error)
        return code
    }

    private func topicHandle(_ name: String) throws -> OpaquePointer {
        if let last = lastTopic, last.name == name { return last.rkt }
        if let rkt = topics[name] { lastTopic = (name, rkt); return rkt }
        guard let rkt = rd_kafka_topic_new(handle.pointer, name, nil) else {
            throw KafkaError(rd_kafka_last_error(), operation: "open topic", topic: name)
        }
        topics[name] = rkt
        lastTopic = (name, rkt)
        return rkt
    }

    /// Serves delivery reports; returns how many events were served.
    @discardableResult
    func poll(timeoutMilliseconds: Int = 0) throws -> Int {
        let served = Int(rd_kafka_poll(handle.pointer, Int32(clamping: timeoutMilliseconds)))
        try handle.checkHealth()
        return served
    }

    /// Waits until every queued message is delivered or failed. Throws when
    /// messages remain after the timeout (saying how many), when stopped,
    /// or when no broker is reachable for longer than the connect timeout.
    func flush(timeoutMilliseconds: Int) throws {
        let clock = SystemClock.shared
        let deadline = clock.nowMilliseconds + Int64(timeoutMilliseconds)
        while true {
            let remaining = deadline - clock.nowMilliseconds
            let err = rd_kafka_flush(handle.pointer, Int32(clamping: max(0, min(remaining, 100))))
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            try handle.checkHealth()
            let left = outstandingCount
            if stop.isStopped {
                throw KafkaError(RD_KAFKA_RESP_ERR__INTR, message: "stopped with \(left) message(s) undelivered",
                                 operation: "flush")
            }
            if clock.nowMilliseconds >= deadline {
                throw KafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT,
                                 message: "\(left) message(s) still undelivered after \(timeoutMilliseconds) ms",
                                 operation: "flush")
            }
        }
    }
}

func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
    guard let bytes else { return try body(nil) }
    return try bytes.withUnsafeBytes { buffer in
        // An empty array may have no base address; librdkafka reads
        // (non-null, 0) as an empty value and (null, 0) as null.
        if buffer.baseAddress == nil {
            return try withUnsafeTemporaryAllocation(byteCount: 1, alignment: 1) { try body(UnsafeRawBufferPointer(start: $0.baseAddress, count: 0)) }
        }
        return try body(buffer)
    }
}

private let producerDeliveryCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = { _, message, opaque in
    guard let message, let opaque else { return }
    let state = Unmanaged<ProducerState>.fromOpaque(opaque).takeUnretainedValue()
    let id = UInt64(UInt(bitPattern: message.pointee._private))
    let err = message.pointee.err
    if err == RD_KAFKA_RESP_ERR_NO_ERROR {
        state.delivered += 1
        state.allBrokersDownSince = nil
        if state.reportSuccesses, let onDelivery = state.onDelivery {
            onDelivery(KafkaDeliveryReport(messageID: id, partition: message.pointee.partition,
                                           offset: message.pointee.offset, error: nil))
        }
        return
    }
    let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) }
    let text = String(cString: rd_kafka_message_errstr(message))
    let error = KafkaError(err, message: text, operation: "deliver message \(id)", topic: topic,
                          partition: message.pointee.partition)
    let report = KafkaDeliveryReport(messageID: id, partition: message.pointee.partition,
                                     offset: message.pointee.offset, error: error)
    state.failed += 1
    if state.failures.count < ProducerState.keptFailures { state.failures.append(report) }
    state.onDelivery?(report)
}
