/// `pgk.sink_offsets`: the next offset to read per group and partition,
/// advanced in the same transaction as the rows. This, not Kafka's
/// committed offsets, is where a sink resumes from.
enum SinkOffsetStore {
    static let setupStatements = [
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
    static let setupLock = "SELECT pg_advisory_xact_lock(7086013740214550123)"

    /// The stored offsets of `group`; all its partitions, or just these.
    static func stored(_ connection: PostgresConnection, group: String,
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
    /// INSERT … ON CONFLICT DO UPDATE … WHERE, because unlike a plain
    /// UPDATE it waits for a transaction that is writing the same row
    /// (even inserting it) and then judges the latest version: a claim
    /// that expects what an in-flight batch will store waits for that
    /// batch instead of failing, and a zombie that expects what another
    /// consumer already moved fails. Rows are locked in a fixed order so
    /// two claimants cannot deadlock.
    static func claim(_ connection: PostgresConnection, group: String,
                             _ claims: [OffsetClaim]) throws -> [KafkaTopicPartition: Int64?] {
        guard !claims.isEmpty else { return [:] }
        let ordered = claims.sorted {
            ($0.topicPartition.topic, $0.topicPartition.partition) < ($1.topicPartition.topic, $1.topicPartition.partition)
        }
        // One statement for all partitions: a round trip each would cost
        // more than the claim itself.
        let claimed = try connection.query("""
            WITH claim AS (
                SELECT * FROM unnest($2::text[], $3::integer[], $4::bigint[], $5::bigint[])
                    WITH ORDINALITY AS c(topic, partition, next, expected, n)
            )
            INSERT INTO pgk.sink_offsets AS o (group_id, topic, partition, next_offset)
            SELECT $1, topic, partition, next FROM claim ORDER BY n
            ON CONFLICT (group_id, topic, partition) DO UPDATE
                SET next_offset = EXCLUDED.next_offset, updated_at = now()
                WHERE o.next_offset = (SELECT c.expected FROM claim c
                                       WHERE c.topic = EXCLUDED.topic AND c.partition = EXCLUDED.partition)
            RETURNING topic, partition, xmax = 0
            """, [group, PostgresTextArray.literal(ordered.map(\.topicPartition.topic)),
                  "{" + ordered.map { String($0.topicPartition.partition) }.joined(separator: ",") + "}",
                  "{" + ordered.map { String($0.next) }.joined(separator: ",") + "}",
                  "{" + ordered.map { $0.expected.map(String.init) ?? "NULL" }.joined(separator: ",") + "}"])
        var succeeded = Set<KafkaTopicPartition>()
        var insertedInstead = Set<KafkaTopicPartition>()
        for row in claimed.rows {
            guard let topic = row[0], let partition = row[1].flatMap({ Int32($0) }) else { continue }
            let key = KafkaTopicPartition(topic: topic, partition: partition)
            succeeded.insert(key)
            if row[2] == "t" { insertedInstead.insert(key) }
        }
        // No row back: the stored offset was not `expected`. A new row
        // while something was expected: the row we expected is gone.
        var failed: [KafkaTopicPartition: Int64?] = [:]
        for claim in ordered {
            let key = claim.topicPartition
            if !succeeded.contains(key) || (insertedInstead.contains(key) && claim.expected != nil) {
                failed[key] = .some(nil)
            }
        }
        guard !failed.isEmpty else { return [:] }
        let stored = try self.stored(connection, group: group, partitions: Array(failed.keys))
        for key in failed.keys where !insertedInstead.contains(key) { failed[key] = .some(stored[key]) }
        return failed
    }

    /// Forgets where `group` was (for --drop and --truncate, which start over).
    static func reset(_ connection: PostgresConnection, group: String) throws {
        try connection.execute("DELETE FROM pgk.sink_offsets WHERE group_id = $1", [group])
    }
}
