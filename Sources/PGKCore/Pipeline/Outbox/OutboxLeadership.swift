/// Leader election among `pgk cdc outbox run` processes: a session-level
/// advisory lock per queue. The leader holds it on the very connection it
/// claims events with, so losing that connection (a crash, kill -9, a
/// network failure) releases the lock and rolls back the open claim at
/// once; a standby polling for the lock takes over within its retry
/// interval.
enum OutboxLeadership {
    /// The first key of pgk's advisory locks ("pgk1").
    static let lockNamespace: Int32 = 0x7067_6B31

    static func tryAcquire(queue: String, on db: PostgresConnection) throws -> Bool {
        try db.query("SELECT pg_try_advisory_lock(\(lockNamespace), hashtext($1))", [queue]).scalar == "t"
    }

    struct Holder: Sendable, Equatable {
        var pid: Int32
        var applicationName: String
        var clientAddress: String?
    }

    /// The backend currently leading `queue`, if any.
    static func holder(queue: String, on db: PostgresConnection) throws -> Holder? {
        let row = try db.query("""
            SELECT a.pid, a.application_name, a.client_addr::text
              FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
               AND l.classid = $1::int4::oid AND l.objid = hashtext($2)::oid
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """, [String(lockNamespace), queue]).rows.first
        guard let row, let pid = row[0].flatMap({ Int32($0) }) else { return nil }
        return Holder(pid: pid, applicationName: row[1] ?? "", clientAddress: row[2])
    }
}
