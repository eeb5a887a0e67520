/// A slice of a batch's byte arena; `count < 0` is SQL NULL.
struct ByteSpan: Sendable, Equatable {
    var start: Int32
    var count: Int32
    static let null = ByteSpan(start: 0, count: -1)
    var isNull: Bool { count < 0 }
}

/// One consumed message after decoding, as the writer needs it. Bytes
/// live in the batch's arena, so staging a message allocates nothing.
struct StagedRow: Sendable {
    enum Kind: UInt8, Sendable {
        /// A value to map and write.
        case value
        /// A null value: delete the row with this key.
        case tombstone
        /// Could not be decoded: goes to the dead letter with its reason.
        case failure
        /// Consumed but deliberately not written (a skipped tombstone or a
        /// bad message under `--on-error skip`); only its offset counts.
        case skipped
    }

    var kind: Kind
    /// Whether a tombstone's key is a JSON object (matched per key column).
    var keyIsObject = false
    var topicIndex: Int32
    var partition: Int32
    var offset: Int64
    /// Unix milliseconds, or `StagedRow.noTimestamp`.
    var timestamp: Int64
    /// The key as text (UTF-8, no NUL).
    var key: ByteSpan = .null
    /// The value as jsonb-ready JSON text; null for tombstones and failures.
    var value: ByteSpan = .null
    /// The headers as a JSON object; null when the message has none.
    var headers: ByteSpan = .null
    /// The key and value bytes exactly as received, for dead letters.
    var rawKey: ByteSpan = .null
    var rawValue: ByteSpan = .null
    /// Index into `StagedBatch.reasons` for failures, else -1.
    var reason: Int32 = -1

    static let noTimestamp = Int64.min

    init(kind: Kind, topicIndex: Int32, partition: Int32, offset: Int64, timestamp: Int64?) {
        self.kind = kind
        self.topicIndex = topicIndex
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp ?? StagedRow.noTimestamp
    }
}

/// What the writer must store for one partition: its rows cover offsets
/// up to `next - 1`, and the stored offset must still be `expected` (nil:
/// no row yet) for the batch to commit. That compare-and-set fences off a
/// consumer that lost the partition in a rebalance.
struct OffsetClaim: Sendable, Hashable {
    var topicPartition: KafkaTopicPartition
    var expected: Int64?
    var next: Int64
    init(topicPartition: KafkaTopicPartition, expected: Int64?, next: Int64) {
        self.topicPartition = topicPartition
        self.expected = expected
        self.next = next
    }
}

/// Per-batch tallies that only become true once the batch commits.
struct StageCounters: Sendable, Equatable {
    var messages = 0
    /// NaN/Infinity numbers rewritten to null.
    var nonFinite = 0
    var tombstonesSkipped = 0
    /// Bad messages dropped under `--on-error skip`.
    var errorsSkipped = 0

    init() {}

    static func += (a: inout StageCounters, b: StageCounters) {
        a.messages += b.messages
        a.nonFinite += b.nonFinite
        a.tombstonesSkipped += b.tombstonesSkipped
        a.errorsSkipped += b.errorsSkipped
    }
}

/// A sealed batch: the unit the writer commits in one transaction.
struct StagedBatch: Sendable {
    var arena: [UInt8]
    var rows: [StagedRow]
    var reasons: [String]
    var topics: [String]
    var claims: [OffsetClaim]
    var counters: StageCounters
    /// The registry id of an Avro value schema seen in the batch (for
    /// the columns map, which can type its columns from it).
    var avroSchemaID: Int32?
    /// Position in the sink's sequence of batches; claims go in this order.
    var sequence: UInt64 = 0

    init(arena: [UInt8] = [], rows: [StagedRow] = [], reasons: [String] = [], topics: [String] = [],
                claims: [OffsetClaim] = [], counters: StageCounters = StageCounters()) {
        self.arena = arena
        self.rows = rows
        self.reasons = reasons
        self.topics = topics
        self.claims = claims
        self.counters = counters
    }

    var isEmpty: Bool { rows.isEmpty && claims.isEmpty }

    func bytes(_ span: ByteSpan) -> ArraySlice<UInt8>? {
        guard !span.isNull else { return nil }
        return arena[Int(span.start)..<Int(span.start + span.count)]
    }

    func text(_ span: ByteSpan) -> String? {
        bytes(span).map { String(decoding: $0, as: UTF8.self) }
    }

    func topicPartition(of row: StagedRow) -> KafkaTopicPartition {
        KafkaTopicPartition(topic: topics[Int(row.topicIndex)], partition: row.partition)
    }

    /// The batch without the rows and claims of `partitions` (fenced off).
    func removing(_ partitions: Set<KafkaTopicPartition>) -> StagedBatch {
        var copy = self
        copy.rows = rows.filter { !partitions.contains(topicPartition(of: $0)) }
        copy.claims = claims.filter { !partitions.contains($0.topicPartition) }
        return copy
    }
}

/// Collects staged rows until the batch is due (by count, bytes or age,
/// through `Batcher`), then seals them with the offsets to claim.
struct BatchBuilder {
    private(set) var batcher: Batcher<StagedRow>
    private(set) var arena: [UInt8] = []
    private(set) var reasons: [String] = []
    var counters = StageCounters()
    var avroSchemaID: Int32?

    /// Arena offsets are Int32; this byte limit keeps far below that.
    static let maxBatchBytes = 32 << 20

    init(maxRows: Int, maxAgeMilliseconds: Int64, clock: any MonotonicClock = SystemClock.shared) {
        batcher = Batcher(maxItems: maxRows, maxBytes: Self.maxBatchBytes,
                          maxAgeMilliseconds: maxAgeMilliseconds, clock: clock)
        arena.reserveCapacity(min(maxRows * 160, 16 << 20))
    }

    var isEmpty: Bool { batcher.isEmpty }
    var count: Int { batcher.count }
    var isDue: Bool { batcher.isDue }
    var millisecondsUntilDue: Int64? { batcher.millisecondsUntilDue }
    var arenaCount: Int { arena.count }

    /// Appends bytes to the arena and returns where they went.
    mutating func store(_ bytes: UnsafeRawBufferPointer) -> ByteSpan {
        let start = arena.count
        arena.append(contentsOf: bytes.bindMemory(to: UInt8.self))
        return ByteSpan(start: Int32(start), count: Int32(bytes.count))
    }

    /// Runs `body` to append to the arena; the span covers what it added.
    mutating func store(_ body: (inout [UInt8]) -> Void) -> ByteSpan {
        let start = arena.count
        body(&arena)
        return ByteSpan(start: Int32(start), count: Int32(arena.count - start))
    }

    mutating func reason(_ text: String) -> Int32 {
        reasons.append(text)
        return Int32(reasons.count - 1)
    }

    /// Adds a finished row; `arenaStart` is the arena size before its bytes.
    mutating func append(_ row: StagedRow, arenaStart: Int) {
        batcher.append(row, bytes: arena.count - arenaStart + MemoryLayout<StagedRow>.stride)
        counters.messages += 1
    }

    /// Hands over everything collected, with the offsets to claim.
    mutating func seal(topics: [String], claims: [OffsetClaim]) -> StagedBatch {
        let rows = batcher.drain()
        var batch = StagedBatch(arena: arena, rows: rows, reasons: reasons, topics: topics,
                                claims: claims, counters: counters)
        batch.avroSchemaID = avroSchemaID
        arena.removeAll(keepingCapacity: true)
        reasons.removeAll()
        counters = StageCounters()
        return batch
    }

    /// Forgets the rows of fenced partitions (their offsets get re-read).
    mutating func remove(where drop: (StagedRow) -> Bool) {
        let rows = batcher.drain()
        for row in rows where !drop(row) { batcher.append(row) }
        counters.messages = batcher.count
    }
}
