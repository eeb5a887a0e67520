import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import PGKCore

@Suite struct PostgresConnectionTests {
    private func databaseName(of url: String) -> String {
        String(url[url.index(after: url.lastIndex(of: "/")!)...])
    }

    @Test func connectsWithURLAndKeyValueForms() throws {
        let url = try TestPostgres.freshDatabase("forms")
        let name = databaseName(of: url)
        let port = try TestPostgres.cluster().port
        let viaURL = try PostgresConnection(conninfo: url)
        let viaKeyValue = try PostgresConnection(conninfo: "host=127.0.0.1 port=\(port) user=postgres dbname=\(name)")
        for connection in [viaURL, viaKeyValue] {
            #expect(try connection.currentDatabase() == name)
            #expect(connection.databaseName == name)
            #expect(connection.userName == "postgres")
            #expect(connection.isConnected)
            #expect(connection.transactionStatus == .idle)
        }
        #expect(viaURL.target == url)
    }

    @Test func setsApplicationNameUnlessTheUserDoes() throws {
        let url = try TestPostgres.freshDatabase("appname")
        let defaulted = try PostgresConnection(conninfo: url)
        #expect(try defaulted.query("SELECT current_setting('application_name')").scalar == "pgk")
        let named = try PostgresConnection(conninfo: url, applicationName: "pgk sink")
        #expect(try named.query("SHOW application_name").scalar == "pgk sink")
        let overridden = try PostgresConnection(conninfo: url + "?application_name=mine")
        #expect(try overridden.query("SHOW application_name").scalar == "mine")
        #expect(try overridden.query("SHOW client_encoding").scalar == "UTF8")
    }

    @Test func forEachRowHandsOutFieldsInPlace() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("rows"))
        var seen: [[String?]] = []
        try connection.forEachRow("SELECT * FROM (VALUES (1, NULL::text, ''), (2, $1, 'é')) AS v ORDER BY 1", ["x\ty"]) { row in
            seen.append(row.map { $0.map { String(decoding: $0, as: UTF8.self) } })
        }
        #expect(seen == [["1", nil, ""], ["2", "x\ty", "é"]])
        var none = 0
        try connection.forEachRow("SELECT 1 WHERE false") { _ in none += 1 }
        #expect(none == 0)
        #expect(throws: PostgresError.self) { try connection.forEachRow("SELECT nope") { _ in } }
    }

    @Test func reportsServerInfo() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("info"))
        #expect(connection.serverVersion >= 100_000)
        let text = try connection.serverVersionText()
        #expect(text.hasPrefix(String(connection.serverVersion / 10_000)))
        #expect(connection.backendPID == Int32(try connection.query("SELECT pg_backend_pid()").scalar!)!)
    }

    @Test func refusedPortFailsFastWithRedactedTarget() throws {
        let port = try freeLoopbackPort()
        let url = "postgresql://postgres:hunter2@127.0.0.1:\(port)/nowhere"
        let started = SystemClock.shared.nowMilliseconds
        do {
            _ = try PostgresConnection(conninfo: url)
            Issue.record("connected to a closed port")
        } catch let error as PostgresError {
            #expect(SystemClock.shared.nowMilliseconds - started < 5_000)
            #expect(!error.description.contains("hunter2"))
            #expect(error.description.hasPrefix("could not connect to postgresql://postgres:***@127.0.0.1:\(port)/nowhere: "))
            #expect(error.description.contains("refused"))
            #expect(error.isTransient)
        }
    }

    /// A listener that never accepts: TCP connects, the startup reply never
    /// comes, so only connect_timeout can end the attempt.
    private func silentListener() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        try #require(ok, "cannot set up a silent listener")
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    @Test func unresponsiveServerTimesOutWithinConnectTimeout() throws {
        let (fd, port) = try silentListener()
        defer { close(fd) }
        let started = SystemClock.shared.nowMilliseconds
        do {
            _ = try PostgresConnection(conninfo: "host=127.0.0.1 port=\(port) user=u password=s3cret dbname=d",
                                       connectTimeout: 2)
            Issue.record("connected to a listener that never answers")
        } catch let error as PostgresError {
            let elapsed = SystemClock.shared.nowMilliseconds - started
            #expect(elapsed >= 1_500 && elapsed < 8_000, "took \(elapsed) ms")
            #expect(error.description.contains("timeout"))
            #expect(error.description.contains("password=***"))
            #expect(!error.description.contains("s3cret"))
        }
    }

    @Test func connectTimeoutInTheUserStringWins() throws {
        let (fd, port) = try silentListener()
        defer { close(fd) }
        let started = SystemClock.shared.nowMilliseconds
        #expect(throws: PostgresError.self) {
            _ = try PostgresConnection(conninfo: "postgresql://u@127.0.0.1:\(port)/d?connect_timeout=2",
                                       connectTimeout: 120)
        }
        #expect(SystemClock.shared.nowMilliseconds - started < 8_000)
    }

    @Test func badPasswordFailsWithoutShowingIt() throws {
        let cluster = try TestPostgres.cluster()
        let url = try TestPostgres.freshDatabase("password")
        let admin = try PostgresConnection(conninfo: url)
        let role = "pw_user_\(getpid())"
        try admin.execute("CREATE ROLE \(try admin.quoteIdentifier(role)) LOGIN PASSWORD 'right horse'")
        // Password auth for this one role only; every other test keeps trust.
        let hba = cluster.dataDirectory + "/pg_hba.conf"
        let rule = "host all \(role) 127.0.0.1/32 scram-sha-256\n"
        try prepend(rule, to: hba)
        try admin.execute("SELECT pg_reload_conf()")

        let port = cluster.port
        let wrong = "postgresql://\(role):battery%20staple@127.0.0.1:\(port)/postgres"
        do {
            _ = try PostgresConnection(conninfo: wrong)
            Issue.record("a wrong password was accepted")
        } catch let error as PostgresError {
            #expect(error.description.contains("password authentication failed"))
            #expect(error.description.contains("\(role):***@"))
            #expect(!error.description.contains("battery"))
            #expect(error.target == "postgresql://\(role):***@127.0.0.1:\(port)/postgres")
        }
        let right = try PostgresConnection(conninfo: "host=127.0.0.1 port=\(port) dbname=postgres "
                                           + "user=\(role) password='right horse'")
        #expect(try right.query("SELECT current_user").scalar == role)
        #expect(right.target.contains("password=***"))
        #expect(!right.target.contains("horse"))
    }

    private func prepend(_ text: String, to path: String) throws {
        let file = try #require(fopen(path, "r"))
        var existing: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count == 0 { break }
            existing += chunk[0..<count]
        }
        fclose(file)
        let output = try #require(fopen(path, "w"))
        let bytes = Array(text.utf8) + existing
        #expect(fwrite(bytes, 1, bytes.count, output) == bytes.count)
        fclose(output)
    }

    @Test func parametersRoundTripIncludingNullAndUnicode() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("params"))
        let values: [String?] = ["héllo 😀 中文", nil, "42", "", "tab\tnew\nline \\ 'quote' \"dq\""]
        let result = try connection.query(
            "SELECT $1::text AS a, $2::text AS b, $3::int AS c, $4::text AS d, $5::text AS e", values)
        #expect(result.columnNames == ["a", "b", "c", "d", "e"])
        #expect(result.columnTypes == [25, 25, 23, 25, 25])
        #expect(result.count == 1)
        #expect(result.rows[0].values == values)
        #expect(result.rows[0]["a"] == "héllo 😀 中文")
        #expect(result.rows[0]["b"] == nil)
        #expect(result.rows[0].has(column: "b"))
        #expect(!result.rows[0].has(column: "zz"))
        #expect(result.column("c") == ["42"])
        #expect(result.commandTag == "SELECT 1")
    }

    @Test func executeReportsRowsAffected() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("execute"))
        try connection.executeScript("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE INDEX ON t (v);")
        let inserted = try connection.execute("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 5) g")
        #expect(inserted.commandTag == "INSERT 0 5")
        #expect(inserted.rowsAffected == 5)
        let updated = try connection.execute("UPDATE t SET v = $1 WHERE id > $2", ["x", "3"])
        #expect(updated.rowsAffected == 2)
        #expect(try connection.execute("CREATE TABLE u (a int)").rowsAffected == nil)
        #expect(try connection.query("SELECT count(*) FROM t WHERE v = 'x'").scalar == "2")
    }

    @Test func uniqueViolationCarriesAllFields() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("unique"))
        try connection.execute("CREATE TABLE items (id int CONSTRAINT items_pk PRIMARY KEY)")
        try connection.execute("INSERT INTO items VALUES (1)")
        do {
            try connection.execute("INSERT INTO items VALUES ($1)", ["1"])
            Issue.record("duplicate accepted")
        } catch let error as PostgresError {
            #expect(error.sqlState == "23505")
            #expect(error.severity == "ERROR")
            #expect(error.message == #"duplicate key value violates unique constraint "items_pk""#)
            #expect(error.detail == "Key (id)=(1) already exists.")
            #expect(error.constraintName == "items_pk")
            #expect(error.tableName == "items")
            #expect(error.schemaName == "public")
            #expect(!error.isTransient)
            #expect(error.description == #"ERROR 23505: duplicate key value violates unique constraint "items_pk" (DETAIL: Key (id)=(1) already exists.)"#)
        }
        #expect(try connection.query("SELECT count(*) FROM items").scalar == "1")
    }

    @Test func invalidInputCarriesSQLStateHintAndPosition() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("invalid"))
        do {
            _ = try connection.query("SELECT $1::int", ["abc"])
            Issue.record("'abc' became an int")
        } catch let error as PostgresError {
            #expect(error.sqlState == "22P02")
            #expect(error.message == #"invalid input syntax for type integer: "abc""#)
            #expect(error.description.hasPrefix(#"ERROR 22P02: invalid input syntax for type integer: "abc""#))
        }
        do {
            _ = try connection.query("SELECT no_such_function(1)")
            Issue.record("unknown function accepted")
        } catch let error as PostgresError {
            #expect(error.sqlState == "42883")
            #expect(error.hint != nil)
            #expect(error.statementPosition == 8)
            #expect(error.description.contains("(HINT: No function matches"))
            #expect(error.description.contains("POSITION: 8"))
        }
        do {
            _ = try connection.query("SELECT 1 FROM")
            Issue.record("syntax error accepted")
        } catch let error as PostgresError {
            #expect(error.sqlState == "42601")
            #expect(error.statementPosition == 14)
        }
        #expect(try connection.query("SELECT 'still usable'").scalar == "still usable")
    }

    @Test func rejectsNulBytesInsteadOfTruncating() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("nul"))
        #expect(throws: PostgresError.self) { try connection.query("SELECT $1::text", ["a\u{0}b"]) }
        #expect(throws: PostgresError.self) { try connection.quoteIdentifier("a\u{0}b") }
    }

    @Test func transactionCommitsOrRollsBack() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("tx"))
        try connection.execute("CREATE TABLE t (v text)")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try connection.transaction {
                try connection.execute("INSERT INTO t VALUES ('rolled back')")
                throw Boom()
            }
        }
        #expect(connection.transactionStatus == .idle)
        let answer = try connection.transaction { () -> Int in
            try connection.execute("INSERT INTO t VALUES ('kept')")
            return 7
        }
        #expect(answer == 7)
        #expect(throws: PostgresError.self) {
            try connection.transaction {
                try connection.execute("INSERT INTO t VALUES ('also rolled back')")
                try connection.execute("INSERT INTO t VALUES ($1::int::text)", ["not a number"])
            }
        }
        #expect(connection.transactionStatus == .idle)
        #expect(try connection.query("SELECT v FROM t ORDER BY v").column("v") == ["kept"])
    }

    @Test func savepointsUndoOnlyTheirPart() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("savepoint"))
        try connection.execute("CREATE TABLE t (v text)")
        try connection.transaction {
            try connection.execute("INSERT INTO t VALUES ('a')")
            do {
                try connection.savepoint("Sp 1") {
                    try connection.execute("INSERT INTO t VALUES ('b')")
                    try connection.execute("SELECT 1/0")
                }
                Issue.record("division by zero passed")
            } catch let error as PostgresError {
                #expect(error.sqlState == "22012")
            }
            // A nested transaction() becomes a savepoint too.
            _ = try? connection.transaction {
                try connection.execute("INSERT INTO t VALUES ('c')")
                throw PostgresError(message: "undo c")
            }
            try connection.execute("INSERT INTO t VALUES ('d')")
        }
        #expect(try connection.query("SELECT v FROM t ORDER BY v").column("v") == ["a", "d"])
    }

    @Test func rawBeginCommitRollback() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("raw"))
        try connection.execute("CREATE TABLE t (v int)")
        try connection.begin()
        #expect(connection.transactionStatus == .inTransaction)
        try connection.execute("INSERT INTO t VALUES (1)")
        try connection.rollback()
        try connection.begin()
        try connection.execute("INSERT INTO t VALUES (2)")
        _ = try? connection.execute("SELECT 1/0")
        #expect(connection.transactionStatus == .inFailedTransaction)
        try connection.rollback()
        try connection.begin()
        try connection.execute("INSERT INTO t VALUES (3)")
        try connection.commit()
        #expect(try connection.query("SELECT v FROM t").column("v") == ["3"])
    }

    @Test func quotesQualifiedNamesExactly() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("names"))
        let table = try QualifiedName.parse(#""My.Schema"."Ta""ble""#)
        #expect(try table.sql(on: connection) == #""My.Schema"."Ta""ble""#)
        #expect(try QualifiedName.parse("MyCoolTable").sql(on: connection) == #""MyCoolTable""#)
        try connection.execute("CREATE SCHEMA \(try connection.quoteIdentifier("My.Schema"))")
        try connection.execute("CREATE TABLE \(try table.sql(on: connection)) (v int)")
        try connection.execute("INSERT INTO \(try table.sql(on: connection)) VALUES (1)")
        let found = try connection.query(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = $1", ["My.Schema"])
        #expect(found.rows.first?.values == ["My.Schema", #"Ta"ble"#])
    }

    @Test func executeScriptRunsSeveralStatements() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("script"))
        try connection.executeScript("""
            CREATE TABLE a (v int);
            INSERT INTO a VALUES (1), (2);
            CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql AS $$ SELECT x * 2 $$;
            """)
        #expect(try connection.query("SELECT sum(twice(v)) FROM a").scalar == "6")
        #expect(throws: PostgresError.self) { try connection.executeScript("SELECT 1; SELECT nope;") }
    }

    @Test func copyThroughQueryIsRefusedAndConnectionSurvives() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("copymisuse"))
        try connection.execute("CREATE TABLE t (v int)")
        #expect(throws: PostgresError.self) { try connection.query("COPY t FROM STDIN") }
        #expect(throws: PostgresError.self) { try connection.query("COPY (SELECT 1) TO STDOUT") }
        #expect(try connection.query("SELECT 5").scalar == "5")
    }

    @Test func lostConnectionIsRecognisedAndReconnects() throws {
        let url = try TestPostgres.freshDatabase("lost")
        let victim = try PostgresConnection(conninfo: url)
        let killer = try PostgresConnection(conninfo: url)
        try killer.execute("SELECT pg_terminate_backend($1)", [String(victim.backendPID)])
        do {
            _ = try victim.query("SELECT 1")
            Issue.record("query on a terminated connection succeeded")
        } catch let error as PostgresError {
            #expect(error.isTransient, "\(error)")
        }
        #expect(!victim.isConnected)
        try victim.reconnect()
        #expect(try victim.query("SELECT 2").scalar == "2")
    }
}
