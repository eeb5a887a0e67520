import Testing
@testable import PGKCore

/// Struct fields selected without AS are named as ksqlDB's alias
/// generator names them.
@Suite struct StructFieldAliasesTests {
    @Test func aFieldIsNamedAfterItselfUnlessASourceColumnOrEarlierFieldHasThatName() {
        var aliases = StructFieldAliases(sourceColumns: ["ID", "ITEMID", "ADDRESS", "COL_1"])
        #expect(aliases.name(for: "STREET") == "STREET")
        #expect(aliases.name(for: "ITEMID") == "ITEMID_1")   // the source's ITEMID column
        #expect(aliases.name(for: "STREET") == "STREET_1")   // an earlier field
        #expect(aliases.name(for: "ITEMID") == "ITEMID_2")
        // COL_1 takes only the first number after COL; a field named COL_5 is COL then.
        #expect(aliases.name(for: "COL") == "COL")
        #expect(aliases.name(for: "COL_5") == "COL_2")
    }

    @Test func onlyATrailingUnderscoreAndDigitsIsANumber() {
        #expect(StructFieldAliases.split("NAME_26") == ("NAME", 26))
        #expect(StructFieldAliases.split("ITEM_ID") == ("ITEM_ID", 0))
        #expect(StructFieldAliases.split("A_1_2") == ("A_1", 2))
        #expect(StructFieldAliases.split("NAME_") == ("NAME_", 0))
        #expect(StructFieldAliases.split("PLAIN") == ("PLAIN", 0))
    }

    /// In a statement: TOWN, then TOWN_1 for the second, and ID_1 for a field the source also has as a column.
    @Test func createdQueriesNameTheirFieldsSo() throws {
        let fx = try SQLCommandTests.Fixture("sql-field-aliases")
        let created = try fx.sql(["-e", """
            CREATE STREAM people (id STRING KEY, home STRUCT<town STRING, id INT>, work STRUCT<town STRING>)
              WITH (KAFKA_TOPIC='people', VALUE_FORMAT='JSON', PARTITIONS=1);
            CREATE STREAM towns AS SELECT id, home->town, work->town, home->id FROM people;
            DESCRIBE towns;
            """])
        #expect(created.status == 0, "\(created.stderr)")
        for name in ["TOWN ", "TOWN_1", "ID_1"] {
            #expect(created.stdout.contains(name), "\(name) missing: \(created.stdout)")
        }
    }
}
