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

    /// A batch's next offsets go in with one statement; a later batch's replace them.
    @Test func nextOffsetsAreStoredPerQueryAndReplaced() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("sql-offsets"))
        let store = try CatalogStore(connection: connection, schema: "pgk_sql")
        try store.prepare()
        let p0 = KafkaTopicPartition(topic: "a\"b", partition: 0), p1 = KafkaTopicPartition(topic: "t", partition: 15)
        try store.storeOffsets(query: "Q1", [p0: 5, p1: 9_000_000_000])
        try store.storeOffsets(query: "Q2", [p0: 1])
        try store.storeOffsets(query: "Q1", [p1: 9_000_000_001])
        try store.storeOffsets(query: "Q1", [:])
        #expect(try store.offsets(query: "Q1") == [p0: 5, p1: 9_000_000_001])
        #expect(try store.offsets(query: "Q2") == [p0: 1])
    }

    /// A query's connection gets 64MB of work_mem where PostgreSQL's
    /// built-in 4MB is in force, and keeps what anyone else set.
    @Test func workMemIsRaisedOnlyFromTheDefault() throws {
        let conninfo = try TestPostgres.freshDatabase("sql-work-mem")
        let plain = try PostgresConnection(conninfo: conninfo)
        #expect(try plain.query("SHOW work_mem").scalar == "4MB")
        try CatalogStore(connection: plain, schema: "pgk_sql").prepareAggregates()
        #expect(try plain.query("SHOW work_mem").scalar == "64MB")
        let chosen = try PostgresConnection(conninfo: conninfo)
        try chosen.execute("SET work_mem = '8MB'")
        try CatalogStore(connection: chosen, schema: "pgk_sql").prepareAggregates()
        #expect(try chosen.query("SHOW work_mem").scalar == "8MB")
    }
}
