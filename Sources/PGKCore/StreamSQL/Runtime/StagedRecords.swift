import Foundation

/// One batch of a query's input: the staged rows in arrival order, the
/// records that could not be staged, and the offsets the batch covers.
struct StagedRecords {
    struct Entry {
        var input: Int
        /// The row's COPY text for the input's staging table up to `_ts`
        /// (tab-separated, no newline): one buffer per record, not a
        /// string per field.
        var row: [UInt8]
        var message: KafkaMessage
    }

    var entries: [Entry] = []
    var deadLetters: [(KafkaMessage, String)] = []
    /// Next offset per partition over every record taken, staged or not.
    var nextOffsets: [KafkaTopicPartition: Int64] = [:]
    private(set) var count = 0

    mutating func note(_ message: KafkaMessage) {
        nextOffsets[message.topicPartition] = message.offset + 1
        count += 1
    }

    /// The batch in two, in arrival order. The first half covers the
    /// offsets of its own entries; the second keeps the whole batch's, so
    /// committing both in order covers what the batch covered.
    func halves() -> (StagedRecords, StagedRecords) {
        let middle = entries.count / 2
        var first = StagedRecords(), second = self
        first.entries = Array(entries[..<middle])
        first.deadLetters = deadLetters
        first.count = middle
        for entry in first.entries {
            first.nextOffsets[entry.message.topicPartition] = entry.message.offset + 1
        }
        second.entries = Array(entries[middle...])
        second.deadLetters = []
        second.count = count - middle
        return (first, second)
    }
}

extension QueryRunner {
    /// Applies a batch; when PostgreSQL rejects its data (a cast that
    /// fails, an overflow, a value a column refuses), splits it until the
    /// records at fault stand alone and sends each to the dead letters,
    /// so the query goes on with the rest. Other errors propagate.
    func applyIsolatingBadRecords(_ batch: StagedRecords) throws {
        do {
            // Each transaction is retried on its own: a collision must not
            // re-apply a half that already committed.
            try retryingConflicts { try apply(batch) }
        } catch let error as PostgresError where Self.isDataError(error) {
            guard batch.entries.count > 1 else {
                var alone = batch
                alone.entries = []
                alone.deadLetters += batch.entries.map { ($0.message, "PostgreSQL rejected the record: \(error)") }
                try retryingConflicts { try apply(alone) }
                return
            }
            let (first, second) = batch.halves()
            try applyIsolatingBadRecords(first)
            try applyIsolatingBadRecords(second)
        }
    }

    /// SQLSTATE classes 22 (data exception) and 23 (integrity constraint),
    /// but not a unique violation: that is another process's concurrent
    /// insert of the same key (see `retryingConflicts`).
    static func isDataError(_ error: PostgresError) -> Bool {
        guard let state = error.sqlState, state != "23505" else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23")
    }

    /// Runs a batch again when it collided with another process running
    /// the same query (deadlock, serialization failure, the same new key):
    /// the transaction rolled back, so retrying is safe.
    func retryingConflicts(_ body: () throws -> Void) throws {
        var attempt = 0
        while true {
            do {
                return try body()
            } catch let error as PostgresError where ["40P01", "40001", "23505"].contains(error.sqlState ?? "") && attempt < 5 {
                attempt += 1
                Log.debug("sql: \(query.id): retrying a batch after \(error)")
                usleep(UInt32.random(in: 10_000...100_000))
            }
        }
    }
}
