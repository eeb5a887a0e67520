#if canImport(Glibc)
import Glibc
#endif
import Synchronization
@testable import PGKCore

/// The Postgres every integration test uses.
///
/// One throwaway cluster per test process, started on first use (thread
/// safe: tests run in parallel) and stopped at process exit. Each test
/// takes its own database, so tests never see each other's tables:
///
///     let url = try TestPostgres.freshDatabase()
///     let db = try PostgresConnection(conninfo: url)
///
/// Tests that stop or restart Postgres must not do it to the shared
/// cluster (other tests are using it): take `TestPostgres.privateCluster()`
/// and `shutdown()` it at the end.
///
/// If the cluster cannot start (no server binaries, no `postgres` user
/// when root…) every test that asks fails with the reason; none is skipped.
enum TestPostgres {
    /// Initialized once, on first access, by Swift's thread-safe lazy
    /// globals.
    private static let shared: Result<LocalPostgresCluster, any Error> = Result {
        let cluster = try LocalPostgresCluster.started()
        // Only reached once the cluster exists, so the handler never starts one.
        atexit { TestPostgres.shutdownAtExit() }
        return cluster
    }

    private static let counter = Atomic<Int>(0)

    /// The shared cluster, started if needed.
    static func cluster() throws -> LocalPostgresCluster {
        try shared.get()
    }

    /// A new, empty database on the shared cluster; returns its URL
    /// (postgresql://postgres@127.0.0.1:PORT/NAME). `label` only makes the
    /// name easier to recognise in server logs.
    static func freshDatabase(_ label: String = "test") throws -> String {
        let number = counter.add(1, ordering: .relaxed).newValue
        let cleaned = String(label.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.prefix(30))
        return try cluster().createDatabase("t_\(cleaned)_\(getpid())_\(number)")
    }

    /// A cluster of the caller's own, already running; shut it down when done.
    static func privateCluster() throws -> LocalPostgresCluster {
        try LocalPostgresCluster.started()
    }

    private static func shutdownAtExit() {
        if case .success(let cluster) = shared { cluster.shutdown() }
    }
}
