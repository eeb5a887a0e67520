extension TopicsCommand {
    static let tail = CommandSpec(
        name: "tail",
        summary: "print a topic's messages",
        discussion: """
        Reads the topic's partitions directly (no consumer group, nothing is \
        committed). Without --follow it stops at the end each partition had \
        when tail started, so scripts get a bounded dump. --format takes \
        kcat's tokens: %t topic, %p partition, %o offset, %k key, %s value, \
        %K key length, %S value length, %T timestamp (ms), %h headers, %% and \
        the escapes \\n \\t \\r \\\\.
        """,
        arguments: [ArgumentSpec("TOPIC", help: "The topic to read")],
        options: [
            TailOptions.count.spec, TailOptions.follow.spec, TailOptions.offset.spec, TailOptions.partition.spec,
            TailOptions.format.spec, TailOptions.json.spec, TailOptions.packing.spec, TailOptions.keyPacking.spec,
            timeoutOption,
        ],
        examples: [
            Example("pgk topics tail orders -o -10", "The last ten messages of every partition."),
            Example("pgk topics tail orders -f --format '%p:%o %k=%s\\n'", "Follow, kcat style."),
            Example("pgk topics tail orders --json -o @2024-05-01T00:00:00Z | jq .value",
                    "Everything since a point in time, as JSON."),
        ],
        run: { invocation in try TopicTail(invocation).run() })
}

/// One `topics tail` run: reads assigned partitions in batches and renders
/// each message straight from librdkafka's memory into a large buffer.
struct TopicTail {
    private typealias TailOptions = TopicsCommand.TailOptions
    let topic: String
    let config: KafkaConfig
    let start: KafkaStartOffset
    let follow: Bool
    let limit: Int?
    let partitions: [Int32]
    let format: MessageFormat?
    let json: (value: any MessageDecoder, key: any MessageDecoder)?
    /// With --format: decoders for %s and %k when --packing/--key-packing
    /// is msgpack or avro (kcat's `-s value=avro`), so they print as JSON.
    let formatDecoders: (value: (any MessageDecoder)?, key: (any MessageDecoder)?)
    let stop: StopToken
    let output: OutputSink

    init(_ invocation: Invocation) throws {
        output = invocation.output
        topic = invocation.argument("TOPIC")!
        config = TopicsCommand.kafkaConfig(invocation)
        start = invocation[TailOptions.offset]
        follow = invocation[TailOptions.follow]
        limit = invocation[TailOptions.count]
        partitions = invocation[TailOptions.partition].map { Int32(clamping: $0) }
        stop = invocation.stop
        if invocation[TailOptions.json] {
            if invocation[TailOptions.format] != nil {
                throw invocation.usageError("--json and --format exclude each other")
            }
            json = try TopicPayloadCodec.decoders(invocation, value: invocation[TailOptions.packing],
                                                  key: invocation[TailOptions.keyPacking])
            format = nil
        } else {
            json = nil
            format = invocation[TailOptions.format] ?? .valueLines
        }
        let valuePacking = invocation[TailOptions.packing], keyPacking = invocation[TailOptions.keyPacking]
        if json == nil && (valuePacking.isBinary || keyPacking.isBinary) {
            let decoders = try TopicPayloadCodec.decoders(invocation, value: valuePacking, key: keyPacking)
            formatDecoders = (valuePacking.isBinary ? decoders.value : nil, keyPacking.isBinary ? decoders.key : nil)
        } else {
            formatDecoders = (nil, nil)
        }
    }

    func run() throws -> Int32 {
        // Smaller fetch responses (default 50 MB each) keep what lands after a pause small.
        let consumer = try KafkaConsumer(config: config, groupID: nil, defaults: [("fetch.max.bytes", String(4 << 20))],
                                         partitionEOF: true)
        defer { consumer.close(timeoutMilliseconds: 2_000) }
        let existing = try consumer.partitions(of: topic, timeoutMilliseconds: config.connectTimeoutMilliseconds)
        let chosen = partitions.isEmpty ? existing : partitions
        for partition in chosen where !existing.contains(partition) {
            throw KafkaError.unknownPartition(partition, of: topic,
                                              message: "topic \(topic) has no partition \(partition) (it has \(existing.count))",
                                              operation: "tail")
        }
        // The end to stop at, fixed now so a busy topic still ends.
        var endAtStart: [Int32: Int64] = [:]
        if !follow {
            for partition in chosen {
                endAtStart[partition] = try consumer.watermarks(topic: topic, partition: partition,
                                                                timeoutMilliseconds: config.connectTimeoutMilliseconds).high
            }
        }
        let assigned = chosen.map { KafkaTopicPartition(topic: topic, partition: $0) }
        try consumer.assign(Dictionary(uniqueKeysWithValues: assigned.map { ($0, start) }))
        let writer = TailWriter(sink: output, consumer: consumer, partitions: assigned)

        // Messages taken off librdkafka's queue no longer count against its
        // read-ahead, so a batch is sized to hold about 8 MB.
        var batchLimit = 64
        var pending = Set(chosen)
        var printed = 0
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        var badValues = 0
        while !stop.isStopped {
            if !follow && pending.isEmpty { break }
            if let limit, printed >= limit { break }
            var batchBytes = 0
            let received = try consumer.pollBatch(maxMessages: batchLimit, timeoutMilliseconds: 100) { record in
                switch record {
                case .partitionEnd(let end):
                    if !follow { pending.remove(end.partition) }
                case .message(let message):
                    batchBytes += (message.value?.count ?? 0) + (message.key?.count ?? 0)
                    if let limit, printed >= limit { return }
                    if !follow {
                        guard pending.contains(message.partition), let end = endAtStart[message.partition],
                              message.offset < end else { return }
                        if message.offset >= end - 1 { pending.remove(message.partition) }
                    }
                    if let format, formatDecoders.value != nil || formatDecoders.key != nil {
                        let decoded = try DecodedMessage(message, value: formatDecoders.value, key: formatDecoders.key)
                        badValues += decoded.failures
                        format.render(decoded, into: &out)
                    } else if let format {
                        format.render(message, into: &out)
                    } else if let json {
                        badValues += try TailJSON.render(message, value: json.value, key: json.key, into: &out)
                    }
                    printed += 1
                    // Large messages: write as the buffer fills, not after the batch.
                    if out.count >= 512 * 1024 { try writer.write(&out) }
                }
            }
            if received > 0 {
                let average = max(1, batchBytes / received)
                batchLimit = min(10_000, max(16, (8 << 20) / average))
                writer.averageMessageBytes = average + 64
            }
            if out.count >= 512 * 1024 || (received == 0 && !out.isEmpty) { try writer.write(&out) }
            if received == 0 && follow { try writer.write(&out, flush: true) }
            try writer.adjust()
        }
        try writer.write(&out, flush: true)
        try writer.finish()
        if badValues > 0 {
            Log.warning("\(badValues) message(s) could not be decoded as asked; "
                + (json == nil ? "they print as JSON strings of their raw bytes"
                               : "see their \"value_error\"/\"key_error\" fields"))
        }
        return ExitStatus.ok
    }
}

/// Writes tail's output on a thread of its own, so a stalled reader
/// (`| less` left open) never blocks the consumer thread. pgk's consumers
/// read ahead up to 2 GiB (librdkafka 2.0.2 stalls a partition for a
/// second whenever a smaller limit is reached); while the writer is behind
/// and that read-ahead passes `budget`, fetching is paused instead.
final class TailWriter {
    private struct Job { var bytes: [UInt8]; var flush: Bool }
    private let worker: BackgroundWorker<Job, Result<Void, any Error>>
    private let consumer: KafkaConsumer
    private let partitions: [KafkaTopicPartition]
    private var paused = false
    /// Bytes a queued message takes, as last measured.
    var averageMessageBytes = 256
    static let budget = 24 << 20

    init(sink: OutputSink, consumer: KafkaConsumer, partitions: [KafkaTopicPartition]) {
        self.consumer = consumer
        self.partitions = partitions
        worker = BackgroundWorker(name: "tail writer") { job in
            Result {
                if !job.bytes.isEmpty { try job.bytes.withUnsafeBytes { try sink.write($0) } }
                if job.flush { try sink.flush() }
            }
        }
    }

    deinit { worker.shutdown() }

    /// Hands `buffer` over (leaving it empty) once the previous one is written.
    func write(_ buffer: inout [UInt8], flush: Bool = false) throws {
        guard !buffer.isEmpty || flush else { return }
        try waitForWriter()
        worker.start(Job(bytes: buffer, flush: flush))
        buffer = []
        buffer.reserveCapacity(1 << 20)
    }

    /// Pauses fetching while the read-ahead is over budget, resumes below half of it.
    func adjust() throws {
        let queued = consumer.queuedMessages * averageMessageBytes
        if !paused && queued > Self.budget {
            try consumer.setPaused(true, partitions)
            paused = true
        } else if paused && queued < Self.budget / 2 {
            try consumer.setPaused(false, partitions)
            paused = false
        }
    }

    private func waitForWriter() throws {
        while worker.isBusy {
            if let done = worker.wait(milliseconds: 20) { try done.get(); return }
            try adjust()
        }
        if let done = worker.poll() { try done.get() }
    }

    func finish() throws {
        try waitForWriter()
        worker.shutdown()
    }
}

/// `--json` lines, written field by field into the output buffer.
enum TailJSON {
    /// Returns 1 when the key or value did not decode (it is then shown as
    /// text or base64 bytes with an `…_error` field), else 0.
    static func render(_ message: KafkaMessageView, value: any MessageDecoder, key: any MessageDecoder,
                       into out: inout [UInt8]) throws -> Int {
        var object = ValueObject()
        object.appendUnchecked("topic", .string(message.topic))
        object.appendUnchecked("partition", .int(Int64(message.partition)))
        object.appendUnchecked("offset", .int(message.offset))
        object.appendUnchecked("timestamp", message.timestamp.map(Value.int) ?? .null)
        var headers: [Value] = []
        message.forEachHeader { name, bytes in
            headers.append(.object(ValueObject([("key", .string(String(cString: name))),
                                                ("value", bytes.map(Value.textOrBytes) ?? .null)])))
        }
        object.appendUnchecked("headers", .array(headers))
        var failed = 0
        for (field, codec, bytes) in [("key", key, message.key), ("value", value, message.value)] {
            guard let bytes else { object.appendUnchecked(field, .null); continue }
            do throws(MessageCodecError) {
                object.appendUnchecked(field, try codec.decode(Array(bytes)))
            } catch {
                guard case .invalid(let reason) = error else {
                    throw RuntimeError("\(field) of \(message.topic)[\(message.partition)] at offset \(message.offset): \(error)")
                }
                object.appendUnchecked(field, Value.textOrBytes(bytes))
                object.appendUnchecked(field + "_error", .string("\(reason)"))
                failed = 1
            }
        }
        JSONWriter.write(.object(object), into: &out)
        out.append(0x0A)
        return failed
    }

}

/// A message whose binary key or value (msgpack, Avro) is shown as compact
/// JSON text in `--format`'s %k and %s. One that does not decode prints as
/// a JSON string of its bytes (text or base64) and counts as a failure.
struct DecodedMessage: FormattableMessage {
    let base: KafkaMessageView
    private var key: [UInt8]?
    private var value: [UInt8]?
    private let decodedKey: Bool
    private let decodedValue: Bool
    private(set) var failures = 0

    init(_ base: KafkaMessageView, value valueDecoder: (any MessageDecoder)?, key keyDecoder: (any MessageDecoder)?) throws {
        self.base = base
        decodedKey = keyDecoder != nil && base.key != nil
        decodedValue = valueDecoder != nil && base.value != nil
        if let keyDecoder, let bytes = base.key { key = try decode(bytes, keyDecoder, "key") }
        if let valueDecoder, let bytes = base.value { value = try decode(bytes, valueDecoder, "value") }
    }

    private mutating func decode(_ bytes: UnsafeRawBufferPointer, _ decoder: any MessageDecoder,
                                 _ field: String) throws -> [UInt8] {
        do throws(MessageCodecError) {
            return JSON.encodeBytes(try decoder.decode(Array(bytes)))
        } catch {
            guard case .invalid = error else {
                throw RuntimeError("\(field) of \(base.topic)[\(base.partition)] at offset \(base.offset): \(error)")
            }
            failures += 1
            return JSON.encodeBytes(Value.textOrBytes(bytes))
        }
    }

    var topic: String { base.topic }
    var partition: Int32 { base.partition }
    var offset: Int64 { base.offset }
    var timestamp: Int64? { base.timestamp }

    func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard decodedKey, let key else { return try base.withKeyBytes(body) }
        return try key.withUnsafeBytes { try body($0) }
    }

    func withValueBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard decodedValue, let value else { return try base.withValueBytes(body) }
        return try value.withUnsafeBytes { try body($0) }
    }

    func forEachHeaderBytes(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer?) -> Void) {
        base.forEachHeaderBytes(body)
    }
}
