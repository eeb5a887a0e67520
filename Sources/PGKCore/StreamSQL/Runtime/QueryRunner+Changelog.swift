import Foundation

/// A table query's changelog: queued in the outbox by each batch, sent
/// to the output topic after it by a thread of its own (a push query
/// prints it about once a second).
extension QueryRunner {
    /// The publisher's thread and connection, for a table query run by
    /// `pgk sql run`: publishing took 0.15–0.25 s about once a second on
    /// the writer's thread, and the next batch waited for it.
    func startPublisher() {
        guard case .table = plan.output, rowSink == nil, let open = openPublisherConnection, publisher == nil else { return }
        do {
            let connection = try open()
            publisherConnection = connection
            publisher = BackgroundWorker(name: "pgk-sql-publish") { [unowned self] _ in Result { try publishChangelog(on: connection) } }
        } catch {
            Log.warning("sql: \(query.id): the changelog is published between batches: no connection of its own: \(error)")
        }
    }

    /// Starts publishing on the publisher's thread (unless it is still
    /// busy with the last round: the next batch asks again), or publishes
    /// here without one. Says what it did, for the batch's log line.
    func publishChangelogSoon() throws -> String {
        let clock = SystemClock.shared
        guard let publisher else {
            let started = clock.nowMilliseconds
            lastPublish = started
            try publishChangelog(on: store.connection)
            return ", published in \(clock.nowMilliseconds - started) ms"
        }
        guard !publisher.isBusy else { return ", changelog still publishing" }
        // The last round's failure surfaces here, on the writer's thread.
        try publisher.wait()?.get()
        lastPublish = clock.nowMilliseconds
        publisher.start(())
        return ", publishing the changelog"
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
        guard let producer else { return }
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
                let failedBefore = producer.failedCount
                for index in latest.values.sorted() {
                    let key = try rows[index][1].map { try JSON.decode($0) } ?? .null
                    let value = try rows[index][2].map { try JSON.decode($0) }
                    try producer.produce(topic: plan.sink.topic, key: try encoder.key(key), value: try encoder.value(value),
                                         timestamp: rows[index][3].flatMap { Int64($0) })
                }
                try producer.flush(timeoutMilliseconds: 30_000)
                guard producer.failedCount == failedBefore else {
                    throw RuntimeError("sql: \(query.id): changelog records were not delivered to \(plan.sink.topic)")
                }
                try connection.execute("DELETE FROM \(changelog) WHERE query_id = $1 AND seq = ANY($2::bigint[])",
                                       [query.id, PostgresTextArray.literal(rows.compactMap { $0[0] })])
                return rows.count == 100_000
            }
        }
    }
}
