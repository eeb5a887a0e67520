import Foundation
import Testing
@testable import PGKCore

/// `pgk cdc wal` as users run it: the built binary, a real PostgreSQL with
/// wal_level=logical, and the mock Kafka cluster in this process.
@Suite struct WALStreamingTests {
    @Test func changesAcrossTablesAndTransactionsArriveInCommitOrder() throws {
        let fx = try WALFixture("order")
        defer { fx.close() }
        try fx.db.executeScript("""
            CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric(12,2));
            CREATE TABLE moves (id bigint PRIMARY KEY, account int, amount numeric(12,2));
            """)
        // One partition each: consumption order is production order.
        try fx.kafka.createTopic(fx.topic("accounts"), partitions: 1)
        try fx.kafka.createTopic(fx.topic("moves"), partitions: 1)
        try fx.setup("accounts,moves")
        try fx.db.executeScript("""
            BEGIN; INSERT INTO accounts VALUES (1, 'ann', 10), (2, 'bob', 20); INSERT INTO moves VALUES (1, 1, 10); COMMIT;
            BEGIN; UPDATE accounts SET balance = 15 WHERE id = 1; INSERT INTO moves VALUES (2, 1, 5); COMMIT;
            BEGIN; DELETE FROM moves WHERE id = 1; UPDATE accounts SET id = 3 WHERE id = 2; COMMIT;
            TRUNCATE moves;
            INSERT INTO moves VALUES (9, 3, 1.5);
            """)
        try fx.pgkOK("run", ["--snapshot", "never", "--exit-when-caught-up"])

        let accounts = try fx.messages(fx.topic("accounts"))
        let accountEvents = try accounts.map { try $0.value.map { try JSON.decode($0) } }
        #expect(accountEvents.map { $0?["op"] } == ["c", "c", "u", "u"])
        #expect(accountEvents[2]?[path: "after", "balance"] == "15.00" && accountEvents[2]?["before"] == .null)
        // The key changed: the old key arrives as the old row's identity.
        #expect(accountEvents[3]?["before"] == .object(ValueObject([("id", 2)])))
        #expect(accountEvents[3]?[path: "after", "id"] == 3)
        #expect(try JSON.decode(try #require(accounts[3].key)) == .object(ValueObject([("id", 3)])))

        let moves = try fx.messages(fx.topic("moves"))
        let moveOps = try moves.map { message -> String in
            guard let value = message.value else { return "tombstone" }
            return try JSON.decode(value)["op"]?.stringValue ?? "?"
        }
        #expect(moveOps == ["c", "c", "d", "tombstone", "t", "c"])
        #expect(moves[3].key == moves[2].key && moves[2].key != nil, "the tombstone has the deleted row's key")
        #expect(moves[4].key == nil, "a truncate has no key")

        // Transaction ids group events; LSNs grow in commit order.
        let all = try (accounts + moves).compactMap { try $0.value.map { try JSON.decode($0) } }
        let first = all.filter { $0[path: "source", "txId"] == accountEvents[0]?[path: "source", "txId"] }
        #expect(first.count == 3)
        let moveLSNs = try fx.events(fx.topic("moves")).compactMap { $0[path: "source", "lsn"]?.int64Value }
        #expect(moveLSNs == moveLSNs.sorted())
        #expect(try fx.slotConfirmed()! >= LSN(UInt64(moveLSNs.last!)), "the slot moved past what Kafka acknowledged")
    }

    @Test func mapsEveryCommonType() throws {
        let fx = try WALFixture("types")
        defer { fx.close() }
        try fx.db.executeScript("""
            CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
            CREATE DOMAIN positive AS int CHECK (VALUE > 0);
            CREATE TABLE everything (
                id int PRIMARY KEY, i2 int2, i8 int8, num numeric(20,6), f4 real, f8 float8, ok bool, t text,
                vc varchar(10), u uuid, j json, jb jsonb, ints int[], texts text[], grid int[][], ts timestamp,
                tstz timestamptz, d date, iv interval, b bytea, p point, m mood, moods mood[], dom positive,
                doms positive[], nan float8);
            """)
        try fx.setup("everything")
        try fx.db.execute("""
            INSERT INTO everything VALUES (1, -32768, 9223372036854775807, 12345678901234.123456, 1.5, 0.1, true,
              'a "quoted" line' || E'\\n' || 'two', 'short', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
              '{"k": [1, 2.50], "z": null}', '{"b": {"c": true}}', '{1,NULL,3}', '{"a,b","c\\"d",NULL,"NULL"}',
              '{{1,2},{3,4}}', '2024-02-29 23:59:59.999999', '2024-02-29 23:59:59+02', '2024-02-29',
              '1 year 2 months 3 days 04:05:06.5', '\\x00ff', '(1.5,-2)', 'happy', '{sad,happy}', 7, '{1,2}', 'NaN')
            """)
        try fx.db.execute("INSERT INTO everything (id) VALUES (2)")
        try fx.pgkOK("run", ["--snapshot", "never", "--exit-when-caught-up"])
        let events = try fx.events(fx.topic("everything")).sorted { ($0[path: "after", "id"]?.int64Value ?? 0) < ($1[path: "after", "id"]?.int64Value ?? 0) }
        try #require(events.count == 2)
        let after = try #require(events[0]["after"])
        let expected: [(String, Value)] = [
            ("id", 1), ("i2", -32768), ("i8", .int(.max)), ("num", "12345678901234.123456"), ("f4", 1.5), ("f8", 0.1),
            ("ok", true), ("t", "a \"quoted\" line\ntwo"), ("vc", "short"), ("u", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            ("j", .object(ValueObject([("k", [1, .double(2.5)]), ("z", .null)]))),
            ("jb", .object(ValueObject([("b", .object(ValueObject([("c", true)])))]))),
            ("ints", [1, .null, 3]), ("texts", ["a,b", "c\"d", .null, "NULL"]), ("grid", [[1, 2], [3, 4]]),
            ("ts", "2024-02-29T23:59:59.999999Z"), ("tstz", "2024-02-29T21:59:59Z"), ("d", "2024-02-29"),
            ("iv", "1 year 2 mons 3 days 04:05:06.5"), ("b", .string(Base64.encode([0, 255]))), ("p", "(1.5,-2)"),
            ("m", "happy"), ("moods", ["sad", "happy"]), ("dom", 7), ("doms", [1, 2]), ("nan", "NaN"),
        ]
        for (name, value) in expected {
            #expect(after[name] == value, "\(name): \(after[name].map { $0.jsonText } ?? "missing")")
        }
        let empty = try #require(events[1]["after"])
        guard case .object(let object) = empty else { Issue.record("after is not an object"); return }
        #expect(object.count == 26 && object.values.dropFirst().allSatisfy { $0 == .null })
    }

    @Test func replicaIdentityDefaultAndFull() throws {
        let fx = try WALFixture("identity")
        defer { fx.close() }
        try fx.db.executeScript("""
            CREATE TABLE plain (id int PRIMARY KEY, v text, w int);
            CREATE TABLE full_rows (id int PRIMARY KEY, v text, w int);
            ALTER TABLE full_rows REPLICA IDENTITY FULL;
            CREATE TABLE no_key (a int, b text);
            ALTER TABLE no_key REPLICA IDENTITY FULL;
            INSERT INTO plain VALUES (1, 'a', 1); INSERT INTO full_rows VALUES (1, 'a', 1); INSERT INTO no_key VALUES (1, 'x');
            """)
        try fx.setup("plain,full_rows,no_key")
        try fx.db.executeScript("""
            UPDATE plain SET v = 'b'; DELETE FROM plain;
            UPDATE full_rows SET v = 'b'; DELETE FROM full_rows;
            UPDATE no_key SET b = 'y'; DELETE FROM no_key;
            """)
        try fx.pgkOK("run", ["--snapshot", "never", "--exit-when-caught-up", "--key-columns", "no_key:a"])
        let plain = try fx.events(fx.topic("plain"))
        #expect(plain.map { $0["op"] } == ["u", "d"])
        #expect(plain[0]["before"] == .null, "DEFAULT identity sends no old row for an update that keeps the key")
        #expect(plain[1]["before"] == .object(ValueObject([("id", 1)])), "only the key for a delete")
        let full = try fx.events(fx.topic("full_rows"))
        #expect(full[0]["before"] == .object(ValueObject([("id", 1), ("v", "a"), ("w", 1)])))
        #expect(full[0][path: "after", "v"] == "b")
        #expect(full[1]["before"] == .object(ValueObject([("id", 1), ("v", "b"), ("w", 1)])))
        let noKey = try fx.messages(fx.topic("no_key"))
        #expect(noKey.count == 3, "update, delete, tombstone")
        #expect(try JSON.decode(try #require(noKey[0].key)) == .object(ValueObject([("a", 1)])), "--key-columns gives the key")
        #expect(try JSON.decode(try #require(noKey[1].value))["before"] == .object(ValueObject([("a", 1), ("b", "y")])))
    }

    @Test func unchangedToastedColumnIsOmittedAndListed() throws {
        let fx = try WALFixture("toast")
        defer { fx.close() }
        try fx.db.executeScript("""
            CREATE TABLE docs (id int PRIMARY KEY, title text, body text);
            ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL;
            """)
        try fx.setup("docs")
        try fx.db.execute("INSERT INTO docs SELECT 1, 'first', string_agg(md5(g::text), '') FROM generate_series(1, 400) g")
        try fx.db.execute("UPDATE docs SET title = 'second' WHERE id = 1")
        try fx.pgkOK("run", ["--snapshot", "never", "--exit-when-caught-up"])
        let events = try fx.events(fx.topic("docs"))
        try #require(events.count == 2)
        #expect(events[0][path: "after", "body"]?.stringValue?.count == 12_800)
        let update = events[1]
        #expect(update[path: "after", "title"] == "second")
        #expect(update[path: "after", "body"] == nil, "left out, not replaced by a placeholder")
        #expect(update[path: "source", "unchanged_toast"] == ["body"])
    }

    @Test func quotedMixedCaseSchemaAndTableNames() throws {
        let fx = try WALFixture("quoted")
        defer { fx.close() }
        try fx.db.executeScript("""
            CREATE SCHEMA "Sales Dept";
            CREATE TABLE "Sales Dept"."Order Items" ("Id" int PRIMARY KEY, "Item Name" text);
            """)
        try fx.setup(#""Sales Dept"."Order Items""#)
        try fx.db.execute(#"INSERT INTO "Sales Dept"."Order Items" VALUES (1, 'widget')"#)
        try fx.pgkOK("run", ["--snapshot", "never", "--exit-when-caught-up"])
        let topic = fx.topic("Order Items", schema: "Sales Dept")
        #expect(topic == fx.prefix + ".Sales_Dept.Order_Items")
        let messages = try fx.messages(topic)
        try #require(messages.count == 1)
        let event = try JSON.decode(try #require(messages[0].value))
        #expect(event[path: "source", "schema"] == "Sales Dept" && event[path: "source", "table"] == "Order Items")
        #expect(event["after"] == .object(ValueObject([("Id", 1), ("Item Name", "widget")])))
        #expect(try JSON.decode(try #require(messages[0].key)) == .object(ValueObject([("Id", 1)])))
    }

    /// The example in pg_to_brokers' own test suite (tests/test_parser.py),
    /// produced from a real table.
    @Test func pgToBrokersFormatMatchesTheSeedExample() throws {
        let fx = try WALFixture("seedfmt")
        defer { fx.close() }
        try fx.db.executeScript("""
            CREATE TABLE companies (id integer PRIMARY KEY, name character varying, statement character varying,
                logo character varying, sponsored_zip json, website character varying, external_employer_id character varying);
            INSERT INTO companies VALUES (10, 'Adidas', 'x', '', '{}', NULL, '');
            CREATE TABLE odd (id int PRIMARY KEY, tags text[], span interval);
            """)
        try fx.setup("companies,odd")
        try fx.db.executeScript("""
            UPDATE companies SET name = 'Adidas2''s adadisss''''''', statement = 'you can do it',
                sponsored_zip = '{"codes":["21111"]}' WHERE id = 10;
            INSERT INTO odd VALUES (1, '{a,"b c"}', '1 day 02:00');
            TRUNCATE odd;
            """)
        try fx.pgkOK("run", ["--snapshot", "never", "--exit-when-caught-up", "--format", "pg_to_brokers"])
        let events = try fx.events(fx.topic("companies"))
        try #require(events.count == 1)
        let event = events[0]
        #expect(event["fields"] == ["id", "name", "statement", "logo", "sponsored_zip", "website", "external_employer_id"])
        #expect(event["values"] == [10, "Adidas2's adadisss'''", "you can do it", "", #"{"codes":["21111"]}"#, .null, ""])
        #expect(event["types"] == ["integer", "character varying", "character varying", "character varying", "json",
                                   "character varying", "character varying"])
        #expect(event["table_name"] == "public.companies" && event["operation"] == "UPDATE")
        #expect(event["transaction_id"]?.stringValue.flatMap { Int($0) } != nil)
        guard case .object(let object) = event else { return }
        #expect(object.keys == ["fields", "values", "types", "table_name", "operation", "transaction_id"])

        // TRUNCATE has no key, so it may land on another partition than the
        // INSERT: the two are not ordered relative to each other (as in Debezium).
        let odd = try fx.events(fx.topic("odd"))
        #expect(odd.compactMap { $0["operation"]?.stringValue }.sorted() == ["INSERT", "TRUNCATE"])
        let insert = try #require(odd.first { $0["operation"] == "INSERT" })
        #expect(insert["values"] == [1, ["a", "b c"], "1 day 02:00:00"] && insert["types"] == ["integer", "text[]", "interval"])
    }

    /// Seed 004's demo: the students database through Debezium, here through pgk.
    @Test func studentsDemo() throws {
        let fx = try WALFixture("students")
        defer { fx.close() }
        try fx.db.executeScript("""
            CREATE TABLE admission (student_id INTEGER, gre INTEGER, toefl INTEGER, cpga DOUBLE PRECISION,
                admit_chance DOUBLE PRECISION, CONSTRAINT student_id_pk PRIMARY KEY (student_id));
            CREATE TABLE research (student_id INTEGER, rating INTEGER, research INTEGER, PRIMARY KEY (student_id));
            """)
        func load(_ table: String, _ file: String) throws {
            let lines = try String(contentsOfFile: RepositoryPaths.shared("data/students/\(file)"), encoding: .utf8)
                .split(separator: "\n").dropFirst()
            let copy = try fx.db.copyIn(sql: "COPY \(table) FROM STDIN")
            for line in lines { try copy.appendRow(line.split(separator: ",").map { String($0) }) }
            try copy.finish()
        }
        try load("admission", "admit_1.csv")
        try load("research", "research_1.csv")
        try fx.setup("admission,research")
        try fx.pgkOK("run", ["--snapshot", "initial", "--exit-when-caught-up"])
        for table in ["admission", "research"] {
            let events = try fx.events(fx.topic(table))
            #expect(events.count == 300 && events.allSatisfy { $0["op"] == "r" }, "\(table): \(events.count)")
            #expect(events.filter { $0[path: "source", "snapshot"] == "last" }.count == (table == "research" ? 1 : 0))
        }
        let chance = try fx.events(fx.topic("admission")).first { $0[path: "after", "student_id"] == 1 }
        #expect(chance?["after"] == .object(ValueObject([("student_id", 1), ("gre", 337), ("toefl", 118), ("cpga", 9.65),
                                                         ("admit_chance", 0.92)])))
        try load("admission", "admit_2.csv")
        try load("research", "research_2.csv")
        try fx.pgkOK("run", ["--snapshot", "initial", "--exit-when-caught-up"])
        for table in ["admission", "research"] {
            let events = try fx.events(fx.topic(table))
            #expect(events.filter { $0["op"] == "r" }.count == 300, "the snapshot is not repeated")
            #expect(events.filter { $0["op"] == "c" }.count == 200, "\(table)")
        }
    }
}

extension WALStreamingTests {
    @Test func msgpackWithoutTombstones() throws {
        let fx = try WALFixture("msgpack")
        defer { fx.close() }
        try fx.db.executeScript("CREATE TABLE t (id int PRIMARY KEY, raw bytea)")
        try fx.setup("t")
        try fx.db.executeScript("INSERT INTO t VALUES (1, '\\x0102'); DELETE FROM t;")
        try fx.pgkOK("run", ["--snapshot", "never", "--exit-when-caught-up", "--packing", "msgpack", "--no-tombstones"])
        let messages = try fx.messages(fx.topic("t"))
        #expect(messages.count == 2 && messages.allSatisfy { $0.value != nil }, "no tombstone after the delete")
        let events = try messages.map { try MsgPack.decode($0.value!) }
        #expect(events.map { $0["op"] } == ["c", "d"])
        #expect(events[0][path: "after", "raw"] == .bytes([1, 2]), "bytes stay bytes in msgpack")
        #expect(try MsgPack.decode(try #require(messages[1].key)) == .object(ValueObject([("id", 1)])))
    }
}
