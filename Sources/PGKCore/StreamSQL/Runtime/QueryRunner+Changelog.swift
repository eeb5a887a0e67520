import Foundation

/// A table query's changelog. `pgk sql run` produces each batch's
/// itself, acknowledged before the batch commits. A push query's batches
/// queue theirs in the outbox, and it prints them about once a second.
/// Whatever is in the outbox (left by an older version of pgk) is sent
/// when a query starts, and looked for once a second.
extension QueryRunner {
    /// Publishes the outbox on the writer's connection; says what it did,
    /// for the batch's log line.
    func publishChangelogNow() throws -> String {
        let clock = SystemClock.shared
        let started = clock.nowMilliseconds
        lastPublish = started
        try publishChangelog(on: store.connection)
        return ", outbox published in \(clock.nowMilliseconds - started) ms"
    }

    /// Whether this runner sends its table's changelog itself, produced
    /// and acknowledged before each batch commits, as a stream's rows are:
    /// `pgk sql run` does. Queueing 10k rows per batch in the outbox, then
    /// reading and deleting them, cost PostgreSQL a third of each batch.
    /// A push query prints its changes from the outbox instead.
    var producesChangelog: Bool {
        guard case .table = plan.output else { return false }
        return producer != nil && rowSink == nil
    }

    /// Runs one of a batch's statements. One that would queue changelog
    /// rows returns them instead when this runner produces them; they are
    /// encoded into `changelog`, to be sent once every statement succeeded
    /// (see `sendChangelog`).
    func run(_ statement: QueryPlan.SQL, on connection: PostgresConnection, changelog: inout [ChangelogRecord]) throws {
        guard let rows = statement.changelogRows, producesChangelog else {
            _ = try connection.execute(statement.text, statement.parameters)
            return
        }
        // (query_id, topic, key, value, ts): the outbox's columns.
        try connection.forEachRow(rows, statement.parameters) { row in
            let timestamp = row[4].flatMap { Int64(String(decoding: $0, as: UTF8.self)) }
            // Read in libpq's memory where the fast path can write the record
            // (the outbox's rounds, seldom run, take the Value path).
            if let flat = encoder.encodeFlat(key: row[2]?.assumingMemoryBound(to: UInt8.self), value: row[3]?.assumingMemoryBound(to: UInt8.self)) {
                return changelog.append(ChangelogRecord(key: flat.key, value: flat.value, timestamp: timestamp))
            }
            changelog.append(try changelogRecord(key: row[2].map { Array($0) }, value: row[3].map { Array($0) }, timestamp: timestamp))
        }
    }

    struct ChangelogRecord {
        var key: [UInt8]?
        var value: [UInt8]?
        var timestamp: Int64?
    }

    /// A changelog record from a key and value as PostgreSQL spells them
    /// in JSON (a NULL value is a tombstone).
    private func changelogRecord(key: [UInt8]?, value: [UInt8]?, timestamp: Int64?) throws -> ChangelogRecord {
        let key = try key.map { try JSON.decode($0) } ?? .null
        let value = try value.map { try JSON.decode($0) }
        return ChangelogRecord(key: try encoder.key(key), value: try encoder.value(value), timestamp: timestamp)
    }

    /// Produces a batch's changelog and waits until it is acknowledged,
    /// before the batch commits. Only after its last statement: a data
    /// error in a later one would have sent a value that never committed,
    /// and the records at fault do not come back to correct it.
    /// The outbox's rounds send theirs the same way.
    func sendChangelog(_ records: [ChangelogRecord]) throws {
        guard !records.isEmpty, let producer else { return }
        let failedBefore = producer.failedCount
        for record in records {
            try producer.produce(topic: plan.sink.topic, key: record.key, value: record.value, timestamp: record.timestamp)
        }
        try producer.flush(timeoutMilliseconds: 30_000)
        guard producer.failedCount == failedBefore else {
            throw RuntimeError("sql: \(query.id): changelog records were not delivered to \(plan.sink.topic)")
        }
    }

    /// Sends the table's queued changelog, the latest value per key, and
    /// deletes what was acknowledged.
    func publishChangelog(on connection: PostgresConnection) throws {
        guard case .table = plan.output else { return }
        let changelog = store.table("changelog")
        if let rowSink {
            // A push query prints the changes instead; tombstones print nothing.
            let rows = try connection.query("SELECT seq, value::text FROM \(changelog) WHERE query_id = $1 ORDER BY seq", [query.id]).rows
            for row in rows where !rowSinkIsFull {
                guard let value = row[1] else { continue }
                rowSinkIsFull = !(try rowSink(try JSON.decode(value)))
            }
            try connection.execute("DELETE FROM \(changelog) WHERE query_id = $1 AND seq = ANY($2::bigint[])",
                                   [query.id, PostgresTextArray.literal(rows.compactMap { $0[0] })])
            return
        }
        guard producer != nil else { return }
        // Several processes may run this query: one publishes at a time, and
        // each deletes exactly the rows it read and sent, never rows another
        // transaction committed meanwhile.
        var more = true
        while more {
            more = try connection.transaction {
                _ = try connection.query("SELECT pg_advisory_xact_lock(hashtext('pgk sql changelog'), hashtext($1))",
                                         [store.schema + "." + query.id])
                let rows = try connection.query("""
                    SELECT seq, key::text, value::text, ts FROM \(changelog) WHERE query_id = $1 ORDER BY seq LIMIT 100000
                    """, [query.id]).rows
                Log.trace("sql: \(query.id): changelog round: \(rows.count) row(s) queued")
                guard !rows.isEmpty else { return false }
                // The latest value per key, in the order of those latest values.
                var latest: [String: Int] = [:]
                for (index, row) in rows.enumerated() { latest[row[1] ?? "null"] = index }
                try sendChangelog(try latest.values.sorted().map { index in
                    try changelogRecord(key: rows[index][1].map { Array($0.utf8) }, value: rows[index][2].map { Array($0.utf8) },
                                        timestamp: rows[index][3].flatMap { Int64($0) })
                })
                try connection.execute("DELETE FROM \(changelog) WHERE query_id = $1 AND seq = ANY($2::bigint[])",
                                       [query.id, PostgresTextArray.literal(rows.compactMap { $0[0] })])
                return rows.count == 100_000
            }
        }
    }
}
