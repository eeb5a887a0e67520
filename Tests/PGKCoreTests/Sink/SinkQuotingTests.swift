import Foundation
import Testing
@testable import PGKCore

/// Names that arrive in messages (field names, hence column names) and
/// odd table names cannot break out of pgk's SQL, even on a server where
/// `standard_conforming_strings` is off and `\` escapes plain literals.
@Suite struct SinkQuotingTests {
    typealias S = SinkTestSupport

    @Test func literalsQuoteAsPQescapeLiteral() {
        #expect(SinkStatements.literal("it's") == "'it''s'")
        #expect(SinkStatements.literal("a\\b'c") == "E'a\\\\b''c'")
        #expect(SinkStatements.literal("$$") == "'$$'")
    }

    @Test func hostileFieldAndTableNamesStayNames() throws {
        let url = try TestPostgres.freshDatabase("sink-quoting")
        let db = try PostgresConnection(conninfo: url)
        let name = try #require(try db.query("SELECT current_database()").scalar)
        try db.execute("ALTER DATABASE \(try db.quoteIdentifier(name)) SET standard_conforming_strings = off")
        try db.execute("ALTER DATABASE \(try db.quoteIdentifier(name)) SET escape_string_warning = off")
        try db.execute("CREATE TABLE victim (id int)")
        // A fresh session sees the database default.
        #expect(try PostgresConnection.rawSetting(url, "standard_conforming_strings") == "off")

        let fields = ["a'b", "c\\d", "e\"f", "g;h", "i$$j", "k\\'); DROP TABLE victim; --", "l\\"]
        var object: [(String, Value)] = []
        for (index, field) in fields.enumerated() { object.append((field, .int(Int64(index)))) }
        let line = JSON.encode(.object(ValueObject(object)))
        let file = try S.temporaryFile("hostile.ndjson", contents: line + "\n")
        let table = "we'ird\"; $$t\\"
        let quotedTable = "\"" + table.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        let run = try S.sink(nil, url, ["--from-file", file, "--table", quotedTable, "--map", "columns", "--evolve"])
        #expect(run.status == 0, "\(run.stderr)")

        let columns = try S.rows(url, """
            SELECT attname FROM pg_attribute WHERE attrelid = '\(quotedTable.replacingOccurrences(of: "'", with: "''"))'::regclass
            AND attnum > 0 AND NOT attisdropped ORDER BY attnum
            """).compactMap { $0.first ?? nil }
        for field in fields { #expect(columns.contains(field), "column \(field) missing from \(columns)") }
        let stored = try S.rows(url, "SELECT row_to_json(t)::text FROM \(quotedTable) t")
        let row = try JSON.decode(try #require(stored.first?.first ?? nil))
        for (index, field) in fields.enumerated() { #expect(row[field] == .int(Int64(index)), "\(field): \(row)") }
        #expect(try S.scalar(url, "SELECT to_regclass('victim') IS NOT NULL") == "t")
    }
}

extension PostgresConnection {
    /// A setting as a new session sees it, before pgk's own session settings.
    static func rawSetting(_ url: String, _ name: String) throws -> String? {
        let connection = try PostgresConnection(conninfo: url)
        return try connection.query("SELECT reset_val FROM pg_settings WHERE name = $1", [name]).scalar
    }
}
