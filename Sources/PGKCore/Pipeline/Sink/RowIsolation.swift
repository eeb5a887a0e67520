/// What a failed statement means for the batch.
enum SinkFailureKind: Sendable, Equatable {
    /// The connection broke or the server is restarting: reconnect, retry.
    case connection
    /// Serialization failure or deadlock: roll back and retry the batch.
    case retryTransaction
    /// The statement itself is wrong for every row (a map bug, missing
    /// privilege, full disk…): stop, retrying cannot help.
    case statement
    /// Some row's data is bad (cast, constraint, check…): isolate it.
    case row

    static func classify(_ error: Error) -> SinkFailureKind {
        if error is KafkaError { return .connection }
        guard let error = error as? PostgresError else { return .statement }
        if error.isTransient { return .connection }
        if error.isSerializationFailure { return .retryTransaction }
        guard let state = error.sqlState else { return .statement }
        let statementClasses = ["42", "0A", "53", "55", "57", "58", "25", "26", "3D", "3F", "F0", "HV", "0B", "2B", "2D", "40"]
        if statementClasses.contains(String(state.prefix(2))) || state == "XX001" || state == "XX002" || state == "54001" {
            return .statement
        }
        return .row
    }
}

/// A failure that ends the sink (exit 1); the batch was rolled back.
struct SinkFailure: Error, CustomStringConvertible, Sendable {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs the set-based statements over a batch's staging rows, and when
/// one fails because of some row's data, rolls back to a savepoint and
/// bisects the ord range until each offending row stands alone. Those rows
/// become dead letters (or are skipped, or fail the sink); the rest are
/// written. k bad rows in n cost O(k log n) statements.
struct RowIsolation {
    let connection: PostgresConnection
    let statements: SinkStatements
    let batch: StagedBatch
    let onError: ErrorPolicy
    /// Start with the compacting statement (a duplicate key was seen).
    var compact: Bool

    private(set) var stats = WriteStats()
    private(set) var letters: [DeadLetter] = []
    private(set) var sawDuplicateKeys = false
    private var indexed = false
    /// Rows that are in staging (values and tombstones) before index i.
    private let stagedBefore: [Int32]
    private let tombstonesBefore: [Int32]

    init(connection: PostgresConnection, statements: SinkStatements, batch: StagedBatch, onError: ErrorPolicy,
         compact: Bool) {
        self.connection = connection
        self.statements = statements
        self.batch = batch
        self.onError = onError
        self.compact = compact
        var staged: [Int32] = [0]
        var tombstones: [Int32] = [0]
        staged.reserveCapacity(batch.rows.count + 1)
        tombstones.reserveCapacity(batch.rows.count + 1)
        for row in batch.rows {
            staged.append(staged.last! + (row.kind == .value || row.kind == .tombstone ? 1 : 0))
            tombstones.append(tombstones.last! + (row.kind == .tombstone ? 1 : 0))
        }
        stagedBefore = staged
        tombstonesBefore = tombstones
    }

    mutating func run() throws {
        try slice(0, batch.rows.count)
        if indexed { try connection.execute(SinkStatements.dropStagingIndex) }
    }

    private struct SliceResult {
        var written = 0
        var deleted = 0
        var filtered = 0
        var failedChecks: [(row: Int, check: Int)] = []
    }

    private mutating func slice(_ lower: Int, _ upper: Int) throws {
        let staged = Int(stagedBefore[upper] - stagedBefore[lower])
        guard staged > 0 else { return }
        let tombstones = tombstonesBefore[upper] > tombstonesBefore[lower]
        do {
            let result: SliceResult
            do {
                result = try attempt(lower, upper, tombstones: tombstones, compact: compact)
            } catch let error as PostgresError where error.sqlState == "21000" && !compact {
                // "ON CONFLICT DO UPDATE command cannot affect row a second
                // time": a key repeats; keep only its last row from now on.
                compact = true
                sawDuplicateKeys = true
                result = try attempt(lower, upper, tombstones: tombstones, compact: true)
            }
            try apply(result)
        } catch {
            guard SinkFailureKind.classify(error) == .row else { throw error }
            if staged == 1 {
                let row = (lower..<upper).first { stagedBefore[$0 + 1] > stagedBefore[$0] }!
                let failure = error as? PostgresError
                try reject(row, error: failure.map(Self.describe) ?? "\(error)", sqlState: failure?.sqlState, check: nil)
                return
            }
            if !indexed {
                try connection.execute(SinkStatements.indexStaging)
                indexed = true
            }
            let middle = split(lower, upper, staged: staged)
            try slice(lower, middle)
            try slice(middle, upper)
        }
    }

    /// The index where half of the range's staged rows lie before.
    private func split(_ lower: Int, _ upper: Int, staged: Int) -> Int {
        let target = stagedBefore[lower] + Int32(staged / 2)
        var low = lower + 1, high = upper - 1
        while low < high {
            let mid = (low + high) / 2
            if stagedBefore[mid] >= target { high = mid } else { low = mid + 1 }
        }
        return low
    }

    private func attempt(_ lower: Int, _ upper: Int, tombstones: Bool, compact: Bool) throws -> SliceResult {
        let bounds = [String(lower), String(upper)]
        return try connection.savepoint("pgk_slice") {
            var result = SliceResult()
            if let screen = statements.screen {
                for row in try connection.query(screen, bounds).rows {
                    guard let ord = row[0].flatMap({ Int($0) }) else { continue }
                    if let check = row[1].flatMap({ Int($0) }) {
                        result.failedChecks.append((ord, check - 1))
                    } else {
                        result.filtered += 1
                    }
                }
            }
            if tombstones, let delete = statements.deleteTombstoned {
                result.deleted = try connection.execute(delete, bounds).rowsAffected ?? 0
            }
            let write = statements.write(compact: compact || tombstones, tombstones: tombstones)
            result.written = try connection.execute(write, bounds).rowsAffected ?? 0
            return result
        }
    }

    private mutating func apply(_ result: SliceResult) throws {
        stats.rowsWritten += result.written
        stats.rowsDeleted += result.deleted
        stats.filtered += result.filtered
        for failed in result.failedChecks.sorted(by: { $0.row < $1.row }) {
            let name = statements.plan.checks[failed.check].name
            try reject(failed.row, error: "check \(name) failed", sqlState: nil, check: name)
        }
    }

    private mutating func reject(_ row: Int, error: String, sqlState: String?, check: String?) throws {
        switch onError {
        case .deadLetter:
            letters.append(DeadLetter(row: row, error: error, sqlState: sqlState, check: check))
        case .skip:
            stats.errorsSkipped += 1
        case .fail:
            let staged = batch.rows[row]
            throw SinkFailure("\(batch.topicPartition(of: staged)) offset \(staged.offset): \(error)"
                + (sqlState.map { " (SQLSTATE \($0))" } ?? "") + "; stopping because --on-error is fail")
        }
    }

    /// The server's message with its detail, without the SQLSTATE prefix
    /// (that has its own dead-letter column).
    static func describe(_ error: PostgresError) -> String {
        var text = error.message
        if let detail = error.detail { text += " (\(detail))" }
        return text
    }
}
