import Foundation

/// One batch of a query's input: the staged rows in arrival order, the
/// records that could not be staged, and the offsets the batch covers.
struct StagedRecords {
    struct Entry {
        var input: Int
        /// The row's COPY text for the input's staging table up to `_ts`
        /// (tab-separated, no newline), in `rows`.
        var row: Range<Int>
        /// Its record in `records`.
        var record: Int
    }

    private(set) var entries: [Entry] = []
    /// Every entry's row, back to back: one buffer per batch, not one per record.
    private(set) var rows: [UInt8] = []
    private(set) var records = TakenRecords()
    /// Set while the batch's records are reduced into groups as they are
    /// read, with no staged rows (`entries` stays empty); see RecordDecoder.
    var groups: GroupAccumulator?
    var deadLetters: [(KafkaMessage, String)] = []
    private var offsets: [KafkaTopicPartition: Int64] = [:]
    /// The last record's partition and next offset, not yet in `offsets`:
    /// records come a partition at a time, so most need no hashing.
    private var latest: (KafkaTopicPartition, Int64)?
    private(set) var count = 0

    /// Next offset per partition over every record taken, staged or not.
    var nextOffsets: [KafkaTopicPartition: Int64] {
        var all = offsets
        if let (partition, next) = latest { all[partition] = next }
        return all
    }

    /// How large a batch's buffers grew. The next batch reserves as much
    /// at once: grown by doubling, they were copied and faulted in afresh
    /// several times per batch.
    struct Sizes { var entries = 0, rows = 0, records = 0, recordBytes = 0 }
    var sizes: Sizes { Sizes(entries: entries.count, rows: rows.count, records: records.count, recordBytes: records.byteCount) }

    init(reserving sizes: Sizes = Sizes()) {
        entries.reserveCapacity(sizes.entries)
        rows.reserveCapacity(sizes.rows)
        records.reserveCapacity(records: sizes.records, bytes: sizes.recordBytes)
    }

    mutating func take(_ view: KafkaMessageView) -> Int { records.append(view) }
    mutating func take(_ message: KafkaMessage) -> Int { records.append(message) }

    mutating func addEntry(input: Int, row: [UInt8], record: Int) {
        let start = rows.count
        rows.append(contentsOf: row)
        entries.append(Entry(input: input, row: start..<rows.count, record: record))
    }

    /// What `rollBack(to:)` returns to.
    struct Mark { fileprivate var entries, rows, records, deadLetters: Int }
    var mark: Mark { Mark(entries: entries.count, rows: rows.count, records: records.count, deadLetters: deadLetters.count) }

    /// Forgets what was added since `mark`.
    mutating func rollBack(to mark: Mark) {
        entries.removeSubrange(mark.entries...)
        rows.removeSubrange(mark.rows...)
        records.removeAll(from: mark.records)
        deadLetters.removeSubrange(mark.deadLetters...)
    }

    /// Counts a record taken, staged or not.
    mutating func note(_ record: Int) {
        let partition = records.partition(record), next = records.offset(record) + 1
        if let (last, _) = latest, last.partition == partition, last.topic == records.topic(record) {
            latest!.1 = next
        } else {
            if let (last, offset) = latest { offsets[last] = offset }
            latest = (records.topicPartition(record), next)
        }
        count += 1
    }

    func message(_ entry: Entry) -> KafkaMessage { records.message(entry.record) }

    /// The batch in two, in arrival order. The first half covers the
    /// offsets of its own entries; the second keeps the whole batch's, so
    /// committing both in order covers what the batch covered. Both share
    /// the batch's buffers.
    func halves() -> (StagedRecords, StagedRecords) {
        let middle = entries.count / 2
        var first = self, second = self
        first.entries = Array(entries[..<middle])
        first.count = middle
        first.offsets = [:]
        first.latest = nil
        for entry in first.entries {
            first.offsets[records.topicPartition(entry.record)] = records.offset(entry.record) + 1
        }
        second.entries = Array(entries[middle...])
        second.deadLetters = []
        second.count = count - middle
        return (first, second)
    }

    /// The batch's dead letters and offsets without its entries.
    func withoutEntries() -> StagedRecords {
        var alone = self
        alone.entries = []
        return alone
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
            // Reduced while read, the batch is staged to find the records at fault.
            if batch.groups != nil {
                var staged = batch
                try writerDecoder.stageCombinedRecords(of: &staged)
                return try applyIsolatingBadRecords(staged)
            }
            guard batch.entries.count > 1 else {
                var alone = batch.withoutEntries()
                alone.deadLetters += batch.entries.map { (batch.message($0), "PostgreSQL rejected the record: \(error)") }
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
