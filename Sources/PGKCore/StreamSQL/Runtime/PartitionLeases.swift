import Foundation

/// Which partitions of a query's inputs this process runs, when several
/// `pgk sql run` processes share the query.
///
/// Partition number p of every input goes together (co-partitioned inputs
/// meet in one process) under a PostgreSQL session advisory lock on
/// (query, p). Each process also holds a member lock, so live members are
/// counted from pg_locks, exactly and at once: a process that dies loses
/// its session and with it every lock. Each member takes up to its fair
/// share, ceil(partitions / members), and gives back what it holds beyond
/// it; the others pick those up at their next refresh. Leases change only
/// between batches, after the batch in flight committed, so the next
/// holder starts exactly after it.
final class PartitionLeases {
    private let connection: PostgresConnection
    private let queryKey: String
    private let member = UUID().uuidString
    private(set) var held: Set<Int32> = []

    init(connection: PostgresConnection, queryKey: String) throws {
        self.connection = connection
        self.queryKey = queryKey
        _ = try connection.query("SELECT pg_advisory_lock(hashtext('pgk sql member ' || $1), hashtext($2))", [queryKey, member])
    }

    /// Processes running this query now, this one included.
    func members() throws -> Int {
        let count = try connection.query("""
            SELECT count(DISTINCT objid) FROM pg_locks
            WHERE locktype = 'advisory' AND objsubid = 2 AND granted
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND classid::bigint = (hashtext('pgk sql member ' || $1)::bigint + 4294967296) % 4294967296
            """, [queryKey]).scalar
        return max(1, Int(count ?? "1") ?? 1)
    }

    /// Gives back partitions beyond the fair share and takes free ones up
    /// to it; returns the partitions held afterwards.
    func refresh(partitionCount: Int) throws -> Set<Int32> {
        guard partitionCount > 0 else { return held }
        let members = try members()
        let fair = (partitionCount + members - 1) / members
        for partition in held.sorted().reversed() where held.count > fair {
            _ = try connection.query("SELECT pg_advisory_unlock(hashtext('pgk sql partition ' || $1), $2::integer)",
                                     [queryKey, String(partition)])
            held.remove(partition)
        }
        // Start the search at a member-specific place so members do not all race for partition 0.
        let start = Int(UInt32(truncatingIfNeeded: member.hashValue) % UInt32(partitionCount))
        for step in 0..<partitionCount where held.count < fair {
            let partition = Int32((start + step) % partitionCount)
            guard !held.contains(partition) else { continue }
            let locked = try connection.query("SELECT pg_try_advisory_lock(hashtext('pgk sql partition ' || $1), $2::integer)",
                                              [queryKey, String(partition)]).scalar
            if locked == "t" { held.insert(partition) }
        }
        return held
    }

    /// Releases every lease and the membership (the session's advisory locks).
    func release() {
        _ = try? connection.query("SELECT pg_advisory_unlock_all()")
        held = []
    }
}
