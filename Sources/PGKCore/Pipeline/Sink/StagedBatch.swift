/// A slice of a batch's byte arena; `count < 0` is SQL NULL.
public struct ByteSpan: Sendable, Equatable {
    public var start: Int32
    public var count: Int32
    public static let null = ByteSpan(start: 0, count: -1)
    public var isNull: Bool { count < 0 }
}

/// One consumed message after decoding, as the writer needs it. Bytes
/// live in the batch's arena, so staging a message allocates nothing.
public struct StagedRow: Sendable {
    public enum Kind: UInt8, Sendable {
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

    public var kind: Kind
    /// Whether a tombstone's key is a JSON object (matched per key column).
    public var keyIsObject = false
    public var topicIndex: Int32
    public var partition: Int32
    public var offset: Int64
    /// Unix milliseconds, or `StagedRow.noTimestamp`.
    public var timestamp: Int64
    /// The key as text (UTF-8, no NUL).
    public var key: ByteSpan = .null
    /// The value as jsonb-ready JSON text; null for tombstones and failures.
    public var value: ByteSpan = .null
    /// The headers as a JSON object; null when the message has none.
    public var headers: ByteSpan = .null
    /// The key and value bytes exactly as received, for dead letters.
    public var rawKey: ByteSpan = .null
    public var rawValue: ByteSpan = .null
    /// Index into `StagedBatch.reasons` for failures, else -1.
    public var reason: Int32 = -1

    public static let noTimestamp = Int64.min

    public init(kind: Kind, topicIndex: Int32, partition: Int32, offset: Int64, timestamp: Int64?) {
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
public struct OffsetClaim: Sendable, Hashable {
    public var topicPartition: KafkaTopicPartition
    public var expected: Int64?
    public var next: Int64
    public init(topicPartition: KafkaTopicPartition, expected: Int64?, next: Int64) {
        self.topicPartition = topicPartition
        self.expected = expected
        self.next = next
    }
}

/// Per-batch tallies that only become true once the batch commits.
public struct StageCounters: Sendable, Equatable {
    public var messages = 0
    /// NaN/Infinity numbers rewritten to null.
    public var nonFinite = 0
    public var tombstonesSkipped = 0
    /// Bad messages dropped under `--on-error skip`.
    public var errorsSkipped = 0

    public init() {}

    public static func += (a: inout StageCounters, b: StageCounters) {
        a.messages += b.messages
        a.nonFinite += b.nonFinite
        a.tombstonesSkipped += b.tombstonesSkipped
        a.errorsSkipped += b.errorsSkipped
    }
}

/// A sealed batch: the unit the writer commits in one transaction.
public struct StagedBatch: Sendable {
    public var arena: [UInt8]
    public var rows: [StagedRow]
    public var reasons: [String]
    public var topics: [String]
    public var claims: [OffsetClaim]
    public var counters: StageCounters
    /// The registry id of an Avro value schema seen in the batch (for
    /// the columns map, which can type its columns from it).
    public var avroSchemaID: Int32?
    /// Position in the sink's sequence of batches; claims go in this order.
    public var sequence: UInt64 = 0

    public init(arena: [UInt8] = [], rows: [StagedRow] = [], reasons: [String] = [], topics: [String] = [],
                claims: [OffsetClaim] = [], counters: StageCounters = StageCounters()) {
        self.arena = arena
        self.rows = rows
        self.reasons = reasons
        self.topics = topics
        self.claims = claims
        self.counters = counters
    }

    public var isEmpty: Bool { rows.isEmpty && claims.isEmpty }

    public func bytes(_ span: ByteSpan) -> ArraySlice<UInt8>? {
        guard !span.isNull else { return nil }
        return arena[Int(span.start)..<Int(span.start + span.count)]
    }

    public func text(_ span: ByteSpan) -> String? {
        bytes(span).map { String(decoding: $0, as: UTF8.self) }
    }

    public func topicPartition(of row: StagedRow) -> KafkaTopicPartition {
        KafkaTopicPartition(topic: topics[Int(row.topicIndex)], partition: row.partition)
    }

    /// The batch without the rows and claims of `partitions` (fenced off).
    public func removing(_ partitions: Set<KafkaTopicPartition>) -> StagedBatch {
        var copy = self
        copy.rows = rows.filter { !partitions.contains(topicPartition(of: $0)) }
        copy.claims = claims.filter { !partitions.contains($0.topicPartition) }
        return copy
    }
}

/// Collects staged rows until the batch is due (by count, bytes or age,
/// through `Batcher`), then seals them with the offsets to claim.
public struct BatchBuilder {
    public private(set) var batcher: Batcher<StagedRow>
    public private(set) var arena: [UInt8] = []
    public private(set) var reasons: [String] = []
    public var counters = StageCounters()
    public var avroSchemaID: Int32?

    /// Arena offsets are Int32; this byte limit keeps far below that.
    static let maxBatchBytes = 32 << 20

    public init(maxRows: Int, maxAgeMilliseconds: Int64, clock: any MonotonicClock = SystemClock.shared) {
        batcher = Batcher(maxItems: maxRows, maxBytes: Self.maxBatchBytes,
                          maxAgeMilliseconds: maxAgeMilliseconds, clock: clock)
        arena.reserveCapacity(min(maxRows * 160, 16 << 20))
    }

    public var isEmpty: Bool { batcher.isEmpty }
    public var count: Int { batcher.count }
    public var isDue: Bool { batcher.isDue }
    public var millisecondsUntilDue: Int64? { batcher.millisecondsUntilDue }
    public var arenaCount: Int { arena.count }

    /// Appends bytes to the arena and returns where they went.
    public mutating func store(_ bytes: UnsafeRawBufferPointer) -> ByteSpan {
        let start = arena.count
        arena.append(contentsOf: bytes.bindMemory(to: UInt8.self))
        return ByteSpan(start: Int32(start), count: Int32(bytes.count))
    }

    /// Runs `body` to append to the arena; the span covers what it added.
    public mutating func store(_ body: (inout [UInt8]) -> Void) -> ByteSpan {
        let start = arena.count
        body(&arena)
        return ByteSpan(start: Int32(start), count: Int32(arena.count - start))
    }

    public mutating func reason(_ text: String) -> Int32 {
        reasons.append(text)
        return Int32(reasons.count - 1)
    }

    /// Adds a finished row; `arenaStart` is the arena size before its bytes.
    public mutating func append(_ row: StagedRow, arenaStart: Int) {
        batcher.append(row, bytes: arena.count - arenaStart + MemoryLayout<StagedRow>.stride)
        counters.messages += 1
    }

    /// Hands over everything collected, with the offsets to claim.
    public mutating func seal(topics: [String], claims: [OffsetClaim]) -> StagedBatch {
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
    public mutating func remove(where drop: (StagedRow) -> Bool) {
        let rows = batcher.drain()
        for row in rows where !drop(row) { batcher.append(row) }
        counters.messages = batcher.count
    }
}
