#if canImport(Glibc)
import Glibc
#endif

extension TopicsCommand {
    static let produce = CommandSpec(
        name: "produce",
        summary: "produce one message per input line",
        discussion: """
        Reads lines from stdin (or --file) and produces each as one message \
        with an idempotent producer. Exits 1, saying how many, if any \
        message failed delivery.
        """,
        arguments: [ArgumentSpec("TOPIC", help: "The topic to write to")],
        options: [
            ProduceOptions.file.spec, ProduceOptions.keyDelimiter.spec, ProduceOptions.header.spec,
            ProduceOptions.nullEmpty.spec, ProduceOptions.partition.spec, ProduceOptions.packing.spec,
            ProduceOptions.schema.spec, timeoutOption,
        ],
        examples: [
            Example("printf 'k1:v1\\nk2:v2\\n' | pgk topics produce orders -K:", "Two keyed messages."),
            Example("pgk topics produce orders -K: -Z <<< 'k1:'", "A tombstone for key k1."),
        ],
        run: { invocation in try TopicProduce(invocation).run() })
}

/// One `topics produce` run.
struct TopicProduce {
    private typealias ProduceOptions = TopicsCommand.ProduceOptions
    let topic: String
    let config: KafkaConfig
    let keyDelimiter: [UInt8]?
    let headers: [KafkaHeader]
    let nullEmpty: Bool
    let partition: Int32?
    let packing: Packing
    let encoder: (any MessageEncoder)?
    let file: String?
    let stop: StopToken

    init(_ invocation: Invocation) throws {
        topic = invocation.argument("TOPIC")!
        config = TopicsCommand.kafkaConfig(invocation)
        keyDelimiter = invocation[ProduceOptions.keyDelimiter].map { Array($0.utf8) }
        if keyDelimiter?.isEmpty == true { throw invocation.usageError("--key-delimiter must not be empty") }
        headers = invocation[ProduceOptions.header].map { KafkaHeader(key: $0.key, string: $0.value) }
        nullEmpty = invocation[ProduceOptions.nullEmpty]
        partition = invocation[ProduceOptions.partition].map { Int32(clamping: $0) }
        packing = invocation[ProduceOptions.packing]
        encoder = try TopicPayloadCodec.encoder(invocation, packing: packing,
                                                schema: invocation[ProduceOptions.schema], topic: topic)
        file = invocation[ProduceOptions.file]
        stop = invocation.stop
    }

    func run() throws -> Int32 {
        let source = try InputFile(path: file)
        let fd = source.descriptor
        // The descriptor is closed when `source` goes, so it must live to the end.
        defer { withExtendedLifetime(source) {} }
        let producer = try KafkaProducer(config: config, stop: stop)
        var reported = 0
        var lines = 0
        var invalid = 0
        // Message ids count produced lines; skipped (invalid) lines shift them.
        var skippedLines: [Int] = []
        producer.onDelivery = { report in
            guard let error = report.error else { return }
            reported += 1
            guard reported <= 5 else { return }
            var line = Int(report.messageID)
            for skipped in skippedLines where skipped <= line { line += 1 }
            Log.error("line \(line): \(error)")
        }
        let input = LineInput(fileDescriptor: fd)
        try input.forEachLine(stop: stop, idle: { try producer.poll() }) { line in
            lines += 1
            var key: UnsafeRawBufferPointer?
            var value: UnsafeRawBufferPointer? = line
            if let keyDelimiter, let range = firstRange(of: keyDelimiter, in: line) {
                key = UnsafeRawBufferPointer(rebasing: line[..<range.lowerBound])
                value = UnsafeRawBufferPointer(rebasing: line[range.upperBound...])
            }
            if nullEmpty {
                if key?.isEmpty == true { key = nil }
                if value?.isEmpty == true { value = nil }
            }
            var encoded: [UInt8]?
            if let bytes = value {
                do throws(MessageCodecError) {
                    encoded = try encode(bytes)
                } catch {
                    guard case .invalid = error else { throw RuntimeError("line \(lines): \(error)") }
                    invalid += 1
                    skippedLines.append(lines)
                    if invalid <= 5 { Log.error("line \(lines): not \(packing.rawValue): \(error)") }
                    return
                }
            }
            if let encoded {
                _ = try encoded.withUnsafeBytes { bytes in
                    try producer.produce(topic: topic, partition: partition, key: key, value: bytes, headers: headers)
                }
            } else {
                try producer.produce(topic: topic, partition: partition, key: key, value: value, headers: headers)
            }
        }
        // librdkafka fails each message by message.timeout.ms at the latest;
        // unreachable brokers fail sooner through the client's health check.
        try producer.flush(timeoutMilliseconds: 330_000)
        let failed = producer.failedCount + invalid
        Log.debug("produced \(producer.deliveredCount) of \(lines) line(s) to \(topic)")
        if failed > 0 {
            throw RuntimeError("\(failed) of \(lines) message(s) were not delivered to \(topic)"
                + (invalid > 0 ? " (\(invalid) rejected by --packing \(packing.rawValue))" : ""))
        }
        return ExitStatus.ok
    }

    /// The bytes to send for one input line: nil keeps the line as it is
    /// (raw; string and json once checked), else the encoded form.
    func encode(_ line: UnsafeRawBufferPointer) throws(MessageCodecError) -> [UInt8]? {
        switch packing {
        case .raw: return nil
        case .string:
            _ = try StringMessageDecoder().decode(Array(line))
            return nil
        case .json:
            _ = try JSONMessageDecoder().decode(Array(line))
            return nil
        case .msgpack, .avro:
            let value = try JSONMessageDecoder().decode(Array(line))
            return try encoder!.encode(value)
        }
    }
}
