/// `pgk.sink_offsets`: the next offset to read per group and partition,
/// advanced in the same transaction as the rows. This, not Kafka's
/// committed offsets, is where a sink resumes from.
public enum SinkOffsetStore {
    public static let setupStatements = [
        "CREATE SCHEMA IF NOT EXISTS pgk",
        """
        CREATE TABLE IF NOT EXISTS pgk.sink_offsets (
            group_id text NOT NULL,
            topic text NOT NULL,
            partition integer NOT NULL,
            next_offset bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (group_id, topic, partition)
        )
        """,
    ]

    /// Serializes concurrent setups (two sinks starting at once would
    /// otherwise race on CREATE … IF NOT EXISTS).
    public static let setupLock = "SELECT pg_advisory_xact_lock(7086013740214550123)"

    /// The stored offsets of `group`; all its partitions, or just these.
    public static func stored(_ connection: PostgresConnection, group: String,
                              partitions: [KafkaTopicPartition]? = nil) throws -> [KafkaTopicPartition: Int64] {
        // Before the first real run (e.g. --dry-run) the table may not exist.
        guard try connection.query("SELECT to_regclass('pgk.sink_offsets')").scalar != nil else { return [:] }
        let result = try connection.query(
            "SELECT topic, partition, next_offset FROM pgk.sink_offsets WHERE group_id = $1", [group])
        var offsets: [KafkaTopicPartition: Int64] = [:]
        let wanted = partitions.map(Set.init)
        for row in result.rows {
            guard let topic = row[0], let partition = row[1].flatMap({ Int32($0) }),
                  let next = row[2].flatMap({ Int64($0) }) else { continue }
            let key = KafkaTopicPartition(topic: topic, partition: partition)
            if wanted == nil || wanted!.contains(key) { offsets[key] = next }
        }
        return offsets
    }

    /// Compare-and-set, inside the caller's transaction: each claim moves
    /// its partition from `expected` to `next`. Returns the claims that
    /// failed, with the offset actually stored (nil: no row).
    ///
    /// One INSERT … ON CONFLICT DO UPDATE … WHERE per partition, because
    /// unlike a plain UPDATE it waits for a transaction that is writing
    /// the same row (even inserting it) and then judges the latest
    /// version: a claim that expects what an in-flight batch will store
    /// waits for that batch instead of failing, and a zombie that expects
    /// what another consumer already moved fails. Rows are locked in a
    /// fixed order so two claimants cannot deadlock.
    public static func claim(_ connection: PostgresConnection, group: String,
                             _ claims: [OffsetClaim]) throws -> [KafkaTopicPartition: Int64?] {
        var failed: [KafkaTopicPartition: Int64?] = [:]
        let ordered = claims.sorted {
            ($0.topicPartition.topic, $0.topicPartition.partition) < ($1.topicPartition.topic, $1.topicPartition.partition)
        }
        for claim in ordered {
            let tp = claim.topicPartition
            let result = try connection.query("""
                INSERT INTO pgk.sink_offsets AS o (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
                ON CONFLICT (group_id, topic, partition) DO UPDATE
                    SET next_offset = EXCLUDED.next_offset, updated_at = now()
                    WHERE o.next_offset = $5
                RETURNING xmax = 0
                """, [group, tp.topic, String(tp.partition), String(claim.next), claim.expected.map(String.init)])
            // No row: the stored offset was not `expected`. A new row while
            // something was expected: the row we expected is gone.
            let inserted = result.scalar == "t"
            if result.isEmpty || (inserted && claim.expected != nil) {
                let actual = inserted ? nil : try connection.query(
                    "SELECT next_offset FROM pgk.sink_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3",
                    [group, tp.topic, String(tp.partition)]).scalar.flatMap { Int64($0) }
                failed[tp] = .some(actual)
            }
        }
        return failed
    }

    /// Forgets where `group` was (for --drop and --truncate, which start over).
    public static func reset(_ connection: PostgresConnection, group: String) throws {
        try connection.execute("DELETE FROM pgk.sink_offsets WHERE group_id = $1", [group])
    }
}
