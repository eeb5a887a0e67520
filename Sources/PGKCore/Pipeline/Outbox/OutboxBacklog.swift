/// How far behind a queue is, for `--metrics`.
struct OutboxBacklog: Sendable, Equatable {
    var depth: Int64
    /// Seconds since the oldest queued item was written; 0 when empty.
    var oldestAgeSeconds: Double?
}

extension TriggerOutboxQueue {
    /// The oldest event is the lowest id (an index lookup); counting is a scan.
    func backlog(on db: PostgresConnection) throws -> OutboxBacklog {
        let row = try db.query("""
            SELECT (SELECT count(*) FROM pgk.outbox_events),
                   COALESCE((SELECT extract(epoch FROM clock_timestamp() - created_at)
                               FROM pgk.outbox_events ORDER BY id LIMIT 1), 0)::float8
            """).rows.first
        return OutboxBacklog(depth: row?[0].flatMap { Int64($0) } ?? 0,
                             oldestAgeSeconds: row?[1].flatMap { Double($0) }.map { max(0, $0) })
    }
}

extension ApplicationOutboxQueue {
    /// An application's table has no write time pgk can rely on.
    func backlog(on db: PostgresConnection) throws -> OutboxBacklog {
        OutboxBacklog(depth: try pendingCount(on: db), oldestAgeSeconds: nil)
    }
}
