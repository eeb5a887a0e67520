import Foundation

/// Work shared by several processes through PostgreSQL: each item (a
/// partition, say) is leased with a session advisory lock, so a process
/// that exits or dies loses its leases the moment its session ends.
///
/// Each process also holds a member lock, so the live members are counted
/// from pg_locks, exactly and at once. A member takes up to its fair share,
/// ceil(items / members), and gives back what it holds beyond it; the
/// others pick those up at their next refresh. Callers refresh between
/// batches, once what they wrote for a lease they might give up is
/// committed, so the next holder starts exactly after it. Used by
/// `pgk sql run` (partitions of a query) and `pgk sink` (partitions of a
/// group's topics).
final class Leases {
    private let connection: PostgresConnection
    private let scope: String
    private let member = UUID().uuidString
    private(set) var held: Set<String> = []

    /// `scope` names what is shared, e.g. "sql pgk_sql.CTAS_T_1".
    init(connection: PostgresConnection, scope: String) throws {
        self.connection = connection
        self.scope = scope
        _ = try connection.query("SELECT pg_advisory_lock(hashtext('pgk member ' || $1), hashtext($2))", [scope, member])
    }

    /// Processes sharing the scope now, this one included.
    func members() throws -> Int {
        let count = try connection.query("""
            SELECT count(DISTINCT objid) FROM pg_locks
            WHERE locktype = 'advisory' AND objsubid = 2 AND granted
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND classid::bigint = (hashtext('pgk member ' || $1)::bigint + 4294967296) % 4294967296
            """, [scope]).scalar
        return max(1, Int(count ?? "1") ?? 1)
    }

    /// Gives back items beyond the fair share and takes free ones up to
    /// it; returns the items held afterwards.
    func refresh(_ items: [String]) throws -> Set<String> {
        let present = Set(items)
        for item in held where !present.contains(item) { try unlock(item) }
        guard !items.isEmpty else { return held }
        let members = try members()
        let fair = (items.count + members - 1) / members
        for item in held.sorted().reversed() where held.count > fair { try unlock(item) }
        // Start the search at a member-specific place so members do not all race for the same items.
        let start = Int(UInt32(truncatingIfNeeded: member.hashValue) % UInt32(items.count))
        for step in 0..<items.count where held.count < fair {
            let item = items[(start + step) % items.count]
            guard !held.contains(item) else { continue }
            let locked = try connection.query("SELECT pg_try_advisory_lock(hashtext('pgk lease ' || $1), hashtext($2))",
                                              [scope, item]).scalar
            if locked == "t" { held.insert(item) }
        }
        return held
    }

    private func unlock(_ item: String) throws {
        _ = try connection.query("SELECT pg_advisory_unlock(hashtext('pgk lease ' || $1), hashtext($2))", [scope, item])
        held.remove(item)
    }

    /// Releases every lease and the membership (the session's advisory locks).
    func release() {
        _ = try? connection.query("SELECT pg_advisory_unlock_all()")
        held = []
    }
}
