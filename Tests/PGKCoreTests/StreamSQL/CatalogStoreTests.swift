import Testing
@testable import PGKCore

/// The catalog's own tables, as `pgk sql` creates and upgrades them.
@Suite struct CatalogStoreTests {
    /// A catalog made by an earlier pgk queued its changelog as jsonb;
    /// preparing it turns the outbox into JSON text and keeps its rows.
    @Test func preparingAnOlderCatalogTurnsTheOutboxIntoJSONText() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("sql-catalog"))
        try CatalogStore(connection: connection, schema: "pgk_sql").prepare()
        func valueType() throws -> String? {
            try connection.query("SELECT format_type(atttypid, NULL) FROM pg_attribute "
                + "WHERE attrelid = 'pgk_sql.changelog'::regclass AND attname = 'value'").scalar
        }
        #expect(try valueType() == "json")
        try connection.execute("ALTER TABLE pgk_sql.changelog ALTER COLUMN key TYPE jsonb, ALTER COLUMN value TYPE jsonb")
        try connection.execute("""
            INSERT INTO pgk_sql.changelog (query_id, topic, key, value, ts) VALUES ('Q', 'T', '{"K": 1}', '{"K": 1, "N": 2.50}', 7)
            """)
        try CatalogStore(connection: connection, schema: "pgk_sql").prepare()
        #expect(try valueType() == "json")
        let row = try connection.query("SELECT key::text, value::text, ts FROM pgk_sql.changelog").rows
        #expect(row.count == 1)
        #expect(try row.first.map { [try JSON.decode($0[0]!), try JSON.decode($0[1]!)] }
            == [try JSON.decode(#"{"K":1}"#), try JSON.decode(#"{"K":1,"N":2.50}"#)])
        #expect(row.first?[2] == "7")
    }
}
