import Foundation

/// Runs one persistent query on the calling thread, a batch per `step`.
///
/// Exactly once into PostgreSQL: a batch's staging, state, result rows,
/// dead letters and source offsets commit in one
/// transaction, and the consumer always resumes from the offsets stored
/// there. Kafka outputs are at least once: a stream's rows, and a table's
/// changelog, are produced and acknowledged before that commit (a push
/// query's changelog waits in the outbox until it is printed).
final class QueryRunner {
    let query: SQLQuery
    let plan: QueryPlan
    let store: CatalogStore
    private let kafka: KafkaConfig
    private let registry: SchemaRegistryClient?
    private let untilEnd: Bool
    /// The reader's; the writer's, used only to stage a batch reduced while read, is its own.
    private let decoder: RecordDecoder
    private(set) lazy var writerDecoder = Self.decoder(query, plan, registry)
    let encoder: OutputEncoder
    private var consumer: KafkaConsumer?
    private var nudger: KafkaFetchNudger?
    var producer: KafkaProducer?
    private var assigned: Set<KafkaTopicPartition> = []
    private var ended: Set<KafkaTopicPartition> = []
    /// The partition of the last record read, which is not in `ended`.
    private var reading: KafkaTopicPartition?
    private var waitingForTopics: Int64?
    private var leases: Leases?
    private var topicPartitions: [String: [Int32]] = [:]
    private var lastLeaseCheck: Int64 = 0
    private(set) var processed = 0
    var deadLettered = 0
    var lastPublish: Int64 = 0
    /// Whether a batch may have queued changelog rows in the outbox since
    /// the last round of publishing began (read and reset on this thread,
    /// once the writer is idle).
    private var wroteSincePublish = false
    /// Changelog records the last batch produced itself (`producesChangelog`).
    var changelogSent = 0
    private var writer: BackgroundWorker<StagedRecords, Result<Void, any Error>>?
    /// Set for a query with several input topics (joins).
    private var aligner: TimestampAligner<StagedMessage>?
    /// Whether an input's ROWTIME comes from a TIMESTAMP column.
    private lazy var rowtimeFromColumns = plan.inputs.contains { $0.source.timestampColumn != nil }
    static let throwOnInvalidTimestampProperty = "ksql.timestamp.throw.on.invalid"
    /// A push query's printer instead of a topic; returns false once it
    /// wants no more rows (LIMIT).
    var rowSink: ((Value) throws -> Bool)?
    var rowSinkIsFull = false
    /// How often a push query prints its table's changes, and a query
    /// looks for changelog rows left in the outbox.
    static let publishIntervalMilliseconds: Int64 = 1_000
    /// Records per transaction: a batch's statements cost about as much
    /// for few records as for many, so large batches pay for themselves.
    static let maxBatch = 50_000
    /// A pre-aggregated batch (QueryPlan.Combined) costs PostgreSQL per
    /// group, not per record: larger batches fold the same groups less often.
    static let maxCombinedBatch = 200_000
    /// Half the sink's read-ahead (`SinkTopics.prefetchDefaults`):
    /// two batches are held as well, one read while the other is written
    /// (up to 200k records each; 400k while a writer is busy, when the
    /// records are reduced as read and no staged rows are kept). With the
    /// broker threads nudged awake (`KafkaFetchNudger`) a shallow read-ahead refills within
    /// milliseconds; at 150k messages, 48 MiB and 16 MiB per fetch, 1M
    /// events peaked at 291–314 MB.
    static let prefetchDefaults: [(String, String)] = [
        ("queued.min.messages", "50000"),
        ("queued.max.messages.kbytes", "16384"),
        ("fetch.max.bytes", "4194304"),
    ]
    private lazy var fullBatch = plan.combined == nil ? Self.maxBatch : Self.maxCombinedBatch
    /// The first batches are smaller, doubling up to `fullBatch`: the
    /// writer starts while the reader is still filling the pipeline,
    /// instead of after a whole batch was read.
    private var batchLimit = 25_000
    /// The groups the last batch applied was pre-aggregated into; nil when SQL folded it.
    private var combinedGroups: Int?
    private var lastBatchSizes = StagedRecords.Sizes()
    /// Arrival numbers per batch (see `stage`); far above either batch limit.
    static let seqStride: Int64 = 1 << 24

    init(query: SQLQuery, plan: QueryPlan, store: CatalogStore, kafka: KafkaConfig,
         registry: SchemaRegistryClient?, untilEnd: Bool) {
        self.query = query
        self.plan = plan
        self.store = store
        self.kafka = kafka
        self.registry = registry
        self.untilEnd = untilEnd
        encoder = OutputEncoder(sink: plan.sink, registry: registry)
        if Set(plan.inputs.map(\.source.topic)).count > 1 { aligner = TimestampAligner() }
        decoder = Self.decoder(query, plan, registry)
    }

    private static func decoder(_ query: SQLQuery, _ plan: QueryPlan, _ registry: SchemaRegistryClient?) -> RecordDecoder {
        // `ksql.timestamp.throw.on.invalid`: an invalid TIMESTAMP column
        // stops the query (QueryFailure) instead of skipping the record.
        let throwsOnInvalidTimestamp = query.functionProperties[throwOnInvalidTimestampProperty]?.lowercased() == "true"
        return RecordDecoder(queryID: query.id, plan: plan, registry: registry, throwsOnInvalidTimestamp: throwsOnInvalidTimestamp)
    }

    /// Whether every input partition was read to its end (`--until-end`).
    var reachedEnd: Bool { (!assigned.isEmpty || nothingToRead) && assigned.isSubset(of: ended) && aligner?.isEmpty ?? true }
    /// `--until-end` over input topics that do not exist: there is nothing to read.
    private var nothingToRead = false

    /// Joins the processes running this query (see Leases);
    /// partitions are assigned from the offsets PostgreSQL holds.
    func start() throws {
        // Partition number p of every input is one lease: co-partitioned inputs meet in one process.
        leases = try Leases(connection: store.connection, scope: "sql \(store.schema).\(query.id)")
        producer = try KafkaProducer(config: kafka, defaults: [("partitioner", "murmur2_random")])
        lastPublish = SystemClock.shared.nowMilliseconds
        try publishChangelog(on: store.connection)
        writer = BackgroundWorker(name: "pgk-sql-writer") { [unowned self] batch in Result { try write(batch) } }
    }

    /// Finds the input topics, then keeps the assignment in step with the
    /// leases (checked every 2 s, between batches).
    private func assignWhenTopicsExist() throws -> Bool {
        // A short fetch wait: the end of a partition is seen sooner. A
        // bounded read-ahead: reading a whole topic ahead took 1M small
        // events to 409 MB RSS.
        if self.consumer == nil {
            let fetchWait = untilEnd ? KafkaConsumer.readToEndDefaults : [("fetch.wait.max.ms", "100")]
            self.consumer = try KafkaConsumer(config: kafka, groupID: nil, defaults: fetchWait + Self.prefetchDefaults,
                                              partitionEOF: true)
        }
        guard let consumer = self.consumer else { return false }
        let timeout = kafka.connectTimeoutMilliseconds
        if topicPartitions.isEmpty {
            let names = Set(try consumer.metadata(topic: nil, timeoutMilliseconds: timeout).topics.map(\.name))
            let topics = Set(plan.inputs.map(\.source.topic))
            let missing = topics.subtracting(names)
            if !missing.isEmpty && !untilEnd {
                let now = SystemClock.shared.nowMilliseconds
                if waitingForTopics == nil || now - waitingForTopics! > 30_000 {
                    Log.info("sql: \(query.id) waits for topic(s) \(missing.sorted().joined(separator: ", "))")
                    waitingForTopics = now
                }
                return false
            }
            if !missing.isEmpty {
                // Read to its end, a topic that does not exist is empty.
                Log.warning("sql: \(query.id): topic(s) \(missing.sorted().joined(separator: ", ")) do not exist: nothing to read there")
            }
            for topic in topics {
                topicPartitions[topic] = missing.contains(topic) ? [] : try consumer.partitions(of: topic, timeoutMilliseconds: timeout)
            }
            nothingToRead = topicPartitions.values.allSatisfy(\.isEmpty)
            if nothingToRead { return false }
        }
        let now = SystemClock.shared.nowMilliseconds
        guard let leases else { throw RuntimeError("sql: \(query.id) was stopped") }
        guard now - lastLeaseCheck >= 2_000 else { return true }
        lastLeaseCheck = now
        try writer?.wait()?.get()  // the batch in flight commits before any lease moves
        let before = leases.held
        let count = topicPartitions.values.map(\.count).max() ?? 0
        let held = Set(try leases.refresh((0..<count).map(String.init)).compactMap { Int32($0) })
        guard leases.held != before || assigned.isEmpty && !held.isEmpty else { return true }
        let stored = try store.offsets(query: query.id)
        var starts: [KafkaTopicPartition: KafkaStartOffset] = [:]
        for (topic, partitions) in topicPartitions {
            for partition in partitions where held.contains(partition) {
                let key = KafkaTopicPartition(topic: topic, partition: partition)
                starts[key] = stored[key].map { .offset($0) } ?? (query.offsetReset == "earliest" ? .beginning : .end)
            }
        }
        // Paused for the aligner, a partition would stay paused in the new assignment.
        try consumer.setPaused(false, Array(aligner?.paused ?? []))
        try consumer.assign(starts)
        nudger?.stop()
        nudger = try KafkaFetchNudger.start(for: consumer, partitions: starts.keys.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) })
        assigned = Set(starts.keys)
        // Every partition is read again from its stored offset: what was
        // seen of its end no longer holds.
        ended = []
        aligner?.reset(partitions: assigned)
        let members = try leases.members()
        Log.info("sql: \(query.id) runs partition(s) \(held.sorted().map(String.init).joined(separator: ",")) "
            + "with \(members) process(es)")
        return true
    }

    /// Reads and applies one batch; returns the records it took.
    @discardableResult
    func step(timeoutMilliseconds: Int) throws -> Int {
        guard try assignWhenTopicsExist(), let consumer else {
            usleep(UInt32(min(timeoutMilliseconds, 200)) * 1000)
            return 0
        }
        var batch = decoder.newBatch(reserving: lastBatchSizes)
        // A record that stops the query ends the batch: what came before it is still applied.
        var failure: QueryFailure?
        let started = SystemClock.shared.nowMilliseconds
        do {
            try collect(into: &batch, from: consumer, until: started + Int64(timeoutMilliseconds))
        } catch let stopping as QueryFailure {
            failure = stopping
        }
        guard batch.count > 0 else {
            if let failure { throw failure }
            if reachedEnd { try drain(onlyIfDue: true) }
            return 0
        }
        processed += batch.count
        lastBatchSizes = batch.sizes
        batchLimit = min(batchLimit * 2, fullBatch)
        let read = SystemClock.shared.nowMilliseconds
        // The previous batch commits while this one was read and decoded.
        if let writer, rowSink == nil {
            try writer.wait()?.get()
            Log.debug("sql: \(query.id): read \(batch.count) record(s) in \(read - started) ms, "
                + "then waited \(SystemClock.shared.nowMilliseconds - read) ms for the batch before")
            writer.start(batch)
        } else {
            try write(batch)
        }
        if let failure {
            try drain()
            throw failure
        }
        return batch.count
    }

    /// Reads records into the batch until it is full, the deadline passes
    /// or the input is read to its end.
    private func collect(into batch: inout StagedRecords, from consumer: KafkaConsumer, until deadline: Int64) throws {
        while batch.count < batchLimit || readsOnWhileWriterIsBusy(batch) {
            let remaining = Int(deadline - SystemClock.shared.nowMilliseconds)
            guard remaining > 0 else { break }
            // Up to what is queued: a poll that waited for a full 10k
            // records waited out its 100 ms whenever fewer were left.
            let taken = try consumer.pollBatch(maxMessages: min(batchLimit - batch.count, 10_000), timeoutMilliseconds: min(remaining, 100),
                                               upToWhatIsQueued: true) { record in
                switch record {
                case .message(let view):
                    // Records come a partition at a time: its end is forgotten once, not hashed per record.
                    if !ended.isEmpty && (reading?.partition != view.partition || reading?.topic != view.topic) {
                        reading = KafkaTopicPartition(topic: view.topic, partition: view.partition)
                        ended.remove(reading!)
                    }
                    // Joins line records up by ROWTIME: a TIMESTAMP column's
                    // needs the record decoded first; the Kafka timestamp does not.
                    if aligner == nil {
                        try take(view, into: &batch)
                    } else {
                        let message = view.copy(withHeaders: false)
                        aligner!.add(rowtimeFromColumns ? try stage(message) : StagedMessage(message: message))
                    }
                case .partitionEnd(let end):
                    ended.insert(KafkaTopicPartition(topic: end.topic, partition: end.partition))
                    reading = nil
                }
            }
            if aligner != nil {
                let now = SystemClock.shared.nowMilliseconds
                for staged in aligner!.release(limit: batchLimit - batch.count, caughtUp: ended, now: now) {
                    try take(staged, into: &batch)
                }
                let (pause, resume) = aligner!.pacing()
                try consumer.setPaused(true, pause)
                try consumer.setPaused(false, resume)
            }
            if taken == 0 || reachedEnd { break }
        }
    }

    /// A batch reduced while read costs the writer per group, not per
    /// record: rather than wait for a busy writer, the reader goes on
    /// filling it (up to twice a full batch), and the writer folds the
    /// same groups fewer times.
    private func readsOnWhileWriterIsBusy(_ batch: StagedRecords) -> Bool {
        batch.groups != nil && batch.count < 2 * Self.maxCombinedBatch && writer?.isBusy == true
    }

    /// Waits for the batch in flight and sends the changelog: at the end
    /// of the input and before stopping. `onlyIfDue` skips the round when
    /// this process wrote nothing since the last one began, up to the
    /// publishing interval: a caught-up query steps five times a second,
    /// and each round is a transaction. (Rows another process left behind
    /// still go out within the interval.)
    func drain(onlyIfDue: Bool = false) throws {
        try writer?.wait()?.get()
        let now = SystemClock.shared.nowMilliseconds
        if onlyIfDue && !wroteSincePublish && now - lastPublish < Self.publishIntervalMilliseconds { return }
        wroteSincePublish = false
        lastPublish = now
        try publishChangelog(on: store.connection)
    }

    /// One batch into PostgreSQL (its changelog sent before it commits),
    /// then the outbox's when it is due; on the writer thread, which alone
    /// uses the connection meanwhile.
    private func write(_ batch: StagedRecords) throws {
        let clock = SystemClock.shared
        let started = clock.nowMilliseconds
        changelogSent = 0
        try applyIsolatingBadRecords(batch)
        // (Even a runner that produces its changelog may queue some: see
        // `SQL.changelogRows`.)
        wroteSincePublish = true
        let applied = clock.nowMilliseconds
        let publishing = applied - lastPublish >= Self.publishIntervalMilliseconds ? try publishChangelogNow() : ""
        let combined = combinedGroups.map { ", pre-aggregated into \($0) group(s)\(batch.groups != nil ? " while read" : "")" } ?? ""
        Log.debug("sql: \(query.id): \(batch.count) record(s)\(combined), "
            + "applied in \(applied - started) ms\(producesChangelog ? " with \(changelogSent) changelog record(s) sent" : "")\(publishing)")
    }

    /// Stages a record straight from librdkafka's memory into the batch
    /// (no aligner): no intermediate message or row to build, copy and
    /// free per record.
    private func take(_ view: KafkaMessageView, into batch: inout StagedRecords) throws {
        if batch.groups != nil {
            if decoder.combine(key: view.key, value: view.value, timestamp: view.timestamp, into: &batch) { return batch.note(batch.take(view)) }
            // A record the groups cannot take: the batch stages its records after all, this one with them.
            try decoder.stageCombinedRecords(of: &batch)
        }
        let mark = batch.mark
        let record = batch.take(view)
        try take(record, topic: view.topic, key: view.key, value: view.value, timestamp: view.timestamp, into: &batch, mark: mark)
    }

    private func take(_ message: KafkaMessage, into batch: inout StagedRecords) throws {
        let mark = batch.mark
        let record = batch.take(message)
        try withOptionalBytes(message.key) { key in
            try withOptionalBytes(message.value) { value in
                try take(record, topic: message.topic, key: key, value: value, timestamp: message.timestamp, into: &batch, mark: mark)
            }
        }
    }

    private func take(_ record: Int, topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                      timestamp: Int64?, into batch: inout StagedRecords, mark: StagedRecords.Mark) throws {
        do {
            try decoder.decode(topic: topic, key: key, value: value, timestamp: timestamp, record: { batch.records.message(record) },
                       entry: { input, row, _ in batch.addEntry(input: input, row: row, record: record) },
                       failed: { batch.deadLetters.append((batch.records.message(record), $0)) })
        } catch {
            // Not taken at all: neither its rows nor its offset.
            batch.rollBack(to: mark)
            throw error
        }
        batch.note(record)
    }

    private func take(_ staged: StagedMessage, into batch: inout StagedRecords) throws {
        guard staged.decoded else { return try take(staged.message, into: &batch) }
        let record = batch.take(staged.message)
        batch.note(record)
        for (input, row) in staged.rows { batch.addEntry(input: input, row: row, record: record) }
        batch.deadLetters += staged.deadLetters.map { (staged.message, $0) }
    }

    /// A record decoded for each input reading its topic.
    private func stage(_ message: KafkaMessage) throws -> StagedMessage {
        var staged = StagedMessage(message: message)
        staged.decoded = true
        try withOptionalBytes(message.key) { key in
            try withOptionalBytes(message.value) { value in
                try decoder.decode(topic: message.topic, key: key, value: value, timestamp: message.timestamp, record: { message },
                           entry: { input, row, rowtime in
                               staged.rowtime = rowtime
                               staged.rows.append((input, row))
                           }, failed: { staged.deadLetters.append($0) })
            }
        }
        return staged
    }

    func apply(_ batch: StagedRecords) throws {
        let connection = store.connection
        try connection.transaction {
            if let constants = JoinConstants.setting(plan.joinConstants) {
                _ = try connection.query(constants.text, constants.parameters)
            }
            if plan.inputs.count >= 2 {
                // Processes sharing a join take turns, from before they draw
                // arrival numbers: each batch sees, and comes after, all that
                // the others committed, so no pair falls between them.
                _ = try connection.query("SELECT pg_advisory_xact_lock(hashtext('pgk sql join'), hashtext($1))",
                                         [store.schema + "." + query.id])
            }
            combinedGroups = nil
            var changelog: [ChangelogRecord] = []
            if let combined = plan.combined,
               let rows = batch.groups?.partialRows() ?? BatchCombiner(plan: combined).partialRows(batch.rows, batch.entries.lazy.map(\.row)) {
                combinedGroups = rows.rowCount
                // Only the batch's partial rows go to PostgreSQL.
                let columns = try combined.columns.map { try connection.quoteIdentifier($0) }.joined(separator: ", ")
                let copy = try connection.copyIn(sql: "COPY \(combined.table) (\(columns)) FROM STDIN")
                try copy.append(rows: rows)
                _ = try copy.finish()
                for statement in combined.batch { try run(statement, on: connection, changelog: &changelog) }
            } else {
                try stage(batch, on: connection)
                for statement in plan.batch { try run(statement, on: connection, changelog: &changelog) }
            }
            if case .stream(var emit, let valueText) = plan.output {
                if let quiet = plan.emitWithoutTableChanges, !batch.entries.contains(where: { $0.input > 0 }) { emit = quiet }
                try produceRows(emit, valueText: valueText)
            }
            for statement in plan.afterOutput { _ = try connection.execute(statement.text, statement.parameters) }
            for (message, reason) in batch.deadLetters {
                try connection.execute("""
                    INSERT INTO \(store.table("dead_letters")) (query_id, topic, partition, kafka_offset, reason, key, value)
                    VALUES ($1, $2, $3::integer, $4::bigint, $5, $6::bytea, $7::bytea)
                    """, [query.id, message.topic, String(message.partition), String(message.offset), reason,
                          message.key.map(ValueText.hex), message.value.map(ValueText.hex)])
                Log.warning("sql: \(query.id): \(message.topic)[\(message.partition)] offset \(message.offset) "
                    + "→ dead letters: \(reason)")
            }
            try sendChangelog(changelog)
            changelogSent += changelog.count
            try store.storeOffsets(query: query.id, batch.nextOffsets)
        }
        deadLettered += batch.deadLetters.count
    }

    /// Copies the batch's records into their inputs' staging tables.
    private func stage(_ batch: StagedRecords, on connection: PostgresConnection) throws {
        // _seq numbers the batch in arrival order, across inputs: one
        // value drawn from the shared sequence per batch, shifted past
        // any batch's size, so numbers never repeat and grow from batch
        // to batch however many processes draw (one draw, not one per record).
        var numbers: [Int64] = []
        if !batch.entries.isEmpty {
            let drawn = try connection.query("SELECT nextval($1::regclass)", [store.table("arrival")]).scalar
            guard let base = drawn.flatMap({ Int64($0) }), batch.entries.count < Self.seqStride else {
                throw RuntimeError("sql: drawing an arrival number failed")
            }
            numbers = (0..<Int64(batch.entries.count)).map { base * Self.seqStride + $0 }
        }
        for (index, input) in plan.inputs.enumerated() {
            let positions = batch.entries.indices.filter { batch.entries[$0].input == index }
            guard !positions.isEmpty else { continue }
            let columns = try (input.columns.map { try connection.quoteIdentifier($0.name) } + ["_key", "_deleted", "_ts", "_seq", "_part", "_off"])
            let copy = try connection.copyIn(sql: "COPY \(input.staging) (\(columns.joined(separator: ", "))) FROM STDIN")
            for position in positions {
                let entry = batch.entries[position]
                copy.append(encodedFields: batch.rows[entry.row])
                copy.append(integer: numbers[position])
                copy.append(integer: Int64(batch.records.partition(entry.record)))
                copy.append(integer: batch.records.offset(entry.record))
                try copy.endRow()
            }
            _ = try copy.finish()
        }
    }

    /// A stream's rows of this batch, produced and acknowledged before the
    /// offsets that cover them commit.
    private func produceRows(_ emit: QueryPlan.SQL, valueText: Bool) throws {
        if let rowSink {
            // A null record passed on has no row to print.
            for row in try store.connection.query(emit.text, emit.parameters).rows where !rowSinkIsFull {
                if row.values.count > 4 && row[4] == "t" { continue }
                rowSinkIsFull = !(try rowSink(try row[0].map { try JSON.decode($0) } ?? .null))
            }
            return
        }
        guard let producer else { return }
        let failedBefore = producer.failedCount
        // Read in libpq's memory: a value goes to librdkafka without a copy.
        try store.connection.forEachRow(emit.text, emit.parameters) { row in
            let timestamp = row[3].flatMap { Int64(String(decoding: $0, as: UTF8.self)) }
            // A null record passed on keeps its (new) key and a null value.
            let isNull = row.count > 4 && row[4]?.first == UInt8(ascii: "t")
            // The plan's raw key (NULL for a sink without key columns, as ksqlDB
            // writes it) is used only where no key columns are encoded; a key
            // column that is NULL makes a null key.
            let rawKey = encoder.hasKeyColumns && row[2] != nil ? nil : row[1].flatMap { PgValueMapper.bytea(ArraySlice($0)) }
            if valueText {
                let key: [UInt8]?
                if let keyJSON = row[2], let flat = encoder.encodeFlatKey(keyJSON.assumingMemoryBound(to: UInt8.self)) {
                    key = flat.bytes ?? rawKey
                } else {
                    key = try row[2].flatMap { try encoder.key(try JSON.decode(Array($0))) } ?? rawKey
                }
                _ = try withOptionalBytes(key) { keyBuffer in
                    try producer.produce(topic: plan.sink.topic, key: keyBuffer, value: isNull ? nil : row[0], timestamp: timestamp)
                }
                return
            }
            let value = try row[0].map { try JSON.decode(Array($0)) }
            let key = encoder.hasKeyColumns ? try value.flatMap { try encoder.key($0) }
                : row[1].flatMap { PgValueMapper.bytea(ArraySlice($0)) }
            try producer.produce(topic: plan.sink.topic, key: key, value: isNull ? nil : try encoder.value(value), timestamp: timestamp)
        }
        try producer.flush(timeoutMilliseconds: 30_000)
        if producer.failedCount > failedBefore {
            throw RuntimeError("sql: \(query.id): \(producer.failedCount - failedBefore) row(s) were not delivered to \(plan.sink.topic)")
        }
    }

    /// Drops Kafka clients and the lease, e.g. before reconnecting.
    func stop() {
        do { try drain() } catch { Log.warning("sql: \(query.id): stopping: \(error)") }
        writer?.shutdown()
        writer = nil
        nudger?.stop()
        nudger = nil
        consumer?.close()
        consumer = nil
        producer = nil
        assigned = []
        ended = []
        leases?.release()
        leases = nil
    }
}
