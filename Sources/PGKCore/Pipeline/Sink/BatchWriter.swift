struct WriteStats: Sendable, Equatable {
    var rowsWritten = 0
    var rowsDeleted = 0
    /// Rows the map's filter left out.
    var filtered = 0
    var deadLettered = 0
    /// Bad rows dropped under `--on-error skip`.
    var errorsSkipped = 0
    /// Fields without a column (columns map), by name: occurrences.
    var unknownFields: [String: Int] = [:]

    init() {}

    static func += (a: inout WriteStats, b: WriteStats) {
        a.rowsWritten += b.rowsWritten
        a.rowsDeleted += b.rowsDeleted
        a.filtered += b.filtered
        a.deadLettered += b.deadLettered
        a.errorsSkipped += b.errorsSkipped
        a.unknownFields.merge(b.unknownFields, uniquingKeysWith: +)
    }
}

/// What became of one batch.
struct WriteOutcome: Sendable {
    /// Offsets now stored (durable) per partition.
    var committed: [OffsetClaim] = []
    /// Partitions whose stored offset was not what this consumer expected:
    /// another consumer owns them now (or did). Their rows were dropped;
    /// the value is the offset found (nil: none stored).
    var fenced: [KafkaTopicPartition: Int64?] = [:]
    var stats = WriteStats()
    var counters = StageCounters()
    /// Set when the sink must stop; nothing of the batch was committed.
    var failure: SinkFailure?
}

/// Commits batches: one transaction each, holding the offset claims, the
/// rows and the dead letters, so a batch is stored exactly once or not at
/// all. Connection failures are retried with backoff on a fresh session
/// and the same batch, which the offset claims keep exact. Runs on the
/// writer thread and owns its connection.
final class BatchWriter {
    let settings: SinkSettings
    let target: SinkTarget
    private let deadLetters: DeadLetterWriter?
    private let stop: StopToken
    private var connection: PostgresConnection?
    private var sessionReady = false
    private var compact = false
    /// The staging columns the map's SQL uses.
    private let referenced: Set<StagingField>

    private let turns: ClaimTurns

    /// Writers of one sink share its `target` and `turns`.
    init(settings: SinkSettings, target: SinkTarget, turns: ClaimTurns = ClaimTurns(), stop: StopToken) {
        self.settings = settings
        self.target = target
        self.turns = turns
        self.stop = stop
        referenced = StagingField.referenced(by: settings.map)
        deadLetters = settings.onError == .deadLetter
            ? DeadLetterWriter(target: settings.deadLetter, kafka: settings.kafka, stop: stop) : nil
    }

    /// Connects and sets up the tables in one transaction. An unreachable
    /// database at startup is an error (a typo should not look like a
    /// hang); outages once running are retried by `write`.
    func open() throws {
        let connection = try connected()
        try connection.transaction { try target.setup(connection) }
    }

    /// The live connection, after (re)connecting and preparing the session.
    func connected() throws -> PostgresConnection {
        let connection: PostgresConnection
        if let existing = self.connection {
            connection = existing
            if !connection.isConnected {
                sessionReady = false
                try connection.reconnect()
                Log.info("sink: reconnected to PostgreSQL")
            }
        } else {
            connection = try PostgresConnection(conninfo: settings.database, applicationName: "pgk sink")
            self.connection = connection
        }
        if !sessionReady {
            // Batches re-plan every time; JIT compiling them costs more than it saves.
            try connection.execute("SET jit = off")
            try connection.execute(SinkStatements.createStaging(timestamp: referenced.contains(.timestamp)))
            sessionReady = true
        }
        return connection
    }

    func close() {
        connection = nil
    }

    func write(_ original: StagedBatch) -> WriteOutcome {
        defer { turns.finished(original.sequence) }
        var batch = original
        var outcome = WriteOutcome()
        var retry = Retry(stop: stop, backoff: Backoff(initialMilliseconds: 250, maximumMilliseconds: 10_000))
        while true {
            var open: PostgresConnection?
            do {
                let connection = try connected()
                open = connection
                try connection.begin()
                // Before the claim, which waits for the previous batch's
                // transaction on the other writer: this COPY overlaps it.
                let staged = try stageAhead(batch, connection)
                turns.wait(for: batch.sequence)
                let failed = try SinkOffsetStore.claim(connection, group: settings.group, batch.claims)
                turns.finished(batch.sequence)
                if !failed.isEmpty {
                    connection.rollbackQuietly()
                    target.transactionEnded(committed: false)
                    for (partition, actual) in failed {
                        let claim = batch.claims.first { $0.topicPartition == partition }!
                        if actual == claim.next {
                            // An earlier attempt committed after all (its reply was lost).
                            outcome.committed.append(claim)
                        } else {
                            outcome.fenced[partition] = actual
                            Log.warning("sink: \(partition): stored offset is \(actual.map(String.init) ?? "none"), "
                                + "expected \(claim.expected.map(String.init) ?? "none"); another consumer owns it, "
                                + "dropping \(batch.rows.filter { batch.topicPartition(of: $0) == partition }.count) message(s)")
                        }
                    }
                    batch = batch.removing(Set(failed.keys))
                    if batch.claims.isEmpty { return outcome }
                    continue
                }
                let stats = try writeRows(batch, staged, connection)
                try connection.commit()
                target.transactionEnded(committed: true)
                outcome.committed += batch.claims
                outcome.stats += stats
                outcome.counters += batch.counters
                return outcome
            } catch {
                open?.rollbackQuietly()
                target.transactionEnded(committed: false)
                switch SinkFailureKind.classify(error) {
                case .connection, .retryTransaction:
                    if stop.isStopped {
                        outcome.failure = SinkFailure("stopped while retrying a batch: \(error); "
                            + "its \(batch.rows.count) message(s) were not stored and will be read again")
                        return outcome
                    }
                    if open.map({ !$0.isConnected }) ?? true { sessionReady = false }
                    // A stop during the pause leaves one last attempt, which ends as above if it fails.
                    _ = try? retry.pause { "sink: writing a batch of \(batch.rows.count) failed, retrying in \($0): \(error)" }
                case .statement, .row:
                    outcome.failure = (error as? SinkFailure) ?? SinkFailure("\(error)")
                    return outcome
                }
            }
        }
    }

    /// For --dry-run: runs the setup and maps the batch in a transaction
    /// that is rolled back, returning the DDL it ran and the mapped rows
    /// as JSON (or why setup or mapping failed). Nothing is written.
    func preview(_ batch: StagedBatch) throws -> (ddl: [String], rows: [String], mappingError: Error?) {
        let connection = try connected()
        try connection.begin()
        defer {
            connection.rollbackQuietly()
            target.transactionEnded(committed: false)
        }
        var rows: [String] = []
        do {
            try target.setup(connection)
            if batch.rows.contains(where: { $0.kind == .value }) {
                try stage(batch, connection)
                _ = try target.prepare(connection, batch: batch)
                if let statements = target.statements {
                    rows = try connection.query(statements.preview).rows.compactMap { $0[0] }
                }
            }
        } catch {
            return (target.ddl, rows, error)
        }
        return (target.ddl, rows, nil)
    }

    private func stage(_ batch: StagedBatch, _ connection: PostgresConnection) throws {
        let fields = StagingField.forBatch(referenced, tombstones: batch.rows.contains { $0.kind == .tombstone })
        let copy = try connection.copyIn(sql: SinkStatements.copyStaging(fields))
        try StagingCopy.stage(batch, fields: fields, into: copy)
        try copy.finish()
    }

    private enum Staged {
        case nothing
        /// COPY put the rows straight into the table.
        case direct(rows: Int)
        case staging
    }

    /// The part of a batch that takes no lock another batch waits for:
    /// COPY straight into the table (built-in maps: new rows only) or
    /// into the staging table.
    private func stageAhead(_ batch: StagedBatch, _ connection: PostgresConnection) throws -> Staged {
        let tombstones = batch.rows.contains { $0.kind == .tombstone }
        guard tombstones || batch.rows.contains(where: { $0.kind == .value }) else { return .nothing }
        if !tombstones, let statements = target.statements, let sql = statements.directCopy,
           let fields = statements.plan.direct?.map(\.field) {
            do {
                let rows = try connection.savepoint("pgk_direct") { () throws -> Int in
                    let copy = try connection.copyIn(sql: sql)
                    let rows = try StagingCopy.direct(batch, fields: fields, into: copy)
                    try copy.finish()
                    return rows
                }
                return .direct(rows: rows)
            } catch {
                guard SinkFailureKind.classify(error) == .row else { throw error }
                Log.debug("sink: direct COPY failed (\(error)); isolating the bad rows through staging")
            }
        }
        try stage(batch, connection)
        return .staging
    }

    private func writeRows(_ batch: StagedBatch, _ staged: Staged, _ connection: PostgresConnection) throws -> WriteStats {
        var stats = WriteStats()
        var letters: [DeadLetter] = []
        for (index, row) in batch.rows.enumerated() where row.kind == .failure {
            letters.append(DeadLetter(row: index, error: batch.reasons[Int(row.reason)]))
        }
        switch staged {
        case .nothing:
            break
        case .direct(let rows):
            stats.rowsWritten = rows
        case .staging:
            stats.unknownFields = try target.prepare(connection, batch: batch)
            guard let statements = target.statements else {
                throw SinkFailure("no table to write to: \(settings.table) does not exist")
            }
            var isolation = RowIsolation(connection: connection, statements: statements, batch: batch,
                                         onError: settings.onError, compact: compact || settings.effectiveMode == .update)
            try isolation.run()
            if isolation.sawDuplicateKeys { compact = true }
            stats += isolation.stats
            letters += isolation.letters
        }
        if let deadLetters, !letters.isEmpty {
            letters.sort { $0.row < $1.row }
            try deadLetters.write(letters, of: batch, connection: connection)
            stats.deadLettered = letters.count
        }
        return stats
    }
}
