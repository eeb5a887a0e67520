import Foundation
import Testing
@testable import PGKCore

/// The writer against a real PostgreSQL: batches built by the real decode
/// stage from fake messages.
final class WriterHarness {
    let url: String
    let db: PostgresConnection
    let settings: SinkSettings
    let writer: BatchWriter
    let stager: RecordStager
    var book = PartitionBook()

    init(_ label: String, table: String = "t", map: SinkMap = BuiltinMaps.named("json")!,
         configure: (inout SinkSettings) -> Void = { _ in }) throws {
        url = try TestPostgres.freshDatabase(label)
        db = try PostgresConnection(conninfo: url)
        var settings = SinkSettings(topics: ["t"], table: try QualifiedName.parse(table), map: map, database: url)
        configure(&settings)
        self.settings = settings
        writer = BatchWriter(settings: settings, target: SinkTarget(settings: settings, registry: nil), stop: StopToken())
        try writer.open()
        stager = try RecordStager(packing: .json, keyPacking: .string, registry: nil,
                                  tombstones: settings.effectiveTombstonePolicy, keyColumns: settings.conflictColumns,
                                  onError: settings.onError)
    }

    /// Stages messages (topic "t") into one sealed batch with its claims.
    func batch(_ messages: [FakeMessage]) throws -> StagedBatch {
        var builder = BatchBuilder(maxRows: 10_000, maxAgeMilliseconds: 1_000)
        for message in messages {
            let partition = KafkaTopicPartition(topic: "t", partition: message.partition)
            if book.slot(of: partition) == nil {
                book.assign(partition, stored: try SinkOffsetStore.stored(db, group: settings.group)[partition])
            }
            guard let slot = book.accept(topic: "t", partition: message.partition, offset: message.offset) else {
                throw RuntimeError("offset \(message.offset) not accepted")
            }
            _ = try stager.stage(message, topicIndex: book.topicIndex(ofSlot: slot), into: &builder)
            book.record(slot: slot, offset: message.offset)
        }
        return builder.seal(topics: book.topics, claims: book.seal())
    }

    func write(_ messages: [FakeMessage]) throws -> WriteOutcome {
        let outcome = writer.write(try batch(messages))
        for claim in outcome.committed { book.confirm(claim.topicPartition, next: claim.next) }
        return outcome
    }

    func rows(_ sql: String) throws -> [[String?]] { try db.query(sql).rows.map(\.values) }
}

@Suite struct BatchWriterTests {
    static func values(_ texts: [String?], from offset: Int64 = 0, key: (Int) -> String? = { _ in nil }) -> [FakeMessage] {
        texts.enumerated().map { FakeMessage(offset: offset + Int64($0.offset), key: key($0.offset), value: $0.element) }
    }

    @Test func jsonMapCopiesDirectlyAndAdvancesStoredOffsets() throws {
        let harness = try WriterHarness("writer-json")
        let outcome = try harness.write(Self.values(["{\"a\": 1.50, \"b\": [true, null]}", "{\"n\": NaN}", "\"s\""],
                                                    key: { "k\($0)" }))
        #expect(harness.writer.target.statements?.plan.direct != nil)
        #expect(outcome.failure == nil && outcome.stats.rowsWritten == 3 && outcome.counters.nonFinite == 1)
        #expect(outcome.committed == [OffsetClaim(topicPartition: KafkaTopicPartition(topic: "t", partition: 0), expected: nil, next: 3)])
        #expect(try harness.rows("SELECT key, payload::text, topic, partition, \"offset\" FROM t ORDER BY id") == [
            ["k0", "{\"a\": 1.50, \"b\": [true, null]}", "t", "0", "0"], ["k1", "{\"n\": null}", "t", "0", "1"],
            ["k2", "\"s\"", "t", "0", "2"]])
        #expect(try harness.rows("SELECT next_offset FROM pgk.sink_offsets") == [["3"]])
        let next = try harness.write(Self.values(["4"], from: 3))
        #expect(next.committed.first?.expected == 3 && next.committed.first?.next == 4)
    }

    /// A map of bare fields into columns of the staging types is COPYed
    /// straight in, with the same rows and dead letters as through staging.
    @Test func bareFieldMapCopiesDirectly() throws {
        let map = SinkMap(name: "lean", origin: "test", columns: [
            MapColumn(name: "doc", type: "jsonb", expression: "value"),
            MapColumn(name: "k", type: "text", expression: " key "),
            MapColumn(name: "o", type: "bigint", expression: "\"offset\""),
        ])
        let harness = try WriterHarness("writer-bare", map: map)
        let outcome = try harness.write(Self.values(["{\"a\": 1.50}", "not json", "[1, 2]"], key: { "k\($0)" }))
        #expect(harness.writer.target.statements?.plan.direct == [
            DirectColumn("doc", .value), DirectColumn("k", .key), DirectColumn("o", .offset)])
        #expect(outcome.failure == nil && outcome.stats.rowsWritten == 2 && outcome.stats.deadLettered == 1)
        #expect(try harness.rows("SELECT doc::text, k, o FROM t ORDER BY o") == [
            ["{\"a\": 1.50}", "k0", "0"], ["[1, 2]", "k2", "2"]])
        #expect(try harness.rows("SELECT \"offset\" FROM t_errors") == [["1"]])
    }

    /// A cast or an expression keeps the staged path: a jsonb value written
    /// to a text column is jsonb's text, not the message's bytes.
    @Test func bareFieldsNeedTheStagingTypes() throws {
        let written = { (type: String, expression: String) in
            [SinkPlan.Written(column: "c", type: type, expression: expression)] }
        #expect(DirectColumn.bare(written("jsonb", "value")) == [DirectColumn("c", .value)])
        #expect(DirectColumn.bare(written("integer", "partition")) == [DirectColumn("c", .partition)])
        #expect(DirectColumn.bare(written("text", "value")) == nil)
        #expect(DirectColumn.bare(written("json", "value")) == nil)
        #expect(DirectColumn.bare(written("bigint", "partition")) == nil)
        #expect(DirectColumn.bare(written("jsonb", "value->'a'")) == nil)
        #expect(DirectColumn.bare(written("timestamptz", "\"timestamp\"")) == nil)
        #expect(DirectColumn.bare([]) == nil)
        let harness = try WriterHarness("writer-bare-text", map: SinkMap(name: "m", origin: "test", columns: [
            MapColumn(name: "doc", type: "text", expression: "value")]))
        _ = try harness.write(Self.values(["{\"b\":1,   \"a\":2}"]))
        #expect(harness.writer.target.statements?.plan.direct == nil)
        #expect(try harness.rows("SELECT doc FROM t") == [["{\"a\": 2, \"b\": 1}"]])
    }

    @Test func badRowsAreIsolatedAndDeadLetteredWithTheirReason() throws {
        let map = SinkMap(name: "m", origin: "test", columns: [
            MapColumn(name: "id", type: "integer", expression: "value->>'id'", primaryKey: true),
            MapColumn(name: "qty", type: "integer", expression: "value->>'qty'"),
        ], checks: [MapCheck(name: "positive", expression: "(value->>'qty')::int > 0")],
        filter: "value->>'skip' IS NULL")
        let harness = try WriterHarness("writer-bad", map: map)
        var texts: [String?] = (0..<200).map { "{\"id\": \($0), \"qty\": 1}" }
        texts[17] = "{\"id\": 17, \"qty\": \"many\"}"            // bad cast: in the check first
        texts[40] = "{\"id\": 40, \"qty\": 0}"                   // check fails
        texts[41] = "{\"id\": 41, \"qty\": 1, \"skip\": true}"   // filtered
        texts[99] = "{\"id\": 5, \"qty\": 3}"                    // duplicate primary key (insert mode)
        texts[150] = "{\"id\": 99999999999, \"qty\": 3}"         // integer out of range
        texts[151] = "not json"                                   // decode failure
        let outcome = try harness.write(Self.values(texts))
        #expect(outcome.failure == nil)
        #expect(outcome.stats.rowsWritten == 194 && outcome.stats.filtered == 1 && outcome.stats.deadLettered == 5)
        let letters = try harness.rows("SELECT \"offset\", sqlstate, check_name, error, convert_from(value, 'UTF8') FROM t_errors ORDER BY \"offset\"")
        #expect(letters.map { $0[0] } == ["17", "40", "99", "150", "151"])
        #expect(letters[0][1] == "22P02" && letters[0][3]?.contains("many") == true)
        #expect(letters[1][2] == "positive" && letters[1][3] == "check positive failed")
        #expect(letters[2][1] == "23505")
        #expect(letters[3][1] == "22003")
        #expect(letters[4][1] == nil && letters[4][3]?.contains("invalid json") == true && letters[4][4] == "not json")
        #expect(try harness.rows("SELECT count(*), sum(qty) FROM t") == [["194", "194"]])
    }

    @Test func upsertKeepsTheLastValueAndTombstonesFollowMessageOrder() throws {
        let map = SinkMap(name: "kv", origin: "test", columns: [
            MapColumn(name: "k", type: "text", expression: "value->>'k'"),
            MapColumn(name: "v", type: "text", expression: "value->>'v'"),
        ], uniques: [["k"]], conflict: ["k"])
        let harness = try WriterHarness("writer-upsert", map: map)
        _ = try harness.write([FakeMessage(offset: 0, key: "c", value: "{\"k\":\"c\",\"v\":\"old\"}"),
                               FakeMessage(offset: 1, key: "d", value: "{\"k\":\"d\",\"v\":\"old\"}")])
        let outcome = try harness.write([
            FakeMessage(offset: 2, key: "a", value: "{\"k\":\"a\",\"v\":\"1\"}"),
            FakeMessage(offset: 3, key: "a", value: "{\"k\":\"a\",\"v\":\"2\"}"),   // a: last value wins
            FakeMessage(offset: 4, key: "b", value: "{\"k\":\"b\",\"v\":\"1\"}"),
            FakeMessage(offset: 5, key: "b", value: nil),                             // b: deleted after its upsert
            FakeMessage(offset: 6, key: "c", value: nil),
            FakeMessage(offset: 7, key: "c", value: "{\"k\":\"c\",\"v\":\"new\"}"),   // c: re-inserted after its delete
            FakeMessage(offset: 8, key: "{\"k\": \"d\"}", value: nil),                // d: object key, deleted
        ])
        #expect(outcome.failure == nil)
        #expect(try harness.rows("SELECT k, v FROM t ORDER BY k") == [["a", "2"], ["c", "new"]])
        #expect(outcome.stats.rowsDeleted == 2)
        // A duplicate key without tombstones takes the optimistic path, then compacts.
        _ = try harness.write([FakeMessage(offset: 9, value: "{\"k\":\"a\",\"v\":\"3\"}"),
                               FakeMessage(offset: 10, value: "{\"k\":\"a\",\"v\":\"4\"}")])
        #expect(try harness.rows("SELECT v FROM t WHERE k = 'a'") == [["4"]])
    }

    @Test func updateTouchesOnlyExistingRowsAndIgnoreKeepsThem() throws {
        let map = SinkMap(name: "kv", origin: "test", columns: [
            MapColumn(name: "k", type: "text", expression: "value->>'k'"),
            MapColumn(name: "v", type: "text", expression: "value->>'v'"),
        ], uniques: [["k"]], conflict: ["k"])
        let update = try WriterHarness("writer-update", map: map) { $0.mode = .update }
        try update.db.execute("INSERT INTO t VALUES ('a', '1'), ('b', '1')")
        let updated = try update.write(Self.values(["{\"k\":\"a\",\"v\":\"2\"}", "{\"k\":\"c\",\"v\":\"3\"}",
                                                    "{\"k\":\"a\",\"v\":\"5\"}"]))
        #expect(updated.failure == nil && updated.stats.rowsWritten == 1)
        #expect(try update.rows("SELECT k, v FROM t ORDER BY k") == [["a", "5"], ["b", "1"]])

        let ignore = try WriterHarness("writer-ignore", map: map) { $0.mode = .ignore }
        try ignore.db.execute("INSERT INTO t VALUES ('a', '1')")
        let ignored = try ignore.write(Self.values(["{\"k\":\"a\",\"v\":\"9\"}", "{\"k\":\"d\",\"v\":\"4\"}"]))
        #expect(ignored.failure == nil && ignored.stats.rowsWritten == 1 && ignored.stats.deadLettered == 0)
        #expect(try ignore.rows("SELECT k, v FROM t ORDER BY k") == [["a", "1"], ["d", "4"]])
    }

    @Test func upsertWithANullKeyColumnDoesNotDuplicate() throws {
        let map = SinkMap(name: "pair", origin: "test", columns: [
            MapColumn(name: "a", type: "text", expression: "value->>'a'"),
            MapColumn(name: "b", type: "text", expression: "value->>'b'"),
            MapColumn(name: "n", type: "integer", expression: "value->>'n'"),
        ], uniques: [["a", "b"]], conflict: ["a", "b"])
        let harness = try WriterHarness("writer-nullkey", map: map)
        for round in 0..<2 {
            _ = try harness.write(Self.values(["{\"a\":\"x\",\"b\":null,\"n\":\(round)}", "{\"a\":\"x\",\"b\":\"y\",\"n\":\(round)}"],
                                              from: Int64(round * 2)))
        }
        #expect(try harness.rows("SELECT a, b, n FROM t ORDER BY b NULLS FIRST") == [["x", nil, "1"], ["x", "y", "1"]])
    }

    @Test func aClaimOnMovedOffsetsIsFencedAndDropped() throws {
        let harness = try WriterHarness("writer-fence")
        _ = try harness.write(Self.values(["1", "2"]) + [FakeMessage(partition: 1, offset: 0, value: "10")])
        // Another consumer moved partition 0 on meanwhile.
        try harness.db.execute("UPDATE pgk.sink_offsets SET next_offset = 5 WHERE partition = 0")
        let outcome = try harness.write(Self.values(["3"], from: 2) + [FakeMessage(partition: 1, offset: 1, value: "11")])
        #expect(outcome.fenced == [KafkaTopicPartition(topic: "t", partition: 0): 5])
        #expect(outcome.committed.map(\.topicPartition.partition) == [1])
        #expect(try harness.rows("SELECT payload::text FROM t ORDER BY id") == [["1"], ["2"], ["10"], ["11"]])
        // A claim whose target is already stored was committed by an earlier attempt.
        var book = harness.book
        book.fence(KafkaTopicPartition(topic: "t", partition: 1), stored: 1)
        harness.book = book
        let replay = try harness.write([FakeMessage(partition: 1, offset: 1, value: "11")])
        #expect(replay.fenced.isEmpty && replay.committed.map(\.next) == [2] && replay.stats.rowsWritten == 0)
        #expect(try harness.rows("SELECT count(*) FROM t") == [["4"]])
    }

    @Test func survivesALostConnectionByRetryingTheBatch() throws {
        let harness = try WriterHarness("writer-reconnect")
        _ = try harness.write(Self.values(["1"]))
        try harness.db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            + "WHERE application_name = 'pgk sink' AND datname = current_database()")
        let outcome = try harness.write(Self.values(["2", "3"], from: 1))
        #expect(outcome.failure == nil && outcome.stats.rowsWritten == 2)
        #expect(try harness.rows("SELECT count(*), max(next_offset) FROM t, pgk.sink_offsets") == [["3", "3"]])
    }

    @Test func columnsMapCreatesFromValuesCountsUnknownFieldsAndEvolves() throws {
        let columns = BuiltinMaps.named("columns")!
        let harness = try WriterHarness("writer-columns", table: "Sch.\"Cols\"", map: columns)
        let first = try harness.write(Self.values(["{\"id\": 1, \"name\": \"a\", \"price\": 1.5, \"tags\": [\"x\"], \"ok\": true}",
                                                   "{\"id\": 2, \"name\": null, \"price\": 2}", "[1]"]))
        #expect(first.stats.rowsWritten == 2 && first.stats.deadLettered == 1)
        #expect(try harness.rows("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'Cols' ORDER BY ordinal_position")
                == [["id", "bigint"], ["name", "text"], ["ok", "boolean"], ["price", "double precision"], ["tags", "jsonb"]])
        let second = try harness.write(Self.values(["{\"id\": 3, \"extra\": 1, \"more\": \"x\"}", "{\"id\": 4, \"extra\": 2}"], from: 3))
        #expect(second.stats.unknownFields == ["extra": 2, "more": 1])
        #expect(try harness.rows("SELECT id, name, price, tags::text, ok FROM \"Sch\".\"Cols\" ORDER BY id") == [
            ["1", "a", "1.5", "[\"x\"]", "t"], ["2", nil, "2", nil, nil], ["3", nil, nil, nil, nil], ["4", nil, nil, nil, nil]])

        let evolving = try WriterHarness("writer-evolve", map: columns) { $0.evolve = true }
        _ = try evolving.write(Self.values(["{\"id\": 1}"]))
        let evolved = try evolving.write(Self.values(["{\"id\": 2, \"when\": \"2024-01-01\", \"n\": 5}"], from: 1))
        #expect(evolved.stats.unknownFields.isEmpty)
        #expect(try evolving.rows("SELECT id, \"when\", n FROM t ORDER BY id") == [["1", nil, nil], ["2", "2024-01-01", "5"]])
    }

    @Test func failPolicyStopsWithoutCommitting() throws {
        let map = SinkMap(name: "m", origin: "test", columns: [MapColumn(name: "n", type: "integer", expression: "value->>'n'")])
        let harness = try WriterHarness("writer-fail", map: map) { $0.onError = .fail }
        let outcome = try harness.write(Self.values(["{\"n\": 1}", "{\"n\": \"x\"}", "{\"n\": 3}"]))
        #expect(outcome.committed.isEmpty)
        #expect(outcome.failure?.description.contains("t[0] offset 1") == true)
        #expect(outcome.failure?.description.contains("22P02") == true)
        #expect(try harness.rows("SELECT count(*) FROM t") == [["0"]])
        #expect(try harness.rows("SELECT count(*) FROM pgk.sink_offsets") == [["0"]])
    }
}
