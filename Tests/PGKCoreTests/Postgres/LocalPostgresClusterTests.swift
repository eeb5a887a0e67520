import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import PGKCore

@Suite struct LocalPostgresClusterTests {
    private func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    @Test func sharedClusterServesIsolatedDatabases() throws {
        let first = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("iso"))
        let second = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("iso"))
        #expect(first.databaseName != second.databaseName)
        try first.execute("CREATE TABLE only_here (v int)")
        #expect(try second.query("SELECT to_regclass('only_here')").scalar == nil)
    }

    @Test func clusterIsSetUpForLogicalDecoding() throws {
        let cluster = try TestPostgres.cluster()
        let db = try PostgresConnection(conninfo: cluster.url)
        func setting(_ name: String) throws -> String? {
            try db.query("SELECT current_setting($1)", [name]).scalar
        }
        #expect(try setting("wal_level") == "logical")
        #expect(Int(try setting("max_replication_slots") ?? "0")! >= 20)
        #expect(Int(try setting("max_wal_senders") ?? "0")! >= 20)
        #expect(Int(try setting("max_connections") ?? "0")! >= 200)
        #expect(try setting("fsync") == "off")
        #expect(try setting("full_page_writes") == "off")
        #expect(try setting("listen_addresses") == "127.0.0.1")
        #expect(try setting("server_encoding") == "UTF8")
        #expect(try setting("unix_socket_directories") == cluster.baseDirectory)
        #expect(cluster.url == "postgresql://postgres@127.0.0.1:\(cluster.port)/postgres")
        // The unix socket works too (libpq: host = a directory).
        let viaSocket = try PostgresConnection(
            conninfo: "host=\(cluster.baseDirectory) port=\(cluster.port) user=postgres dbname=postgres")
        #expect(try viaSocket.query("SELECT 1").scalar == "1")
        // Logical decoding actually works.
        let slot = "slot_\(getpid())_\(Int.random(in: 0..<1_000_000))"
        try db.execute("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [slot])
        try db.execute("SELECT pg_drop_replication_slot($1)", [slot])
    }

    @Test func createDatabaseKeepsTheExactName() throws {
        let cluster = try TestPostgres.cluster()
        let name = "Mixed Case/ü \(getpid())"
        let url = try cluster.createDatabase(name)
        #expect(url.hasPrefix("postgresql://postgres@127.0.0.1:\(cluster.port)/Mixed%20Case%2F%C3%BC%20"))
        let db = try PostgresConnection(conninfo: url)
        #expect(try db.currentDatabase() == name)
        #expect(throws: PostgresError.self) { try cluster.createDatabase(name) }
    }

    @Test func restartKeepsDataAndPort() throws {
        let cluster = try TestPostgres.privateCluster()
        defer { cluster.shutdown() }
        let port = cluster.port
        let url = try cluster.createDatabase("keep")
        let before = try PostgresConnection(conninfo: url)
        try before.execute("CREATE TABLE t (v text)")
        try before.execute("INSERT INTO t VALUES ('survives')")

        try cluster.restart()
        #expect(cluster.port == port)
        #expect(cluster.isRunning)
        #expect(throws: PostgresError.self) { try before.query("SELECT 1") }
        try before.reconnect()
        #expect(try before.query("SELECT v FROM t").scalar == "survives")

        // An immediate (crash-like) stop loses no committed data either.
        try before.execute("INSERT INTO t VALUES ('after crash')")
        try cluster.restart(immediate: true)
        #expect(cluster.port == port)
        let after = try PostgresConnection(conninfo: url)
        #expect(try after.query("SELECT count(*) FROM t").scalar == "2")

        try cluster.stop()
        #expect(!cluster.isRunning)
        #expect(throws: PostgresError.self) { try PostgresConnection(conninfo: url, connectTimeout: 3) }
        try cluster.start()
        #expect(cluster.port == port)
        #expect(try PostgresConnection(conninfo: url).query("SELECT count(*) FROM t").scalar == "2")

        // A server that died on its own is started again by start().
        let pidLine = LocalPostgresCluster.tail(of: cluster.dataDirectory + "/postmaster.pid", lines: 20)
            .split(separator: "\n").first.map(String.init) ?? ""
        let serverPID = try #require(pid_t(pidLine))
        #expect(kill(serverPID, SIGKILL) == 0)
        let deadline = SystemClock.shared.nowMilliseconds + 10_000
        while cluster.isRunning && SystemClock.shared.nowMilliseconds < deadline { usleep(20_000) }
        #expect(!cluster.isRunning)
        try cluster.start()
        #expect(try PostgresConnection(conninfo: url).query("SELECT count(*) FROM t").scalar == "2")
        #expect(LocalPostgresCluster.tail(of: cluster.logPath, lines: 200).contains("database system is ready"))
    }

    @Test func shutdownStopsTheServerAndDeletesTheDirectory() throws {
        let cluster = try TestPostgres.privateCluster()
        let base = cluster.baseDirectory
        let url = cluster.url
        #expect(exists(cluster.dataDirectory + "/PG_VERSION"))
        #expect(exists(cluster.logPath))
        cluster.shutdown()
        cluster.shutdown() // idempotent
        #expect(!exists(base))
        #expect(!cluster.isRunning)
        #expect(throws: PostgresError.self) { try PostgresConnection(conninfo: url, connectTimeout: 3) }
        #expect(throws: RuntimeError.self) { try cluster.start() }
    }

    @Test func watchdogCleansUpWhenItsOwnerDies() throws {
        // A cluster whose owning process "dies": the watchdog must stop the
        // server and delete the directory on its own.
        let cluster = try TestPostgres.privateCluster()
        let base = cluster.baseDirectory
        let url = cluster.url
        #expect(try PostgresConnection(conninfo: url).query("SELECT 1").scalar == "1")
        try #require(cluster.watchdogForTesting != nil)
        cluster.watchdogForTesting?.simulateOwnerDeath()
        #expect(!exists(base), "the watchdog left \(base) behind")
        #expect(throws: PostgresError.self) { try PostgresConnection(conninfo: url, connectTimeout: 3) }
        cluster.shutdown()
    }

    @Test func failedStartReportsTheServerLog() throws {
        let cluster = try LocalPostgresCluster(options: .init(settings: ["shared_buffers": "'nonsense'"]))
        defer { cluster.shutdown() }
        do {
            try cluster.start()
            Issue.record("started with an invalid setting")
        } catch {
            #expect("\(error)".contains("shared_buffers"), "\(error)")
            #expect("\(error)".contains(cluster.logPath))
        }
        #expect(!cluster.isRunning)
    }

    @Test func locatesServerBinaries() throws {
        let directory = try LocalPostgresCluster.locateBinaries()
        #expect(access(directory + "/initdb", X_OK) == 0)
        #expect(access(directory + "/postgres", X_OK) == 0)
    }

    @Test func prefersTheHighestDebianVersion() throws {
        var template = Array("/tmp/pgk-bindirs-XXXXXX".utf8CString)
        let root = String(cString: try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }))
        defer { LocalPostgresCluster.removeTree(root) }
        for name in ["9.6", "15", "13", "README", "16"] { mkdir(root + "/" + name, 0o755) }
        #expect(LocalPostgresCluster.debianBinDirectories(root: root)
                == ["16", "15", "13", "9.6"].map { "\(root)/\($0)/bin" })
        #expect(LocalPostgresCluster.debianBinDirectories(root: root + "/missing").isEmpty)
    }
}
