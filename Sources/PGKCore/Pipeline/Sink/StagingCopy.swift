/// Streams a batch into COPY: either into the per-connection staging
/// table (every value and tombstone, `ord` = row index) or, for the
/// built-in maps, straight into the target table.
enum StagingCopy {
    /// Returns how many rows went in. `fields` as `StagingField.forBatch`
    /// chose them, in that order.
    @discardableResult
    static func stage(_ batch: StagedBatch, fields: [StagingField], into copy: CopyIn) throws -> Int {
        let topics = batch.topics.map { Array($0.utf8) }
        var count = 0
        try batch.arena.withUnsafeBufferPointer { arena in
            for (index, row) in batch.rows.enumerated() where row.kind == .value || row.kind == .tombstone {
                for field in fields {
                    switch field {
                    case .ord: appendInteger(Int64(index), to: copy)
                    case .key: append(row.key, arena, to: copy)
                    case .value: append(row.value, arena, to: copy)
                    case .topic: topics[Int(row.topicIndex)].withUnsafeBufferPointer { copy.append(field: $0) }
                    case .partition: appendInteger(Int64(row.partition), to: copy)
                    case .offset: appendInteger(row.offset, to: copy)
                    case .timestamp:
                        if row.timestamp == StagedRow.noTimestamp { copy.appendNull() } else { appendInteger(row.timestamp, to: copy) }
                    case .headers: append(row.headers, arena, to: copy)
                    case .keyIsObject: copy.append(field: row.keyIsObject ? "t" : "f")
                    }
                }
                try copy.endRow()
                count += 1
            }
        }
        return count
    }

    /// The value rows only, in the built-in maps' column order.
    @discardableResult
    static func direct(_ batch: StagedBatch, fields: [DirectColumn.Field], into copy: CopyIn) throws -> Int {
        let topics = batch.topics.map { Array($0.utf8) }
        var count = 0
        try batch.arena.withUnsafeBufferPointer { arena in
            for row in batch.rows where row.kind == .value {
                for field in fields {
                    switch field {
                    case .key: append(row.key, arena, to: copy)
                    case .value: append(row.value, arena, to: copy)
                    case .topic: topics[Int(row.topicIndex)].withUnsafeBufferPointer { copy.append(field: $0) }
                    case .partition: appendInteger(Int64(row.partition), to: copy)
                    case .offset: appendInteger(row.offset, to: copy)
                    }
                }
                try copy.endRow()
                count += 1
            }
        }
        return count
    }

    @inline(__always)
    static func append(_ span: ByteSpan, _ arena: UnsafeBufferPointer<UInt8>, to copy: CopyIn) {
        if span.isNull {
            copy.appendNull()
        } else {
            copy.append(field: UnsafeBufferPointer(rebasing: arena[Int(span.start)..<Int(span.start + span.count)]))
        }
    }

    /// Decimal digits without allocating a String.
    @inline(__always)
    static func appendInteger(_ value: Int64, to copy: CopyIn) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var magnitude = value.magnitude
            var position = 20
            repeat {
                position -= 1
                buffer[position] = UInt8(48 + magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                position -= 1
                buffer[position] = UInt8(ascii: "-")
            }
            copy.append(field: UnsafeBufferPointer(rebasing: buffer[position..<20]))
        }
    }
}

/// Why a staged row did not make it into the table.
struct DeadLetter: Sendable, Equatable {
    /// Index into the batch's rows.
    var row: Int
    var error: String
    var sqlState: String?
    var check: String?

    init(row: Int, error: String, sqlState: String? = nil, check: String? = nil) {
        self.row = row
        self.error = error
        self.sqlState = sqlState
        self.check = check
    }
}

/// Writes dead letters: into a table inside the batch's transaction, or
/// to a topic (produced and flushed before the transaction commits, so a
/// crash can repeat a dead letter but never lose one).
final class DeadLetterWriter {
    let target: DeadLetterTarget
    private let kafka: KafkaConfig
    private var producer: KafkaProducer?
    private let stop: StopToken

    init(target: DeadLetterTarget, kafka: KafkaConfig, stop: StopToken) {
        self.target = target
        self.kafka = kafka
        self.stop = stop
    }

    func write(_ letters: [DeadLetter], of batch: StagedBatch, connection: PostgresConnection) throws {
        guard !letters.isEmpty else { return }
        switch target {
        case .table(let table):
            let copy = try connection.copyIn(into: table, columns: ["topic", "partition", "offset", "timestamp", "key",
                                                                    "value", "error", "sqlstate", "check_name"])
            for letter in letters {
                let row = batch.rows[letter.row]
                copy.append(field: batch.topics[Int(row.topicIndex)])
                copy.append(field: String(row.partition))
                copy.append(field: String(row.offset))
                copy.append(field: Self.timestampText(row.timestamp))
                copy.append(field: Self.byteaText(batch.bytes(row.rawKey)))
                copy.append(field: Self.byteaText(batch.bytes(row.rawValue)))
                copy.append(field: letter.error)
                copy.append(field: letter.sqlState)
                copy.append(field: letter.check)
                try copy.endRow()
            }
            try copy.finish()
        case .topic(let topic):
            let producer = try self.producer ?? KafkaProducer(config: kafka, stop: stop)
            self.producer = producer
            let failedBefore = producer.failedCount
            for letter in letters {
                let row = batch.rows[letter.row]
                var headers = [KafkaHeader(key: "pgk-error", string: letter.error),
                               KafkaHeader(key: "pgk-topic", string: batch.topics[Int(row.topicIndex)]),
                               KafkaHeader(key: "pgk-partition", string: String(row.partition)),
                               KafkaHeader(key: "pgk-offset", string: String(row.offset))]
                if let state = letter.sqlState { headers.append(KafkaHeader(key: "pgk-sqlstate", string: state)) }
                if let check = letter.check { headers.append(KafkaHeader(key: "pgk-check", string: check)) }
                try producer.produce(topic: topic, key: batch.bytes(row.rawKey).map(Array.init),
                                     value: batch.bytes(row.rawValue).map(Array.init), headers: headers,
                                     timestamp: row.timestamp == StagedRow.noTimestamp ? nil : row.timestamp)
            }
            try producer.flush(timeoutMilliseconds: 30_000)
            if producer.failedCount > failedBefore {
                let first = producer.failures.last?.error.map { "\($0)" } ?? "unknown error"
                throw RuntimeError("dead letters to topic \(topic) failed delivery: \(first)")
            }
        }
    }

    static func byteaText(_ bytes: ArraySlice<UInt8>?) -> String? {
        guard let bytes else { return nil }
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        out.reserveCapacity(2 + bytes.count * 2)
        for byte in bytes {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func timestampText(_ milliseconds: Int64) -> String? {
        guard milliseconds != StagedRow.noTimestamp else { return nil }
        let (seconds, fraction) = CivilTime.split(milliseconds, unitsPerSecond: 1000)
        return CivilTime.formatTimestamp(seconds: seconds, fraction: fraction, fractionDigits: 3)
    }
}
