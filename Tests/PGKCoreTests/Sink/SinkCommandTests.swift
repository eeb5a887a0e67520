import Foundation
import Testing
@testable import PGKCore

/// `pgk sink` as users run it: the built binary, a real PostgreSQL and the
/// mock Kafka cluster over the real protocol.
@Suite struct SinkCommandTests {
    typealias S = SinkTestSupport

    @Test func fromFileReplaysAFileAndDryRunWritesNothing() throws {
        let url = try TestPostgres.freshDatabase("sink-file")
        let file = try S.temporaryFile("events.ndjson", contents: "{\"a\": 1}\n\n{\"a\": NaN}\r\n[1, 2]\nnope\n\"last\"")
        let dry = try S.sink(nil, url, ["--from-file", file, "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("CREATE TABLE IF NOT EXISTS \"events\" ("))
        #expect(dry.stdout.contains("CREATE TABLE IF NOT EXISTS pgk.sink_offsets"))
        #expect(dry.stdout.contains(#"{"key":null,"payload":{"a": null},"topic":"events","partition":0,"offset":2}"#))
        #expect(try S.scalar(url, "SELECT count(*) FROM pg_tables WHERE schemaname <> 'pg_catalog' AND schemaname <> 'information_schema'") == "0")

        let run = try S.sink(nil, url, ["--from-file", file])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("5 msgs") && run.stderr.contains("4 rows written") && run.stderr.contains("1 dead-lettered"))
        #expect(try S.rows(url, "SELECT \"offset\", payload::text FROM events ORDER BY \"offset\"")
                == [["0", "{\"a\": 1}"], ["2", "{\"a\": null}"], ["3", "[1, 2]"], ["5", "\"last\""]])
        #expect(try S.rows(url, "SELECT \"offset\", error FROM events_errors") == [["4", "invalid json at byte 0: invalid literal"]])
        let again = try S.sink(nil, url, ["--from-file", file])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try S.scalar(url, "SELECT count(*) FROM events") == "4")

        let array = try S.temporaryFile("arr.json", contents: " [ {\"id\": 1}, {\"id\": 2}, 3 ] ")
        let fromArray = try S.sink(nil, url, ["--datafile", array, "--table", "arr", "--lookup", "StringMap"])
        #expect(fromArray.status == 0, "\(fromArray.stderr)")
        #expect(try S.rows(url, "SELECT \"offset\", payload FROM arr ORDER BY 1") == [["0", "{\"id\": 1}"], ["1", "{\"id\": 2}"], ["2", "3"]])
    }

    @Test func dropTruncateAndRerunOnAnUpperCaseDottedTable() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-names")
        let topic = KafkaTestSupport.uniqueName("Orders.V1")
        try cluster.createTopic(topic, partitions: 3)
        try S.produce(cluster, topic, values: (0..<300).map { "{\"n\": \($0)}" })
        let table = "Sink.\"My.Table\""
        let count = "SELECT count(*) FROM \"Sink\".\"My.Table\""
        for flags in [[], ["--drop"], ["--truncate"], []] {
            let result = try S.sink(cluster, url, ["-t", topic, "--table", table, "--until-end"] + flags)
            #expect(result.status == 0, "\(flags): \(result.stderr)")
            #expect(try S.scalar(url, count) == "300", "after \(flags)")
        }
        #expect(try S.scalar(url, "SELECT group_id FROM pgk.sink_offsets LIMIT 1") == "pgk-sink-Sink.\"My.Table\"")
        try S.produce(cluster, topic, values: ["{\"n\": 300}"])
        let more = try S.sink(cluster, url, ["-t", topic, "--table", table, "--until-end"])
        #expect(more.status == 0 && more.stderr.contains("1 msgs"), "\(more.stderr)")
        #expect(try S.scalar(url, count) == "301")
        #expect(try S.scalar(url, "SELECT count(DISTINCT (topic, partition, \"offset\")) FROM \"Sink\".\"My.Table\"") == "301")
    }

    @Test func jsonMapStoresPayloadsExactlyAndNaNAsNull() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-json")
        let topic = KafkaTestSupport.uniqueName("js")
        try cluster.createTopic(topic, partitions: 1)
        let values = ["{\"price\": 12.50, \"big\": 123456789012345678901234567890, \"s\": \"é\\n😀\", \"nested\": {\"a\": [1, {}]}}",
                      "{\"x\": NaN, \"y\": [Infinity, -Infinity]}", "true"]
        try S.produce(cluster, topic, values: values, keys: ["k1", nil, "k3"], partition: 0)
        let dry = try S.sink(cluster, url, ["-t", topic, "--table", "js", "--dry-run", "--max-messages", "2"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("CREATE TABLE IF NOT EXISTS \"js\""))
        #expect(dry.stdout.split(separator: "\n").filter { $0.hasPrefix("{\"key\":") }.count == 2, "\(dry.stdout)")
        #expect(try S.scalar(url, "SELECT to_regclass('js')::text") == nil)
        let result = try S.sink(cluster, url, ["-t", topic, "--table", "js", "--until-end"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("3 NaN/Infinity as null"), "\(result.stderr)")
        let rows = try S.rows(url, "SELECT key, payload = $$\(values[0])$$::jsonb, payload::text FROM js ORDER BY \"offset\"")
        #expect(rows[0][0] == "k1" && rows[0][1] == "t")
        #expect(rows[1] == [nil, "f", "{\"x\": null, \"y\": [null, null]}"])
        #expect(rows[2] == ["k3", "f", "true"])
        #expect(try S.scalar(url, "SELECT payload->>'big' FROM js WHERE \"offset\" = 0") == "123456789012345678901234567890")
    }

    @Test func columnsMapDropsUnknownFieldsAndTombstonesDelete() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-columns")
        let topic = KafkaTestSupport.uniqueName("people")
        try cluster.createTopic(topic, partitions: 2)
        try PostgresConnection(conninfo: url).execute("CREATE TABLE people (id integer PRIMARY KEY, name text, born date)")
        try S.produce(cluster, topic, values: ["{\"id\": 1, \"name\": \"Ada\", \"born\": \"1815-12-10\", \"shoe\": 38}",
                                               "{\"id\": 2, \"name\": \"Bob\", \"extra\": true}",
                                               "{\"id\": 3, \"name\": \"Cy\", \"born\": \"2000-01-01\"}"], keys: ["1", "2", "3"], partition: 0)
        let first = try S.sink(cluster, url, ["-t", topic, "--table", "people", "--map", "columns", "--key-columns", "id", "--until-end"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("2 unknown fields dropped") && first.stderr.contains("shoe (1)"), "\(first.stderr)")
        try S.produce(cluster, topic, values: [nil, "{\"id\": 3, \"name\": \"Cyd\"}"], keys: ["2", "3"], partition: 0)
        let second = try S.sink(cluster, url, ["-t", topic, "--table", "people", "--map", "columns", "--key-columns", "id", "--until-end"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("1 rows deleted"), "\(second.stderr)")
        #expect(try S.rows(url, "SELECT id, name, born::text FROM people ORDER BY id") == [["1", "Ada", "1815-12-10"], ["3", "Cyd", nil]])
    }

    @Test func everyKindOfBadInputGetsADeadLetterRow() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-bad")
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        let json = KafkaTestSupport.uniqueName("bad-json"), packed = KafkaTestSupport.uniqueName("bad-mp"),
            avro = KafkaTestSupport.uniqueName("bad-avro")
        for topic in [json, packed, avro] { try cluster.createTopic(topic, partitions: 1) }
        let map = try S.temporaryFile("m.yaml", contents: """
            columns:
              - {name: id, type: integer, expression: "value->>'id'"}
              - {name: qty, type: integer, expression: "value->>'qty'"}
            checks:
              - {name: qty_positive, expression: "(value->>'qty')::int > 0"}
            """)
        try S.produce(cluster, json, [
            (nil, Array("{\"id\": 1, \"qty\": 1}".utf8)),
            (nil, Array("{\"id\": 2, \"qty\": ".utf8)),                   // invalid JSON
            (nil, [0x7B, 0x22, 0x69, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]), // invalid UTF-8
            (nil, Array("{\"id\": 4, \"qty\": 1, \"f\": NaN}".utf8)),      // NaN: counted, stored
            (nil, Array("{\"id\": \"four\", \"qty\": 1}".utf8)),           // bad cast
            (nil, Array("{\"id\": 6, \"qty\": -1}".utf8)),                 // check failure
        ], partition: 0)
        let jsonRun = try S.sink(cluster, url, ["-t", json, "--table", "bad", "--map", map, "--until-end"])
        #expect(jsonRun.status == 0, "\(jsonRun.stderr)")
        #expect(jsonRun.stderr.contains("1 NaN/Infinity as null"))
        try S.produce(cluster, packed, [(nil, MsgPack.encode(["id": 7, "qty": 1])), (nil, Array(MsgPack.encode(["id": 8, "qty": 1]).dropLast(3)))],
                      partition: 0)
        let packedRun = try S.sink(cluster, url, ["-t", packed, "--table", "bad", "--map", map, "--packing", "msgpack", "--until-end"])
        #expect(packedRun.status == 0, "\(packedRun.stderr)")
        let schema = #"{"type":"record","name":"Q","fields":[{"name":"id","type":"int"},{"name":"qty","type":"int"}]}"#
        let id = try registry.register(subject: "q-value", schemaJSON: schema)
        let good = ConfluentFrame.frame(schemaID: id, payload: try AvroSchema(json: schema).encode(["id": 9, "qty": 1]))
        try S.produce(cluster, avro, [(nil, good), (nil, ConfluentFrame.frame(schemaID: 4242, payload: [2, 2])), (nil, [7] + good.dropFirst())],
                      partition: 0)
        let avroRun = try S.sink(cluster, url, ["-t", avro, "--table", "bad", "--map", map, "--packing", "avro",
                                                "--registry", registry.url, "--until-end"])
        #expect(avroRun.status == 0, "\(avroRun.stderr)")
        #expect(try S.rows(url, "SELECT id FROM bad ORDER BY id") == [["1"], ["4"], ["7"], ["9"]])
        let letters = try S.rows(url, "SELECT topic, \"offset\", sqlstate, check_name, error FROM bad_errors ORDER BY id")
        let described = letters.map { "\($0[0] == json ? "json" : $0[0] == packed ? "msgpack" : "avro")@\($0[1]!) \($0[2] ?? "-") \($0[3] ?? "-") \($0[4]!)" }
        #expect(described.count == 7, "\(described)")
        #expect(described.contains { $0.hasPrefix("json@1 - - invalid json") })
        #expect(described.contains { $0.hasPrefix("json@2 - - invalid utf-8") })
        #expect(described.contains { $0.hasPrefix("json@4 22P02 - invalid input syntax for type integer") })
        #expect(described.contains { $0.hasPrefix("json@5 - qty_positive check qty_positive failed") })
        #expect(described.contains { $0.hasPrefix("msgpack@1 - - invalid msgpack") })
        #expect(described.contains { $0.hasPrefix("avro@1 - - invalid confluent") && $0.contains("unknown schema id 4242") })
        #expect(described.contains { $0.hasPrefix("avro@2 - - invalid confluent") && $0.contains("magic") })
        #expect(try S.scalar(url, "SELECT encode(value, 'hex') FROM bad_errors WHERE \"offset\" = 2 AND topic = '\(json)'")
                == "7b2269223a22ff227d")
    }

    @Test func latestStartsAtTheEndOnceThenResumesThere() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-latest")
        let topic = KafkaTestSupport.uniqueName("late")
        try cluster.createTopic(topic, partitions: 1)
        try S.produce(cluster, topic, values: (0..<5).map { "\($0)" }, partition: 0)
        let first = try S.sink(cluster, url, ["-t", topic, "--table", "late", "--offset", "largest", "--until-end"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try S.scalar(url, "SELECT count(*) FROM late") == "0")
        #expect(try S.scalar(url, "SELECT next_offset FROM pgk.sink_offsets") == "5")
        try S.produce(cluster, topic, values: ["5", "6", "7"], partition: 0)
        let second = try S.sink(cluster, url, ["-t", topic, "--table", "late", "--offset", "latest", "--until-end"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try S.rows(url, "SELECT payload::text FROM late ORDER BY \"offset\"") == [["5"], ["6"], ["7"]])
    }

    @Test func deadLettersCanGoToATopic() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-dl-topic")
        let topic = KafkaTestSupport.uniqueName("dl"), errors = KafkaTestSupport.uniqueName("dl-errors")
        try cluster.createTopic(topic, partitions: 1)
        try cluster.createTopic(errors, partitions: 1)
        try S.produce(cluster, topic, values: ["{\"ok\": 1}", "bad"], keys: ["a", "b"], partition: 0)
        let result = try S.sink(cluster, url, ["-t", topic, "--table", "dl", "--dead-letter", "topic:\(errors)", "--until-end"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try S.scalar(url, "SELECT count(*) FROM dl") == "1")
        #expect(try S.scalar(url, "SELECT to_regclass('dl_errors')::text") == nil)
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil)
        try consumer.assign([KafkaTopicPartition(topic: errors, partition: 0): .beginning])
        let letters = try KafkaTestSupport.consume(consumer, count: 1)
        try #require(letters.count == 1)
        #expect(letters[0].key == Array("b".utf8) && letters[0].value == Array("bad".utf8))
        let headers = Dictionary(letters[0].headers.map { ($0.key, String(decoding: $0.value ?? [], as: UTF8.self)) }) { $1 }
        #expect(headers["pgk-error"]?.contains("invalid json") == true)
        #expect(headers["pgk-topic"] == topic && headers["pgk-partition"] == "0" && headers["pgk-offset"] == "1")
    }

    @Test func usageMistakesExit64() throws {
        let url = try TestPostgres.freshDatabase("sink-usage")
        for (arguments, message) in [
            ([], "no topic"),
            (["-t", "^a.*"], "--table is required"),
            (["-t", "a", "--mode", "upsert"], "needs key columns"),
            (["-t", "a", "--evolve"], "--evolve works with --map columns"),
            (["-t", "a", "--map", "nosuchmap"], "not a built-in map"),
            (["-t", "a", "--packing", "avro"], "--registry"),
            (["--from-file", "x.json", "--packing", "msgpack"], "--from-file reads JSON"),
            (["-t", "a", "--on-tombstone", "delete"], "needs key columns"),
        ] {
            let result = try S.sink(nil, url, arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }

    @Test func sigtermWritesTheOpenBatchAndExitsZero() throws {
        let url = try TestPostgres.freshDatabase("sink-sigterm")
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer { close(fds[1]) }
        let log = try S.temporaryFile("sink.log", contents: "")
        // stdin stays open and the batch timeout is long: only the stop can write these rows.
        let child = try ChildProcess.spawn(RepositoryPaths.binary,
                                           ["sink", "--from-file", "-", "--topic", "piped", "--batch-timeout", "10m"],
                                           environment: S.environment(nil, url), stdin: .descriptor(fds[0]),
                                           stdout: .null, stderr: .file(path: log, append: false))
        close(fds[0])
        defer { if child.poll() == nil { child.send(signal: SIGKILL); _ = child.wait() } }
        let lines = (0..<500).map { "{\"n\": \($0)}\n" }.joined()
        _ = lines.withCString { write(fds[1], $0, strlen($0)) }
        #expect(S.waitUntil(seconds: 30) { (try? S.scalar(url, "SELECT to_regclass('piped')::text")) != nil })
        usleep(1_000_000)
        #expect(try S.scalar(url, "SELECT count(*) FROM piped") == "0")
        child.send(signal: SIGTERM)
        #expect(child.wait(timeoutMilliseconds: 30_000) == .exited(0), "\(S.log(log))")
        #expect(try S.rows(url, "SELECT count(*), max(\"offset\") FROM piped") == [["500", "499"]], "\(S.log(log))")
        #expect(try S.scalar(url, "SELECT next_offset FROM pgk.sink_offsets") == "500")
    }

    @Test func sigtermLeavesTheGroupCleanly() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-sigterm-kafka")
        let topic = KafkaTestSupport.uniqueName("term")
        try cluster.createTopic(topic, partitions: 2)
        try S.produce(cluster, topic, values: (0..<500).map { "{\"n\": \($0)}" })
        let log = try S.temporaryFile("sink.log", contents: "")
        let child = try S.spawn(cluster, url, ["-t", topic, "--table", "term"], log: log)
        defer { if child.poll() == nil { child.send(signal: SIGKILL); _ = child.wait() } }
        #expect(S.waitUntil(seconds: 60) { (try? S.scalar(url, "SELECT count(*) FROM term")) == "500" }, "\(S.log(log))")
        child.send(signal: SIGTERM)
        #expect(child.wait(timeoutMilliseconds: 30_000) == .exited(0), "\(S.log(log))")
        #expect(S.log(log).contains("500 msgs"), "\(S.log(log))")
    }
}
