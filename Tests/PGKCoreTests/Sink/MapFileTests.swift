import Foundation
import Testing
@testable import PGKCore

@Suite struct MapFileTests {
    static func parse(_ text: String) throws -> SinkMap {
        try MapFile.parse(text, path: "test.yaml", name: "test")
    }

    static func failure(_ text: String) -> MapFileError? {
        do {
            _ = try parse(text)
            return nil
        } catch let error as MapFileError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func readsADeclaredMap() throws {
        let map = try Self.parse("""
            description: things
            columns:
              - name: id
                type: bigint
                identity: true
                primary_key: true
              - name: name
                type: text
                default: "''"
                not_null: true
                index: true
                expression: value->>'name'
              - name: shape
                type: jsonb
                index: gin
                expression: value->'shape'
            unique: [[name]]
            conflict: name
            checks:
              - name: named
                expression: value ? 'name'
            filter: value->>'kind' = 'thing'
            """)
        #expect(map.columns.map(\.name) == ["id", "name", "shape"])
        #expect(map.columns[0].identity && map.columns[0].primaryKey && map.columns[0].expression == nil)
        #expect(map.columns[1] == MapColumn(name: "name", type: "text", expression: "value->>'name'", defaultValue: "''", notNull: true))
        #expect(map.indexes == [MapIndex(columns: ["name"]), MapIndex(columns: ["shape"], method: "gin")])
        #expect(map.uniques == [["name"]] && map.conflict == ["name"])
        #expect(map.checks == [MapCheck(name: "named", expression: "value ? 'name'")])
        #expect(map.filter == "value->>'kind' = 'thing'")
        #expect(map.writtenColumns.map(\.name) == ["name", "shape"])
    }

    @Test func strictErrorsSayWhere() {
        let unknown = Self.failure("""
            columns:
              - name: a
                typ: text
            """)
        #expect(unknown?.line == 3 && unknown?.description.contains("unknown key 'typ'") == true)
        #expect(unknown?.description.contains("did you mean 'type'") == true)
        #expect(unknown?.description.hasPrefix("map test.yaml:3:") == true)
        let untyped = Self.failure("columns:\n  - name: a\n    expression: key\n")
        #expect(untyped?.description.contains("column 'a' has no type") == true && untyped?.line == 2)
        #expect(Self.failure("columns:\n  - {name: a, type: text, expression: key}\nconflict: [b]\n")?
            .description.contains("names column 'b'") == true)
        #expect(Self.failure("columns:\n  - {name: a, type: text, expression: key}\nconflict: [a]\n")?
            .description.contains("needs a matching unique constraint") == true)
        #expect(Self.failure("columns:\n  - {name: a, type: text}\n")?.description.contains("nothing would be written") == true)
        #expect(Self.failure("columns: [\n")?.description.contains("invalid YAML") == true)
        #expect(Self.failure("columns:\n  - {name: a, type: text, expression: key, index: \"x; drop\"}\n")?
            .description.contains("not a plain name") == true)
        #expect(Self.failure("colums: []\n")?.description.contains("did you mean 'columns'") == true)
    }

    @Test func shippedExamplesParse() throws {
        let geography = try MapFile.load(path: RepositoryPaths.path("maps/examples/NamedGenericGeography.yaml"))
        #expect(geography.name == "NamedGenericGeography")
        #expect(geography.conflict == ["name", "time"] && geography.uniques == [["name", "time"]])
        #expect(geography.column(named: "geom")?.type == "geography(Geometry, 4326)")
        #expect(geography.indexes.contains(MapIndex(columns: ["geom"], method: "gist")))
        let string = try MapFile.load(path: RepositoryPaths.path("maps/examples/StringMap.yaml"))
        #expect(string.writtenColumns.map(\.name) == ["key", "payload"])
    }

    @Test func locatorFindsBuiltinsThenFilesOnTheSearchPath() throws {
        #expect(try MapLocator.resolve("JsonMap", environment: [:]).name == "json")
        #expect(try MapLocator.resolve("StringMap", environment: [:]).column(named: "payload")?.type == "text")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgk-maps-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "columns:\n  - {name: a, type: text, expression: key}\n".write(
            to: directory.appendingPathComponent("mine.yaml"), atomically: true, encoding: .utf8)
        let found = try MapLocator.resolve("mine", environment: ["PGK_MAPS_PATH": "/nonexistent:\(directory.path)"])
        #expect(found.origin.hasSuffix("mine.yaml") && found.name == "mine")
        #expect(throws: UsageError.self) { try MapLocator.resolve("nothere", environment: ["PGK_MAPS_PATH": directory.path]) }
    }
}

@Suite struct SinkStatementsTests {
    static func quote(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    static func statements(mode: SinkMode, keys: [String] = ["id"], checks: [MapCheck] = [], filter: String? = nil,
                           tombstones: TombstonePolicy = .delete) throws -> SinkStatements {
        let plan = SinkPlan(
            table: QualifiedName(schema: "S", name: "T.x"),
            written: [.init(column: "id", type: "bigint", expression: "value->>'id'"),
                      .init(column: "name", type: "text", expression: "value->>'name'")],
            keys: keys.map { .init(column: $0, type: "bigint") }, mode: mode, checks: checks, filter: filter,
            tombstones: tombstones)
        return try SinkStatements(plan: plan, quote: quote)
    }

    @Test func insertUpsertIgnoreAndUpdate() throws {
        let insert = try Self.statements(mode: .insert, keys: [])
        #expect(insert.tableSQL == "\"S\".\"T.x\"")
        #expect(insert.write(compact: false, tombstones: false) == "INSERT INTO \"S\".\"T.x\" (\"id\", \"name\") SELECT "
            + "CAST((value->>'id') AS bigint), CAST((value->>'name') AS text) FROM pg_temp.pgk_staging "
            + "WHERE ord >= $1 AND ord < $2 AND value IS NOT NULL")
        #expect(insert.deleteTombstoned == nil && insert.screen == nil)
        let upsert = try Self.statements(mode: .upsert)
        #expect(upsert.write(compact: false, tombstones: false).hasSuffix(
            "ON CONFLICT (\"id\") DO UPDATE SET \"name\" = EXCLUDED.\"name\""))
        let compacted = upsert.write(compact: true, tombstones: true)
        #expect(compacted.contains("SELECT DISTINCT ON (\"id\") * FROM m ORDER BY \"id\", pgk_ord__ DESC"))
        #expect(compacted.contains("WHERE NOT EXISTS (SELECT 1 FROM pg_temp.pgk_staging x WHERE x.ord >= $1"))
        #expect(compacted.contains("x.ord > d.pgk_ord__"))
        #expect(try Self.statements(mode: .ignore).write(compact: false, tombstones: false).hasSuffix("ON CONFLICT (\"id\") DO NOTHING"))
        #expect(try Self.statements(mode: .ignore, keys: []).write(compact: false, tombstones: false).hasSuffix("ON CONFLICT DO NOTHING"))
        let update = try Self.statements(mode: .update).write(compact: false, tombstones: false)
        #expect(update.contains("UPDATE \"S\".\"T.x\" AS t SET \"name\" = d.\"name\" FROM d WHERE t.\"id\" = d.\"id\""))
        #expect(update.contains("DISTINCT ON"))
    }

    @Test func tombstonesMatchKeyFieldsOrTheWholeKey() throws {
        let one = try Self.statements(mode: .upsert).deleteTombstoned!
        #expect(one.contains("CAST((CASE WHEN x.key_is_object THEN (x.key::jsonb ->> 'id') ELSE x.key END) AS bigint)"))
        #expect(one.hasPrefix("DELETE FROM \"S\".\"T.x\" AS t USING (SELECT DISTINCT"))
        let two = try Self.statements(mode: .upsert, keys: ["id", "name"]).deleteTombstoned!
        #expect(two.contains("ELSE NULL END"))
        #expect(try Self.statements(mode: .upsert, tombstones: .skip).deleteTombstoned == nil)
    }

    @Test func screeningReturnsFilteredAndFailedChecks() throws {
        let statements = try Self.statements(mode: .insert, keys: [], checks: [MapCheck(name: "c1", expression: "value ? 'id'")],
                                             filter: "value->>'kind' = 'a'")
        #expect(statements.screen == "DELETE FROM pg_temp.pgk_staging WHERE ord >= $1 AND ord < $2 AND value IS NOT NULL "
            + "AND NOT (coalesce((value->>'kind' = 'a'), false) AND coalesce((value ? 'id'), false)) RETURNING ord, CASE "
            + "WHEN NOT coalesce((value->>'kind' = 'a'), false) THEN NULL WHEN NOT coalesce((value ? 'id'), false) THEN 1 "
            + "END AS failed_check")
        #expect(SinkStatements.literal("it's") == "'it''s'")
        #expect(PostgresTextArray.literal(["a", "b\"c", "d\\e"]) == "{\"a\",\"b\\\"c\",\"d\\\\e\"}")
    }

    @Test func tableDDLAddsTheConflictConstraint() throws {
        let map = SinkMap(name: "m", origin: "test",
                          columns: [MapColumn(name: "id", type: "bigint", identity: true), MapColumn(name: "k", type: "text", expression: "key")],
                          indexes: [MapIndex(columns: ["k"], method: "hash")])
        let ddl = TableDDL.createTable("\"t\"", map: map, conflict: ["k"], nullsNotDistinct: true, quote: Self.quote)
        #expect(ddl == ["CREATE TABLE IF NOT EXISTS \"t\" (\n    \"id\" bigint GENERATED BY DEFAULT AS IDENTITY,\n    \"k\" text,\n"
                        + "    UNIQUE NULLS NOT DISTINCT (\"k\")\n)", "CREATE INDEX ON \"t\" USING hash (\"k\")"])
        #expect(ColumnsLayout.inferredType(kinds: ["number"], integral: true) == "bigint")
        #expect(ColumnsLayout.inferredType(kinds: ["number"], integral: false) == "double precision")
        #expect(ColumnsLayout.inferredType(kinds: ["number", "string"], integral: true) == "jsonb")
        #expect(ColumnsLayout.inferredType(kinds: [], integral: true) == "text")
        let avro = ColumnsLayout.avroColumns(schemaJSON: #"""
            {"type":"record","name":"R","fields":[{"name":"a","type":["null","long"]},
             {"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},
             {"name":"d","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
             {"name":"e","type":{"type":"enum","name":"E","symbols":["X"]}},{"name":"m","type":{"type":"map","values":"int"}}]}
            """#)
        #expect(avro?.map(\.type) == ["bigint", "timestamptz", "numeric(9, 2)", "text", "jsonb"])
    }
}
