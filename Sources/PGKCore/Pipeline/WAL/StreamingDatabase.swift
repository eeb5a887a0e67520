/// What WAL streaming asks of the ordinary (non-replication) connection:
/// table definitions for Relation messages, heartbeats on an idle
/// database, and a fresh session after the server came back.
protocol StreamingDatabase: AnyObject {
    /// The catalog/heartbeat connection dies with the server too.
    func reconnectIfNeeded() throws
    /// The table behind a Relation message.
    func schema(for relation: PgOutputRelation) throws -> TableSchema
    /// A tiny non-transactional WAL message the slot will see, so its
    /// position keeps moving on an idle database and WAL does not pile up.
    func emitHeartbeat(slot: String) throws
}

/// The real `StreamingDatabase`: the streamer's side connection and the
/// table catalog that reads through it.
final class SideConnection: StreamingDatabase {
    let connection: PostgresConnection
    let catalog: TableCatalog

    init(connection: PostgresConnection, catalog: TableCatalog) {
        self.connection = connection
        self.catalog = catalog
    }

    func reconnectIfNeeded() throws {
        if connection.isConnected, (try? connection.query("SELECT 1")) != nil { return }
        try connection.reconnect()
        try ReplicationConnection.applySessionSettings { try connection.execute($0) }
    }

    func schema(for relation: PgOutputRelation) throws -> TableSchema { try catalog.schema(for: relation) }

    func emitHeartbeat(slot: String) throws {
        try reconnectIfNeeded()
        try connection.execute("SELECT pg_logical_emit_message(false, $1, $2)", [ChangeAssembler.heartbeatPrefix, slot])
    }
}
