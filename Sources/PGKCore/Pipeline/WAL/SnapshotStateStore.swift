/// Remembers that a slot's initial snapshot reached Kafka completely, in
/// the same database as the slot: `pgk.wal_snapshots`, one row per slot.
///
/// Keeping it next to the slot (not in a Kafka topic) means no retention
/// can silently forget it, `teardown` clears both together, and `run`
/// learns the answer with one query. The row names the topic prefix it
/// was made for, so pointing a slot at a new destination snapshots again.
///
/// No row (or a row for another prefix, or for an older slot) means the
/// snapshot never completed, so `--snapshot initial` recreates the slot and
/// snapshots again; an interrupted snapshot thus restarts cleanly.
struct SnapshotStateStore {
    struct Record: Equatable {
        var slot: String
        var topicPrefix: String
        var consistentPoint: LSN
        var rows: Int
    }

    let connection: PostgresConnection

    static let table = "pgk.wal_snapshots"

    /// Creates the table if needed; run before a snapshot so a missing
    /// privilege fails before any work, not after it.
    func prepare() throws {
        try connection.executeScript("""
            CREATE SCHEMA IF NOT EXISTS pgk;
            CREATE TABLE IF NOT EXISTS \(Self.table) (
                slot_name      text PRIMARY KEY,
                topic_prefix   text NOT NULL,
                consistent_lsn pg_lsn NOT NULL,
                snapshot_rows  bigint NOT NULL,
                completed_at   timestamptz NOT NULL DEFAULT now()
            );
            """)
    }

    func load(slot: String) throws -> Record? {
        let result: QueryResult
        do {
            result = try connection.query("""
                SELECT topic_prefix, consistent_lsn::text, snapshot_rows FROM \(Self.table) WHERE slot_name = $1
                """, [slot])
        } catch let error as PostgresError where error.sqlState == "42P01" || error.sqlState == "3F000" {
            return nil // never set up: no snapshot recorded
        }
        guard let row = result.rows.first, let prefix = row[0], let point = row[1].flatMap(LSN.init) else { return nil }
        return Record(slot: slot, topicPrefix: prefix, consistentPoint: point, rows: Int(row[2] ?? "0") ?? 0)
    }

    func save(_ record: Record) throws {
        try connection.execute("""
            INSERT INTO \(Self.table) (slot_name, topic_prefix, consistent_lsn, snapshot_rows)
            VALUES ($1, $2, $3::pg_lsn, $4)
            ON CONFLICT (slot_name) DO UPDATE SET topic_prefix = excluded.topic_prefix,
                consistent_lsn = excluded.consistent_lsn, snapshot_rows = excluded.snapshot_rows,
                completed_at = now()
            """, [record.slot, record.topicPrefix, record.consistentPoint.description, String(record.rows)])
    }

    /// Forgets the slot's snapshot; a missing table means nothing to forget.
    func clear(slot: String) throws {
        do {
            try connection.execute("DELETE FROM \(Self.table) WHERE slot_name = $1", [slot])
        } catch let error as PostgresError where error.sqlState == "42P01" || error.sqlState == "3F000" {
            return
        }
    }
}
