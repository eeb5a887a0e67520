import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import PGKCore

@Suite struct LocalPostgresClusterTests {
    @Test func sharedClusterServesFreshDatabases() throws {
        let url = try TestPostgres.freshDatabase("smoke")
        let connection = try PostgresConnection(conninfo: url)
        #expect(try connection.query("SELECT 1 + 1").scalar == "2")
    }
}
