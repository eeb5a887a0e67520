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
        if let schemaID { _ = try catalog.schema(schemaID) }
        if createTopic { try ensureTopic() }
        let producer = try KafkaProducer(config: config, defaults: [("acks", "all")], stop: stop)
        var failures: [(id: UInt64, error: KafkaError)] = []
        producer.onDelivery = { report in
            if let error = report.error, failures.count < 5 { failures.append((report.messageID, error)) }
        }
        var state = PublishState(topic: topic)
        let progress = ProgressReporter(label: "publish")
        // Parsing and validation run on worker threads, block by block;
        // this thread reads, produces the finished blocks in input order
        // and serves librdkafka's callbacks.
        // Each thread gets its own compiled schemas: shared ones would have
        // both cores retaining the same objects, and the contended reference
        // counts cost more than the validation.
        let workers = try (0..<Self.workerCount).map { index in
            let own = try SchemaCatalog(directory: catalog.directory)
            let flat = try schemaID.flatMap { FlatEventCheck(schema: try own.document($0)) }
            let checker = PublishLineChecker(schemaID: schemaID, schema: try schemaID.map { try own.schema($0) },
                                             catalog: own, raw: raw, keyPath: keyPath, keyDelimiter: keyDelimiter,
                                             singleEvent: singleEvent != nil, flat: flat)
            return BackgroundWorker<[UInt8], PublishBatch>(name: "publish-\(index)") { checker.process($0) }
        }
        defer { for worker in workers { worker.shutdown() } }
        var submitted = 0
        func collect(_ worker: BackgroundWorker<[UInt8], PublishBatch>) throws {
            guard let batch = worker.wait(), !state.stoppedEarly else { return }
            try produce(batch, producer, &state)
            progress.tick(units: state.lines, unitName: "lines",
                          counters: [("sent", producer.deliveredCount), ("rejected", state.rejected)])
        }
        try forEachBlock(idle: { try producer.poll() }) { block in
            let worker = workers[submitted % workers.count]
            try collect(worker)
            if state.stoppedEarly { return false }
            worker.start(block)
            submitted += 1
            return true
        }
        for offset in 0..<workers.count { try collect(workers[(submitted + offset) % workers.count]) }
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

    /// Threads that parse and validate; this one produces.
    static var workerCount: Int { max(1, min(4, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))) }

    /// Produces one finished block: its messages in order, its rejections
    /// reported with absolute line numbers. Under --on-invalid fail, stops
    /// at the first rejection, producing only the lines before it.
    private func produce(_ batch: PublishBatch, _ producer: KafkaProducer, _ state: inout PublishState) throws {
        let base = state.lines
        let stopLine = onInvalid == .fail ? batch.rejections.first?.line : nil
        try batch.values.withUnsafeBytes { values in
            try batch.keys.withUnsafeBytes { keys in
                var valueStart = 0
                for entry in batch.entries {
                    if let stopLine, entry.line > stopLine { break }
                    let value = UnsafeRawBufferPointer(rebasing: values[valueStart..<Int(entry.valueEnd)])
                    valueStart = Int(entry.valueEnd)
                    let key = entry.keyStart < 0 ? nil
                        : UnsafeRawBufferPointer(rebasing: keys[Int(entry.keyStart)..<Int(entry.keyEnd)])
                    try producer.produce(topic: topic, key: key, value: value, headers: headers)
                    state.produced += 1
                }
            }
        }
        let lastLine = stopLine ?? batch.lines
        state.skippedLines.append(contentsOf: batch.skipped.lazy.filter { $0 <= lastLine }.map { base + Int($0) })
        state.lines = base + Int(lastLine)
        for rejection in batch.rejections where rejection.line <= lastLine {
            state.rejected += 1
            if state.rejected <= 100 { Log.error("line \(base + Int(rejection.line)): \(rejection.message)") }
            if state.rejected == 100 { Log.error("(further rejected lines are counted, not shown)") }
        }
        if stopLine != nil { state.stoppedEarly = true }
    }

    // MARK: - Input

    /// Calls `body` with blocks of whole lines (or the --data event) until
    /// the input ends, `body` returns false, or a signal stops the run.
    private func forEachBlock(idle: () throws -> Void, _ body: ([UInt8]) throws -> Bool) throws {
        if let singleEvent {
            _ = try body(Array(singleEvent.utf8))
            return
        }
        let source = try InputFile(path: file)
        let fd = source.descriptor
        // The descriptor is closed when `source` goes, so it must live to the end.
        defer { withExtendedLifetime(source) {} }
        let input = BlockInput(fileDescriptor: fd)
        while let block = try input.next(stop: stop, idle: idle) {
            guard try body(block) else { return }
        }
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
