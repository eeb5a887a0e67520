/// One message of the pgoutput logical decoding plugin (protocol version 1),
/// as sent inside XLogData. See "Logical Replication Message Formats" in
/// the PostgreSQL manual.
enum PgOutputMessage: Sendable {
    case begin(PgOutputBegin)
    case commit(PgOutputCommit)
    case origin(lsn: LSN, name: String)
    case relation(PgOutputRelation)
    case type(PgOutputType)
    case insert(relationID: UInt32, new: TupleData)
    /// `old` is present when the replica identity supplies it: the key
    /// columns ('K', when a key column changed) or the whole old row ('O',
    /// REPLICA IDENTITY FULL).
    case update(relationID: UInt32, old: TupleData?, oldIsKeyOnly: Bool, new: TupleData)
    case delete(relationID: UInt32, old: TupleData, oldIsKeyOnly: Bool)
    case truncate(relationIDs: [UInt32], cascade: Bool, restartIdentity: Bool)
    /// A `pg_logical_emit_message` record (sent with the `messages` option).
    case message(transactional: Bool, lsn: LSN, prefix: String, content: [UInt8])
}

struct PgOutputBegin: Sendable, Equatable {
    /// The LSN of the commit record of this transaction.
    var finalLSN: LSN
    /// Commit time, µs since 2000-01-01 UTC.
    var commitTime: Int64
    var xid: UInt32
}

struct PgOutputCommit: Sendable, Equatable {
    var flags: UInt8
    var commitLSN: LSN
    /// The end of the commit record: confirming it as flushed means this
    /// transaction is never sent again.
    var endLSN: LSN
    var commitTime: Int64
}

struct PgOutputRelation: Sendable, Equatable {
    struct Column: Sendable, Equatable {
        /// Part of the replica identity (the key pgoutput sends for old rows).
        var isKey: Bool
        var name: String
        var typeOID: UInt32
        var typeModifier: Int32
    }

    var id: UInt32
    /// Empty for pg_catalog, as pgoutput sends it.
    var namespace: String
    var name: String
    /// `d` default, `n` nothing, `f` full, `i` index.
    var replicaIdentity: UInt8
    var columns: [Column]
}

struct PgOutputType: Sendable, Equatable {
    var oid: UInt32
    var namespace: String
    var name: String
}

/// The columns of one row as pgoutput sends them: each is NULL, an
/// unchanged TOASTed value the server did not send, or the value's text
/// form. All values share one byte buffer (the message payload), so
/// decoding a row allocates only the column table.
struct TupleData: Sendable, Equatable {
    enum Column: Sendable, Equatable {
        case null
        /// An unchanged TOASTed value: the server did not send it.
        case unchangedToast
        case text(Range<Int>)
        /// Binary format; only with the `binary` option, which pgk never sets.
        case binary(Range<Int>)
    }

    var storage: [UInt8]
    var columns: [Column]

    init(storage: [UInt8], columns: [Column]) {
        self.storage = storage
        self.columns = columns
    }

    /// Builds a tuple from separate text values (nil is NULL), e.g. a COPY row.
    init(textValues: [[UInt8]?]) {
        var storage: [UInt8] = []
        storage.reserveCapacity(textValues.reduce(0) { $0 + ($1?.count ?? 0) })
        var columns: [Column] = []
        columns.reserveCapacity(textValues.count)
        for value in textValues {
            guard let value else { columns.append(.null); continue }
            let start = storage.count
            storage.append(contentsOf: value)
            columns.append(.text(start..<storage.count))
        }
        self.init(storage: storage, columns: columns)
    }

    var count: Int { columns.count }

    /// The text of column `index`, or nil when it is NULL, unchanged TOAST
    /// or missing.
    func text(at index: Int) -> String? {
        guard index < columns.count else { return nil }
        switch columns[index] {
        case .text(let range), .binary(let range): return String(decoding: storage[range], as: UTF8.self)
        case .null, .unchangedToast: return nil
        }
    }
}
