import Testing
@testable import PGKCore

@Suite struct PostgresCopyTests {
    private func connection(_ label: String) throws -> PostgresConnection {
        try PostgresConnection(conninfo: try TestPostgres.freshDatabase(label))
    }

    @Test func nastyStringsRoundTripThroughCopyInAndOut() throws {
        let db = try connection("copyroundtrip")
        try db.execute("CREATE TABLE t (id int, a text, b text, c text)")
        let rows = CopyTextFormatTests.nastyRows
        let copy = try db.copyIn(sql: "COPY t (id, a, b, c) FROM STDIN")
        for (index, row) in rows.enumerated() {
            copy.append(field: String(index))
            for field in row { copy.append(field: field) }
            try copy.endRow()
        }
        #expect(try copy.finish() == rows.count)

        // What the server stored, read back as plain query results…
        let stored = try db.query("SELECT a, b, c FROM t ORDER BY id")
        #expect(stored.rows.map(\.values) == rows)
        #expect(try db.query("SELECT count(*) FROM t WHERE a IS NULL").scalar == "1")
        #expect(try db.query("SELECT count(*) FROM t WHERE a = ''").scalar == "1")
        #expect(try db.query(#"SELECT count(*) FROM t WHERE a = '\N'"#).scalar == "1")

        // …and through COPY OUT and the decoder.
        var decoded: [[String?]] = []
        let count = try db.copyOut(sql: "COPY (SELECT a, b, c FROM t ORDER BY id) TO STDOUT") { line in
            #expect(line.last == 10)
            decoded.append(try CopyTextDecoder.decodeRow(line))
        }
        #expect(count == rows.count)
        #expect(decoded == rows)
    }

    @Test func largeStreamsFlushInChunks() throws {
        let db = try connection("copylarge")
        try db.execute("CREATE TABLE t (id int PRIMARY KEY, payload text)")
        let payload = String(repeating: "x\ty\\z", count: 40)
        let copy = try db.copyIn(into: QualifiedName(name: "t"), columns: ["id", "payload"])
        let rowCount = 50_000 // ~10 MB: dozens of 256 KiB flushes
        for id in 0..<rowCount {
            try copy.appendRow([String(id), payload])
        }
        #expect(copy.rowsAppended == rowCount)
        #expect(try copy.finish() == rowCount)
        let check = try db.query("SELECT count(*), count(DISTINCT payload), min(payload) FROM t")
        #expect(check.rows[0].values == [String(rowCount), "1", payload])
    }

    @Test func badValueMidStreamSurfacesWithContextAndConnectionSurvives() throws {
        let db = try connection("copyerror")
        try db.execute("CREATE TABLE numbers (id int, v int)")
        let copy = try db.copyIn(sql: "COPY numbers (id, v) FROM STDIN")
        try copy.appendRow(["1", "10"])
        try copy.appendRow(["2", "20"])
        try copy.appendRow(["3", "thirty"])
        try copy.appendRow(["4", "40"])
        do {
            try copy.finish()
            Issue.record("COPY accepted 'thirty' as an int")
        } catch let error as PostgresError {
            #expect(error.sqlState == "22P02")
            #expect(error.context?.contains("line 3") == true, "\(error)")
            #expect(error.context?.contains("column v") == true, "\(error)")
            #expect(error.description.contains("CONTEXT: COPY numbers, line 3, column v"))
            #expect(!error.isTransient)
        }
        #expect(db.transactionStatus == .idle)
        #expect(try db.query("SELECT count(*) FROM numbers").scalar == "0")
        // The next COPY on the same connection works.
        let again = try db.copyIn(sql: "COPY numbers (id, v) FROM STDIN")
        try again.appendRow(["5", "50"])
        #expect(try again.finish() == 1)
    }

    @Test func errorAfterManyFlushesStillSurfaces() throws {
        let db = try connection("copylateerror")
        try db.execute("CREATE TABLE t (v int)")
        let copy = try db.copyIn(sql: "COPY t FROM STDIN")
        for value in 0..<200_000 { try copy.appendRow([value == 150_000 ? "oops" : String(value)]) }
        #expect(throws: PostgresError.self) { try copy.finish() }
        #expect(try db.query("SELECT count(*) FROM t").scalar == "0")
    }

    @Test func abortDiscardsEverythingAndConnectionSurvives() throws {
        let db = try connection("copyabort")
        try db.execute("CREATE TABLE t (v text)")
        let copy = try db.copyIn(sql: "COPY t FROM STDIN")
        for value in 0..<30_000 { try copy.appendRow(["row \(value)"]) }
        try copy.abort(reason: "test changed its mind")
        #expect(throws: PostgresError.self) { try copy.finish() }
        #expect(try db.query("SELECT count(*) FROM t").scalar == "0")
        #expect(db.transactionStatus == .idle)
    }

    @Test func abandonedCopyIsAbortedOnDeinit() throws {
        let db = try connection("copyabandon")
        try db.execute("CREATE TABLE t (v text)")
        do {
            let copy = try db.copyIn(sql: "COPY t FROM STDIN")
            try copy.appendRow(["never stored"])
            try copy.flush()
        }
        #expect(try db.query("SELECT count(*) FROM t").scalar == "0")
    }

    @Test func copyInsideATransactionRollsBack() throws {
        let db = try connection("copytx")
        try db.execute("CREATE TABLE t (v int)")
        struct Undo: Error {}
        #expect(throws: Undo.self) {
            try db.transaction {
                let copy = try db.copyIn(sql: "COPY t FROM STDIN")
                try copy.appendRow(["1"])
                #expect(try copy.finish() == 1)
                #expect(try db.query("SELECT count(*) FROM t").scalar == "1")
                throw Undo()
            }
        }
        #expect(try db.query("SELECT count(*) FROM t").scalar == "0")
    }

    @Test func copyInQuotesTableAndColumnNames() throws {
        let db = try connection("copynames")
        try db.execute(#"CREATE SCHEMA "Odd.Schema""#)
        try db.execute(#"CREATE TABLE "Odd.Schema"."My""Table" ("Id" int, "the value" text)"#)
        let table = try QualifiedName.parse(#""Odd.Schema"."My""Table""#)
        let copy = try db.copyIn(into: table, columns: ["Id", "the value"])
        try copy.appendRow(["1", "one"])
        #expect(try copy.finish() == 1)
        #expect(try db.query(#"SELECT "the value" FROM "Odd.Schema"."My""Table""#).scalar == "one")
        #expect(throws: PostgresError.self) { try db.copyIn(into: table, columns: ["id"]) }
        #expect(try db.query("SELECT 1").scalar == "1")
    }

    @Test func copyInRejectsOtherStatements() throws {
        let db = try connection("copywrong")
        #expect(throws: PostgresError.self) { try db.copyIn(sql: "SELECT 1") }
        #expect(throws: PostgresError.self) { try db.copyIn(sql: "COPY (SELECT 1) TO STDOUT") }
        #expect(throws: PostgresError.self) { try db.copyIn(sql: "COPY no_such_table FROM STDIN") }
        #expect(throws: PostgresError.self) { try db.copyOut(sql: "SELECT 1") { _ in } }
        #expect(try db.query("SELECT 'ok'").scalar == "ok")
    }

    @Test func copyOutStopsWhenTheCallbackThrows() throws {
        let db = try connection("copyoutstop")
        struct Enough: Error {}
        var seen = 0
        #expect(throws: Enough.self) {
            try db.copyOut(sql: "COPY (SELECT g, repeat('x', 100) FROM generate_series(1, 2000000) g) TO STDOUT") { _ in
                seen += 1
                if seen == 10 { throw Enough() }
            }
        }
        #expect(seen == 10)
        #expect(db.transactionStatus == .idle)
        #expect(try db.query("SELECT 'after'").scalar == "after")
    }

    @Test func copyOutErrorsSurface() throws {
        let db = try connection("copyouterror")
        do {
            try db.copyOut(sql: "COPY (SELECT 1 / (g - 3) FROM generate_series(1, 5) g) TO STDOUT") { _ in }
            Issue.record("division by zero during COPY OUT went unnoticed")
        } catch let error as PostgresError {
            #expect(error.sqlState == "22012")
        }
        #expect(try db.query("SELECT 'after'").scalar == "after")
    }
}
