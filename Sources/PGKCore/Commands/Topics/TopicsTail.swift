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
    }

    func run() throws -> Int32 {
        let consumer = try KafkaConsumer(config: config, groupID: nil, partitionEOF: true)
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
        try consumer.assign(Dictionary(uniqueKeysWithValues: chosen.map { (KafkaTopicPartition(topic: topic, partition: $0), start) }))

        var pending = Set(chosen)
        var printed = 0
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        var badValues = 0
        let sink = output
        while !stop.isStopped {
            if !follow && pending.isEmpty { break }
            if let limit, printed >= limit { break }
            let received = try consumer.pollBatch(maxMessages: 10_000, timeoutMilliseconds: 100) { record in
                switch record {
                case .partitionEnd(let end):
                    if !follow { pending.remove(end.partition) }
                case .message(let message):
                    if let limit, printed >= limit { return }
                    if !follow {
                        guard pending.contains(message.partition), let end = endAtStart[message.partition],
                              message.offset < end else { return }
                        if message.offset >= end - 1 { pending.remove(message.partition) }
                    }
                    if let format {
                        format.render(message, into: &out)
                    } else if let json {
                        badValues += try TailJSON.render(message, value: json.value, key: json.key, into: &out)
                    }
                    printed += 1
                }
            }
            if out.count >= 512 * 1024 || (received == 0 && !out.isEmpty) {
                try out.withUnsafeBytes { try sink.write($0) }
                out.removeAll(keepingCapacity: true)
            }
            if received == 0 && follow { try sink.flush() }
        }
        try out.withUnsafeBytes { try sink.write($0) }
        try sink.flush()
        if badValues > 0 {
            Log.warning("\(badValues) message(s) could not be decoded as asked; see their \"value_error\"/\"key_error\" fields")
        }
        return ExitStatus.ok
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
