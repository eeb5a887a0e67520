/// Turns decoded pgoutput messages into row changes: caches relations,
/// tracks the open transaction, and reports transaction ends and
/// heartbeats, which are the positions the flush tracker confirms.
final class ChangeAssembler {
    enum Position {
        /// A transaction ended; confirming `endLSN` means it is never re-sent.
        case committed(PgOutputCommit)
        /// One of pgk's heartbeat messages arrived.
        case heartbeat(LSN)
    }

    static let heartbeatPrefix = "pgk.heartbeat"
    /// pgk's own bookkeeping (sink offsets, snapshot records, the outbox
    /// queue) lives here; a FOR ALL TABLES publication includes it, but
    /// pgk must never stream its own state out as change events.
    static let ownSchema = "pgk"

    private let resolve: (PgOutputRelation) throws -> TableSchema
    private(set) var relations: [UInt32: TableSchema] = [:]
    /// Relations in `ownSchema`: their changes are dropped.
    private var ownRelations: Set<UInt32> = []
    private(set) var transaction: PgOutputBegin?

    init(resolve: @escaping (PgOutputRelation) throws -> TableSchema) {
        self.resolve = resolve
    }

    var isInTransaction: Bool { transaction != nil }

    /// Relations are re-sent on every new stream; forget everything.
    func reset() {
        relations.removeAll()
        ownRelations.removeAll()
        transaction = nil
    }

    /// Handles one message; `lsn` is the XLogData start (the change's LSN).
    func handle(_ message: PgOutputMessage, lsn: LSN, emit: (RowChange) throws -> Void) throws -> Position? {
        switch message {
        case .begin(let begin):
            transaction = begin
        case .commit(let commit):
            guard transaction != nil else { throw WALError.protocolViolation("COMMIT at \(commit.commitLSN) without BEGIN") }
            transaction = nil
            return .committed(commit)
        case .relation(let relation) where relation.namespace == ChangeAssembler.ownSchema:
            ownRelations.insert(relation.id)
            relations[relation.id] = nil
        case .relation(let relation):
            // A table moved out of pgk's schema (ALTER TABLE … SET SCHEMA) is captured again.
            ownRelations.remove(relation.id)
            relations[relation.id] = try resolve(relation)
        case .type, .origin:
            break
        case .insert(let relationID, _) where ownRelations.contains(relationID),
             .update(let relationID, _, _, _) where ownRelations.contains(relationID),
             .delete(let relationID, _, _) where ownRelations.contains(relationID):
            break
        case .insert(let relationID, let new):
            try emit(change(relationID, .create, after: new, lsn: lsn))
        case .update(let relationID, let old, let keyOnly, let new):
            try emit(change(relationID, .update, before: old, keyOnly: keyOnly, after: new, lsn: lsn))
        case .delete(let relationID, let old, let keyOnly):
            try emit(change(relationID, .delete, before: old, keyOnly: keyOnly, lsn: lsn))
        case .truncate(let relationIDs, _, _):
            for relationID in relationIDs where !ownRelations.contains(relationID) {
                try emit(change(relationID, .truncate, lsn: lsn))
            }
        case .message(let transactional, let messageLSN, let prefix, _):
            if !transactional && prefix == ChangeAssembler.heartbeatPrefix && transaction == nil {
                return .heartbeat(messageLSN)
            }
        }
        return nil
    }

    private func change(_ relationID: UInt32, _ operation: RowChange.Operation, before: TupleData? = nil,
                        keyOnly: Bool = false, after: TupleData? = nil, lsn: LSN) throws -> RowChange {
        guard let table = relations[relationID] else {
            throw WALError.protocolViolation("a change of relation \(relationID) arrived before its RELATION message")
        }
        guard let transaction else {
            throw WALError.protocolViolation("a change of \(table.displayName) arrived outside a transaction")
        }
        return RowChange(table: table, operation: operation, before: before, beforeIsKeyOnly: keyOnly, after: after,
                         lsn: lsn, transactionID: transaction.xid,
                         commitTimeMilliseconds: PostgresClock.unixMilliseconds(fromPostgresMicroseconds: transaction.commitTime))
    }
}
