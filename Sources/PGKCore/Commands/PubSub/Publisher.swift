#if canImport(Glibc)
import Glibc
#endif

/// One `pgk publish` run: read events, validate, wrap, produce, report.
///
/// Runs on the calling thread (synchronous reads and librdkafka calls);
/// SIGINT/SIGTERM stop the reading, and what was sent is still flushed.
struct Publisher {
    let stream: String
    let topic: String
    let catalog: SchemaCatalog
    /// The schema of every event; with --raw, an optional filter.
    let schemaID: SchemaID?
    let raw: Bool
    let keyPath: [String]?
    let keyDelimiter: [UInt8]?
    let headers: [KafkaHeader]
    let onInvalid: PublishCommand.InvalidPolicy
    let file: String?
    let singleEvent: String?
    let createTopic: Bool
    let partitions: Int
    let retentionMilliseconds: Int64?
    let config: KafkaConfig
    let stop: StopToken

    init(_ invocation: Invocation) throws {
        typealias C = PublishCommand
        stream = invocation.argument("STREAM")!
        topic = (invocation[C.topicPrefix] ?? "") + stream
        try TopicName.validate(topic, hint: "check STREAM and --topic-prefix")
        raw = invocation[C.raw]
        schemaID = invocation[C.schema]
        if schemaID == nil && !raw {
            throw invocation.usageError("--schema NAME:VERSION is required (or --raw for lines that are envelopes)")
        }
        file = invocation[C.file]
        singleEvent = invocation[C.data]
        if file != nil && singleEvent != nil { throw invocation.usageError("give --file or --data, not both") }
        if let text = invocation[C.keyField] {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard parts.allSatisfy({ !$0.isEmpty }) else {
                throw invocation.usageError("--key-field '\(text)' is not a dotted path such as user.id")
            }
            keyPath = parts
        } else {
            keyPath = nil
        }
        keyDelimiter = invocation[C.keyDelimiter].map { Array($0.utf8) }
        if keyDelimiter?.isEmpty == true { throw invocation.usageError("--key-delimiter must not be empty") }
        if keyDelimiter != nil && keyPath != nil {
            throw invocation.usageError("give --key-field or --key-delimiter (-K), not both")
        }
        headers = invocation[C.header].map(KeyValueText.split).map { KafkaHeader(key: $0.key, string: $0.value) }
        onInvalid = invocation[C.onInvalid]
        createTopic = invocation[C.createTopic]
        partitions = invocation[C.partitions]
        retentionMilliseconds = invocation[C.retention]
        config = KafkaConfig(brokers: invocation.globals.brokers,
                             properties: invocation.globals.kafkaProperties.map { ($0.key, $0.value) },
                             connectTimeoutMilliseconds: Int(invocation[C.timeout]))
        stop = invocation.stop
        // PGK_SCHEMAS reaches --schemas through the option table.
        catalog = try SchemaCatalog(directory: invocation[C.schemas] ?? SchemaCatalog.defaultDirectory)
    }

    func run() throws -> Int32 {
        // A schema that cannot be used fails the run before anything is sent.
        let schema = try schemaID.map { try catalog.schema($0) }
        if createTopic { try ensureTopic() }
        let producer = try KafkaProducer(config: config, defaults: [("acks", "all")], stop: stop)
        var state = PublishState(topic: topic)
        let progress = ProgressReporter(label: "publish")
        var failures: [(id: UInt64, error: KafkaError)] = []
        producer.onDelivery = { report in
            if let error = report.error, failures.count < 5 { failures.append((report.messageID, error)) }
        }
        let writer = schemaID.map { EnvelopeWriter(schema: $0) }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        do {
            try forEachEvent(idle: { try producer.poll() }) { line in
                state.lines += 1
                guard let event = try prepare(line, schema: schema, state: &state) else { return }
                if let writer {
                    buffer.removeAll(keepingCapacity: true)
                    writer.write(data: event.data, into: &buffer)
                    try buffer.withUnsafeBytes { value in
                        try produce(producer, key: event.key, value: value)
                    }
                } else {
                    try produce(producer, key: event.key, value: Envelope.trimmed(line.value))
                }
                state.produced += 1
                progress.tick(units: state.lines, unitName: "lines",
                              counters: [("sent", producer.deliveredCount), ("rejected", state.rejected)])
            }
        } catch is StopPublishing {
            // --on-invalid fail: what was sent is still flushed below.
        }
        try producer.flush(timeoutMilliseconds: 330_000)
        for failure in failures {
            Log.error("line \(state.lineNumber(ofMessage: failure.id)): not delivered to \(topic): \(failure.error)")
        }
        let failed = producer.failedCount
        progress.finish(units: state.lines, unitName: "lines",
                        counters: [("sent", producer.deliveredCount), ("rejected", state.rejected), ("failed", failed)])
        if state.rejected > 0 || failed > 0 || producer.deliveredCount < state.produced {
            Log.error("\(state.rejected) event(s) rejected, \(state.produced - producer.deliveredCount) not delivered "
                + "to \(topic)" + (state.stoppedEarly ? " (stopped at the first invalid event: --on-invalid fail)" : ""))
            return ExitStatus.failure
        }
        return ExitStatus.ok
    }

    private func produce(_ producer: KafkaProducer, key: Key, value: UnsafeRawBufferPointer) throws {
        switch key {
        case .none:
            try producer.produce(topic: topic, key: nil, value: value, headers: headers)
        case .bytes(let bytes):
            try producer.produce(topic: topic, key: bytes, value: value, headers: headers)
        case .owned(let bytes):
            _ = try bytes.withUnsafeBytes { try producer.produce(topic: topic, key: $0, value: value, headers: headers) }
        }
    }

    // MARK: - One event

    enum Key {
        case none
        /// A slice of the input line.
        case bytes(UnsafeRawBufferPointer)
        case owned([UInt8])
    }

    struct Line {
        var number: Int
        /// The line without the key part (-K).
        var value: UnsafeRawBufferPointer
        var key: Key
    }

    struct Event {
        /// The bytes that become `data`.
        var data: UnsafeRawBufferPointer
        var key: Key
    }

    /// Validates one line; nil when it is rejected (reported, counted), or
    /// blank (ignored). Throws `StopPublishing` under --on-invalid fail.
    private func prepare(_ line: Line, schema: CompiledSchema?, state: inout PublishState) throws -> Event? {
        if singleEvent == nil && Envelope.trimmed(line.value).isEmpty {
            state.skippedLines.append(line.number)
            return nil
        }
        var outcome: Result<Value, PublishRejection>
        if raw {
            outcome = checkEnvelope(line.value, schema: schema)
        } else {
            outcome = checkEvent(line.value, schema: schema!)
        }
        var key = line.key
        if case .success(let data) = outcome, let keyPath {
            switch keyValue(data, path: keyPath) {
            case .success(let bytes): key = bytes.map(Key.owned) ?? .none
            case .failure(let rejection): outcome = .failure(rejection)
            }
        }
        switch outcome {
        case .success:
            return Event(data: line.value, key: key)
        case .failure(let rejection):
            state.rejected += 1
            state.skippedLines.append(line.number)
            if state.rejected <= 100 { Log.error("line \(line.number): \(rejection.message)") }
            if state.rejected == 100 { Log.error("(further rejected lines are counted, not shown)") }
            if onInvalid == .fail {
                state.stoppedEarly = true
                throw StopPublishing()
            }
            return nil
        }
    }

    /// The event when `bytes` is a valid one.
    private func checkEvent(_ bytes: UnsafeRawBufferPointer, schema: CompiledSchema) -> Result<Value, PublishRejection> {
        let value: Value
        do {
            value = try JSON.decode(bytes, options: JSON.ReadOptions(preserveNumberText: true))
        } catch {
            return .failure(PublishRejection("not JSON: \(error)"))
        }
        guard case .object = value else { return .failure(PublishRejection("the event is not a JSON object")) }
        if !schema.isValid(value) {
            let first = schema.validate(value).first.map(\.description) ?? "invalid"
            return .failure(PublishRejection(first))
        }
        return .success(value)
    }

    private func checkEnvelope(_ bytes: UnsafeRawBufferPointer, schema: CompiledSchema?) -> Result<Value, PublishRejection> {
        let envelope: Envelope
        let id: SchemaID
        do {
            envelope = try Envelope.decode(bytes)
            id = try envelope.schemaID()
        } catch {
            return .failure(PublishRejection(error.description))
        }
        if let schemaID, id != schemaID {
            return .failure(PublishRejection("schema \(id) is not \(schemaID) (--schema)"))
        }
        let compiled: CompiledSchema
        if let schema {
            compiled = schema
        } else {
            do { compiled = try catalog.schema(id) } catch { return .failure(PublishRejection(error.description)) }
        }
        if !compiled.isValid(envelope.data) {
            let first = compiled.validate(envelope.data).first.map(\.description) ?? "invalid"
            return .failure(PublishRejection("\(id): \(first)"))
        }
        return .success(envelope.data)
    }

    /// The key bytes at `path` in the event: strings as their text, other
    /// values as compact JSON, null as no key. A missing field rejects.
    private func keyValue(_ data: Value, path: [String]) -> Result<[UInt8]?, PublishRejection> {
        var current = data
        for name in path {
            guard case .object(let object) = current, let next = object[name] else {
                return .failure(PublishRejection("key field '\(path.joined(separator: "."))' is missing"))
            }
            current = next
        }
        switch current {
        case .null: return .success(nil)
        case .string(let text): return .success(Array(text.utf8))
        default: return .success(JSON.encodeBytes(current))
        }
    }

    // MARK: - Input

    /// Calls `body` for each input line (or the --data event), with the key
    /// split off when -K is given.
    private func forEachEvent(idle: () throws -> Void, _ body: (Line) throws -> Void) throws {
        var number = 0
        func split(_ bytes: UnsafeRawBufferPointer) throws {
            number += 1
            if let keyDelimiter, let range = firstRange(of: keyDelimiter, in: bytes) {
                try body(Line(number: number, value: UnsafeRawBufferPointer(rebasing: bytes[range.upperBound...]),
                              key: .bytes(UnsafeRawBufferPointer(rebasing: bytes[..<range.lowerBound]))))
            } else {
                try body(Line(number: number, value: bytes, key: .none))
            }
        }
        if let singleEvent {
            var text = singleEvent
            try text.withUTF8 { try split(UnsafeRawBufferPointer($0)) }
            return
        }
        let fd: Int32
        if let file {
            fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw RuntimeError("cannot open \(file): \(String(cString: strerror(errno)))") }
        } else {
            fd = 0
        }
        defer { if fd != 0 { close(fd) } }
        try LineInput(fileDescriptor: fd).forEachLine(stop: stop, idle: idle) { try split($0) }
    }

    // MARK: - Topic

    /// Creates the topic unless it exists: `partitions`, replication
    /// factor min(3, brokers in the cluster's metadata), `retention.ms`.
    private func ensureTopic() throws {
        let admin = try KafkaAdmin(config: config)
        let metadata = try admin.metadata(topic: nil)
        if let existing = metadata.topic(topic), existing.error == nil {
            Log.debug("topic \(topic) exists (\(existing.partitions.count) partitions)")
            return
        }
        // The cluster's brokers, not the bootstrap list: kafkaesk used the
        // latter and asked single-address clusters for one replica.
        let replicas = max(1, min(3, metadata.brokers.count))
        var configs: [(String, String)] = []
        if let retentionMilliseconds { configs.append(("retention.ms", String(retentionMilliseconds))) }
        let request = KafkaNewTopic(name: topic, partitions: partitions, replicationFactor: replicas, configs: configs)
        for outcome in try admin.createTopics([request]) {
            guard let error = outcome.error else { continue }
            if error.kind == .topicAlreadyExists { return }
            throw error
        }
        Log.info("created topic \(topic) (\(partitions) partitions, replication factor \(replicas)"
            + (retentionMilliseconds.map { ", retention.ms \($0)" } ?? "") + ")")
    }
}

/// Counts for one run, and the lines that produced no message (so delivery
/// reports, numbered per produced message, map back to line numbers).
struct PublishState {
    let topic: String
    var lines = 0
    var produced = 0
    var rejected = 0
    var stoppedEarly = false
    var skippedLines: [Int] = []

    init(topic: String) { self.topic = topic }

    /// The input line of the `id`th produced message (ids start at 1).
    func lineNumber(ofMessage id: UInt64) -> Int {
        var line = Int(id)
        for skipped in skippedLines where skipped <= line { line += 1 }
        return line
    }
}

struct PublishRejection: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Ends the input loop under --on-invalid fail.
private struct StopPublishing: Error {}
