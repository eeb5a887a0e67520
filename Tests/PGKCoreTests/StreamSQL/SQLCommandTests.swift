import Foundation
import Testing
@testable import PGKCore

/// `pgk sql` as users run it: the built binary, a real PostgreSQL and the
/// mock Kafka cluster.
@Suite struct SQLCommandTests {
    typealias S = SinkTestSupport

    struct Fixture {
        let cluster: MockKafkaCluster
        let url: String
        /// More environment for `pgk sql`, e.g. PGK_REGISTRY.
        var extraEnvironment: [String: String] = [:]

        init(_ label: String) throws {
            cluster = try MockKafkaCluster()
            url = try TestPostgres.freshDatabase(label)
        }

        func sql(_ arguments: [String], stdin: String? = nil) throws -> CommandResult {
            try CommandRunner.pgk(["sql"] + arguments, environment: S.environment(cluster, url, extra: extraEnvironment),
                                  stdin: stdin.map { Data($0.utf8) }, timeoutSeconds: 120)
        }

        /// Runs statements, then every query to the end of its input.
        func run(_ statements: String) throws {
            let created = try sql(["-e", statements])
            #expect(created.status == 0, "\(created.stderr)")
            try catchUp()
        }

        func catchUp() throws {
            let ran = try sql(["run", "--until-end"])
            #expect(ran.status == 0, "\(ran.stderr)")
        }

        func rows(_ query: String) throws -> [[String?]] { try S.rows(url, query) }

        func produce(_ topic: String, _ values: [String?], keys: [String?]? = nil) throws {
            try S.produce(cluster, topic, values: values, keys: keys, partition: 0)
        }

        /// Every message of a topic, partition by partition, read to the end.
        func topic(_ name: String) throws -> [KafkaMessage] {
            let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil, partitionEOF: true)
            let partitions = try consumer.partitions(of: name).map { KafkaTopicPartition(topic: name, partition: $0) }
            try consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaStartOffset.beginning) }))
            var messages: [KafkaMessage] = [], ended: Set<KafkaTopicPartition> = []
            let deadline = SystemClock.shared.nowMilliseconds + 15_000
            while ended.count < partitions.count, SystemClock.shared.nowMilliseconds < deadline {
                switch try consumer.poll(timeoutMilliseconds: 100) {
                case .message(let message)?: messages.append(message)
                case .partitionEnd(let end)?: ended.insert(KafkaTopicPartition(topic: end.topic, partition: end.partition))
                case nil: break
                }
            }
            return messages.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
        }
    }

    /// `count` JSON events round-robin over the partitions of `topic`.
    static func produceEvents(_ cluster: MockKafkaCluster, _ topic: String, count: Int, partitions: Int32,
                              _ value: (Int) -> String) throws {
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        for index in 0..<count {
            try producer.produce(topic: topic, partition: Int32(index) % partitions, key: nil, value: Array(value(index).utf8))
        }
        try producer.flush(timeoutMilliseconds: 30_000)
    }

    /// Records covered by the offsets pgk sql committed, over every query and partition.
    static func committedOffsets(_ url: String) -> Int {
        Int((try? S.scalar(url, "SELECT coalesce(sum(next_offset), 0) FROM pgk_sql.offsets")) ?? "0") ?? 0
    }

    static func studentsJSON(_ file: String) throws -> [String] {
        let csv = try String(contentsOfFile: RepositoryPaths.shared("data/students/\(file).csv"), encoding: .utf8)
        var lines = csv.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        let header = lines.removeFirst()
        return lines.map { fields in
            "{" + zip(header, fields).map { name, value in "\"\(name == "cgpa" ? "cpga" : name)\": \(value)" }
                .joined(separator: ", ") + "}"
        }
    }

    /// The seed's statements over JSON topics: the averages it documents.
    @Test func studentsPipelineComputesTheSeedsAverages() throws {
        let fx = try Fixture("sql-students")
        try fx.cluster.createTopic("adm", partitions: 1)
        try fx.cluster.createTopic("res", partitions: 1)
        try fx.produce("adm", try Self.studentsJSON("admit_1"))
        try fx.produce("res", try Self.studentsJSON("research_1"))
        let script = try String(contentsOfFile: RepositoryPaths.path("examples/sql/students.sql"), encoding: .utf8)
            .replacingOccurrences(of: "dbserver1.public.admission", with: "adm")
            .replacingOccurrences(of: "dbserver1.public.research", with: "res")
            .replacingOccurrences(of: "'AVRO'", with: "'JSON'")
        let created = try fx.sql(["-f", "-"], stdin: script)
        #expect(created.status == 0, "\(created.stderr)")
        try fx.catchUp()
        let average = "SELECT research, round(ave_chance::numeric, 5)::text FROM research_ave_boost ORDER BY 1"
        #expect(try fx.rows(average) == [["0", "0.65194"], ["1", "0.79512"]])
        #expect(try fx.rows("SELECT count(*) FROM research_boost") == [["300"]])
        try fx.produce("adm", try Self.studentsJSON("admit_2"))
        try fx.produce("res", try Self.studentsJSON("research_2"))
        try fx.catchUp()
        #expect(try fx.rows(average) == [["0", "0.63491"], ["1", "0.78996"]])
        // The changelog topic: keyed by research (KAFKA format, 4 bytes), last value per key wins.
        var latest: [[UInt8]: String] = [:]
        for message in try fx.topic("research_ave_boost") {
            latest[message.key ?? []] = message.value.map { String(decoding: $0, as: UTF8.self) }
        }
        let one = try #require(latest[[0, 0, 0, 1]])
        // The seed's tables use the old KEY='col' property, so, as KSQL then
        // did, the value repeats the key column.
        #expect(one.hasPrefix(#"{"RESEARCH":1,"AVE_CHANCE":0.7899"#), "\(one)")
        let pull = try fx.sql(["-e", "SELECT * FROM research_ave_boost WHERE research = 1;", "-o", "json"])
        #expect(pull.status == 0 && pull.stdout.contains(#""RESEARCH":1"#) && pull.stdout.contains("0.7899"), "\(pull.stdout)\(pull.stderr)")
    }

    /// Table semantics: an update moves a row between groups, a tombstone
    /// retracts it, a group that empties is deleted, NULL keys are dropped.
    @Test func aggregatesOverATableRetractUpdatesAndTombstones() throws {
        let fx = try Fixture("sql-retract")
        try fx.cluster.createTopic("users", partitions: 1)
        try fx.produce("users", [#"{"region": "eu", "score": 10}"#, #"{"region": "eu", "score": 20}"#,
                                 #"{"region": "us", "score": 5}"#, #"{"region": null, "score": 1}"#],
                       keys: ["a", "b", "c", "d"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE TABLE users (id STRING PRIMARY KEY, region STRING, score INT) WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON');
            CREATE TABLE by_region AS SELECT region, COUNT(*) AS n, SUM(score) AS total,
              COLLECT_LIST(score) AS scores FROM users GROUP BY region HAVING COUNT(*) > 0;
            CREATE TABLE counts AS SELECT region, COUNT(*) AS n, SUM(score) AS total, COLLECT_LIST(score) AS scores, UCASE(region) AS up
              FROM users GROUP BY region;
            CREATE TABLE initials AS SELECT SUBSTRING(region, 1, 1) AS r, COUNT(*) AS n FROM users GROUP BY SUBSTRING(region, 1, 1);
            CREATE TABLE few AS SELECT region, COUNT(*) AS n FROM users GROUP BY region HAVING COUNT(*) < 2;
            CREATE TABLE high AS SELECT region, COUNT(*) AS n FROM users WHERE score > 5 GROUP BY region;
            """)
        // HAVING true at zero does not bring back a group that still has rows;
        // rows WHERE turns down make no group.
        #expect(try fx.rows("SELECT region, n::text FROM few ORDER BY 1") == [["us", "1"]])
        #expect(try fx.rows("SELECT region, n::text FROM high ORDER BY 1") == [["eu", "2"]])
        #expect(try fx.rows("SELECT r, n::text FROM initials ORDER BY 1") == [["e", "2"], ["u", "1"]])
        let query = "SELECT region, n::text, total::text, scores::text FROM by_region ORDER BY 1"
        #expect(try fx.rows(query) == [["eu", "2", "30", "{10,20}"], ["us", "1", "5", "{5}"]])
        // b moves to us; c is deleted; us keeps b only; eu keeps a only.
        try fx.produce("users", [#"{"region": "us", "score": 7}"#, nil], keys: ["b", "c"])
        try fx.catchUp()
        #expect(try fx.rows(query) == [["eu", "1", "10", "{10}"], ["us", "1", "7", "{7}"]])
        #expect(try fx.rows("SELECT r, n::text FROM initials ORDER BY 1") == [["e", "1"], ["u", "1"]])
        try fx.produce("users", [nil], keys: ["a"])
        try fx.catchUp()
        #expect(try fx.rows(query) == [["us", "1", "7", "{7}"]])
        // Without HAVING, an emptied group stays at its starting values, as in ksqlDB.
        #expect(try fx.rows("SELECT region, n::text, total::text, scores::text, up FROM counts ORDER BY 1")
                == [["eu", "0", "0", "{}", "EU"], ["us", "1", "7", "{7}", "US"]])
        let tombstones = try fx.topic("BY_REGION").filter { $0.value == nil }.map { String(decoding: $0.key ?? [], as: UTF8.self) }
        #expect(tombstones == ["eu"], "the emptied group is deleted from the changelog")
        // As in ksqlDB, a table's aggregate must be able to undo a row.
        let streamOnly = try fx.sql(["-e", "CREATE TABLE best AS SELECT region, MAX(score) AS best FROM users GROUP BY region;"])
        #expect(streamOnly.status != 0 && streamOnly.stderr.contains("MAX cannot aggregate a table"), "\(streamOnly.stderr)")
    }

    /// Aggregating a stream across batches: merged accumulators (COUNT,
    /// SUM, AVG, MIN, MAX, *_BY_OFFSET, and the arrays behind
    /// COUNT_DISTINCT, COLLECT_LIST and COLLECT_SET) agree with a direct computation.
    @Test func streamAggregatesMergeAcrossBatches() throws {
        let fx = try Fixture("sql-stream-agg")
        try fx.cluster.createTopic("readings", partitions: 1)
        var events: [(k: String, v: Int?)] = []
        for index in 0..<600 { events.append((["a", "b", "c"][index % 3], index % 7 == 0 ? nil : index % 11)) }
        func json(_ event: (k: String, v: Int?)) -> String { #"{"k": "\#(event.k)", "v": \#(event.v.map(String.init) ?? "null")}"# }
        try fx.produce("readings", events.prefix(250).map(json))
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM readings (k STRING, v INT) WITH (KAFKA_TOPIC='readings', VALUE_FORMAT='JSON');
            CREATE TABLE merged AS SELECT k, COUNT(*) AS n, COUNT(v) AS nv, SUM(v * 2) AS doubled, AVG(v) AS mean,
              SUM(CAST(v AS BIGINT)) / COUNT(*) AS whole,
              MIN(v) AS lo, MAX(v) AS hi, LATEST_BY_OFFSET(v) AS last, EARLIEST_BY_OFFSET(v) AS first
              FROM readings WHERE k <> 'c' GROUP BY k HAVING COUNT(*) > 1;
            CREATE TABLE history AS SELECT k, COUNT_DISTINCT(v) AS distinct_v, COUNT(DISTINCT v) AS also, COUNT(*) AS n,
              COLLECT_LIST(v) AS list, COLLECT_SET(v) AS vset FROM readings GROUP BY k;
            """)
        try fx.produce("readings", events.dropFirst(250).map(json))
        try fx.catchUp()
        for k in ["a", "b"] {
            let values = events.filter { $0.k == k }.map(\.v), present = values.compactMap { $0 }
            let mean = Double(present.reduce(0, +)) / Double(present.count)
            let expected = [k, "\(values.count)", "\(present.count)", "\(present.reduce(0, +) * 2)", String(format: "%.6f", mean),
                            "\(present.min()!)", "\(present.max()!)", "\(present.last!)", "\(present.first!)"]
            #expect(try fx.rows("""
                SELECT k, n::text, nv::text, doubled::text, to_char(mean, 'FM0.000000'), lo::text, hi::text, last::text, first::text
                FROM merged WHERE k = '\(k)'
                """) == [expected])
        }
        #expect(try fx.rows("SELECT count(*)::text FROM merged WHERE k = 'c'") == [["0"]], "filtered out")
        // SUM of whole numbers is a whole number (an INT sum a BIGINT, so it
        // cannot overflow): BIGINT / BIGINT divides whole numbers, as in ksqlDB.
        #expect(try fx.rows("""
            SELECT column_name::text, data_type::text FROM information_schema.columns
            WHERE table_name = 'merged' AND column_name IN ('doubled', 'whole') ORDER BY 1
            """) == [["doubled", "bigint"], ["whole", "bigint"]])
        // Rows rewritten batch after batch get room for HOT updates: the result table and its accumulator.
        #expect(try fx.rows("""
            SELECT relname::text, array_to_string(reloptions, ',') FROM pg_class
            WHERE relname IN ('merged', 'ctas_merged_1_acc') ORDER BY 1
            """) == [["ctas_merged_1_acc", "fillfactor=50"], ["merged", "fillfactor=50"]])
        let a = events.filter { $0.k == "a" }
        #expect(try fx.rows("SELECT whole::text FROM merged WHERE k = 'a'") == [["\(a.compactMap(\.v).reduce(0, +) / a.count)"]])
        #expect(try fx.rows("SELECT k, distinct_v::text, also::text, n::text, list::text, vset::text FROM history ORDER BY k")
                == ["a", "b", "c"].map { k in
                    let values = events.filter { $0.k == k }.map(\.v)
                    let list = "{" + values.map { $0.map(String.init) ?? "NULL" }.joined(separator: ",") + "}"
                    var seen: [String] = []
                    for value in values where !seen.contains(value.map(String.init) ?? "NULL") { seen.append(value.map(String.init) ?? "NULL") }
                    let set = "{" + seen.joined(separator: ",") + "}"
                    return [k, "\(Set(values.compactMap { $0 }).count)", "\(Set(values.compactMap { $0 }).count)",
                            "\(values.count)", list, set]
                })
    }

    /// TUMBLING and HOPPING windows over ROWTIME: one row per group and
    /// window, keyed in Kafka by the group key and the 8-byte window start.
    @Test func windowedAggregatesGroupByWindow() throws {
        let fx = try Fixture("sql-windows")
        try fx.cluster.createTopic("hits", partitions: 1)
        let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
        for (user, time) in [("a", 1_000), ("a", 1_500), ("b", 1_200), ("a", 2_500), ("a", 4_000)] {
            try producer.produce(topic: "hits", partition: 0, key: nil, value: Array(#"{"usr": "\#(user)", "n": 1}"#.utf8),
                                 timestamp: Int64(time))
        }
        try producer.flush(timeoutMilliseconds: 10_000)
        let created = try fx.sql(["-e", """
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM hits (usr STRING, n INT) WITH (KAFKA_TOPIC='hits', VALUE_FORMAT='JSON');
            CREATE TABLE per_two WITH (KAFKA_TOPIC='per_two') AS SELECT usr, COUNT(*) AS c, SUM(n) AS total
              FROM hits WINDOW TUMBLING (SIZE 2 SECONDS) GROUP BY usr;
            CREATE TABLE hopping AS SELECT usr, WINDOWSTART AS ws, WINDOWEND AS we, COUNT(*) AS c
              FROM hits WINDOW HOPPING (SIZE 2 SECONDS, ADVANCE BY 1 SECOND) GROUP BY usr;
            CREATE TABLE users_per_two AS SELECT n, COLLECT_SET(usr) AS users, COUNT_DISTINCT(usr) AS nu
              FROM hits WINDOW TUMBLING (SIZE 2 SECONDS) GROUP BY n;
            CREATE TABLE wide WITH (KAFKA_TOPIC='wide') AS SELECT usr, COUNT(*) AS c
              FROM hits WINDOW HOPPING (SIZE 5 SECONDS, ADVANCE BY 1 SECOND) GROUP BY usr;
            """])
        #expect(created.status == 0, "\(created.stderr)")
        let ran = try fx.sql(["run", "--until-end", "-vv"])
        #expect(ran.status == 0, "\(ran.stderr)")
        // Two windows per record: the batch produces its changelog. Five:
        // it goes through the outbox, sent as the run ends.
        #expect(ran.stderr.contains(/CTAS_HOPPING_[0-9]+: 5 record\(s\), applied in [0-9]+ ms with [1-9][0-9]* changelog record\(s\) sent/),
                "\(ran.stderr)")
        #expect(ran.stderr.contains(/CTAS_WIDE_[0-9]+: 5 record\(s\), applied in [0-9]+ ms with 0 changelog record\(s\) sent/),
                "\(ran.stderr)")
        let wide = try fx.topic("wide").filter { $0.key?.first == UInt8(ascii: "b") }
        #expect(wide.map { $0.key?.suffix(8).reduce(0) { $0 << 8 | Int($1) } ?? -1 }.sorted() == [0, 1000], "\(wide)")
        #expect(try fx.rows("SELECT windowstart::text, users::text, nu::text FROM users_per_two ORDER BY 1") == [
            ["0", "{a,b}", "2"], ["2000", "{a}", "1"], ["4000", "{a}", "1"],
        ])
        #expect(try fx.rows("SELECT usr, windowstart::text, windowend::text, c::text FROM per_two ORDER BY 1, 2") == [
            ["a", "0", "2000", "2"], ["a", "2000", "4000", "1"], ["a", "4000", "6000", "1"], ["b", "0", "2000", "1"],
        ])
        #expect(try fx.rows("SELECT ws::text, we::text, c::text FROM hopping WHERE usr = 'a' ORDER BY 1") == [
            ["0", "2000", "2"], ["1000", "3000", "3"], ["2000", "4000", "1"], ["3000", "5000", "1"], ["4000", "6000", "1"],
        ])
        let records = try fx.topic("per_two")
        let keys = records.map { $0.key ?? [] }
        #expect(keys.contains(Array("a".utf8) + [0, 0, 0, 0, 0, 0, 0x07, 0xd0]), "\(keys)")
        // A window's record carries the latest event time in it, as in ksqlDB.
        let first = records.last { $0.key == Array("a".utf8) + [0, 0, 0, 0, 0, 0, 0, 0] }
        #expect(first?.timestamp == 1_500, "\(String(describing: first))")
        // Sessions take every aggregate, sets included (SQLSessionWindowTests checks the merge).
        let sets = try fx.sql(["-e", "CREATE TABLE sets AS SELECT usr, COLLECT_SET(n) AS l FROM hits WINDOW SESSION (1 MINUTE) GROUP BY usr;"])
        #expect(sets.status == 0, "\(sets.stderr)")
    }

    /// A stream filtered and projected with ksqlDB expressions; the output
    /// topic has upper-case JSON fields and a big-endian KAFKA key.
    @Test func streamQueriesFilterProjectAndRekey() throws {
        let fx = try Fixture("sql-stream")
        try fx.cluster.createTopic("clicks", partitions: 1)
        try fx.produce("clicks", [#"{"user_id": 7, "url": "https://a.example/x", "ms": 1500}"#,
                                  #"{"user_id": 8, "url": "ftp://b", "ms": 10}"#,
                                  #"{"user_id": 9, "url": "https://c.example", "ms": null}"#,
                                  "not json", nil])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM clicks (user_id INT, url STRING, ms BIGINT) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON');
            CREATE STREAM slow WITH (KAFKA_TOPIC='slow') AS SELECT user_id, UCASE(url) AS u,
              CASE WHEN ms IS NULL THEN 'unknown' WHEN ms BETWEEN 1000 AND 5000 THEN 'slow' ELSE 'fast' END AS speed,
              CAST(ms AS DOUBLE) / 1000 AS seconds
            FROM clicks WHERE url LIKE 'https://%' AND user_id IN (7, 9) PARTITION BY user_id;
            """)
        // Keys spread over partitions: compare in key order.
        let messages = try fx.topic("slow").sorted { ($0.key ?? []).lexicographicallyPrecedes($1.key ?? []) }
        #expect(messages.map { $0.key ?? [] } == [[0, 0, 0, 7], [0, 0, 0, 9]])
        #expect(messages.map { String(decoding: $0.value ?? [], as: UTF8.self) } == [
            #"{"U":"HTTPS://A.EXAMPLE/X","SPEED":"slow","SECONDS":1.5}"#,
            #"{"U":"HTTPS://C.EXAMPLE","SPEED":"unknown","SECONDS":null}"#,
        ])
        // A push query prints rows as they arrive and ends at its LIMIT, leaving nothing behind.
        let push = try fx.sql(["-o", "json", "-e", """
            SET 'auto.offset.reset'='earliest';
            SELECT user_id, UCASE(url) AS u FROM clicks WHERE user_id > 7 EMIT CHANGES LIMIT 2;
            """])
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stdout == #"{"USER_ID":8,"U":"FTP://B"}"# + "\n" + #"{"USER_ID":9,"U":"HTTPS://C.EXAMPLE"}"# + "\n")
        #expect(try fx.rows("SELECT count(*)::text FROM pgk_sql.offsets WHERE query_id LIKE 'TRANSIENT%'") == [["0"]])
        let sourceTimes = try fx.topic("clicks").map(\.timestamp)
        #expect(messages.map(\.timestamp) == [sourceTimes[0], sourceTimes[2]], "output records keep their input's ROWTIME")
        let dead = try fx.rows("SELECT kafka_offset::text, reason FROM pgk_sql.dead_letters")
        #expect(dead.count == 1 && dead.first?[0] == "3" && (dead.first?[1] ?? "").contains("json"), "\(dead)")
    }

    /// PostgreSQL restarts under a running `pgk sql run`: it reconnects,
    /// resumes from the committed offsets, and the totals come out exact.
    @Test func postgresRestartUnderARunningQueryLeavesExactTotals() throws {
        let cluster = try MockKafkaCluster()
        let postgres = try TestPostgres.privateCluster()
        defer { postgres.shutdown() }
        let url = try postgres.createDatabase("sql-restart")
        try cluster.createTopic("events", partitions: 4)
        let total = 200_000
        try Self.produceEvents(cluster, "events", count: total, partitions: 4) { #"{"k": \#($0 % 50), "v": 1}"# }
        let environment = S.environment(cluster, url)
        let created = try CommandRunner.pgk(["sql", "-e", """
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM events (k INT, v INT) WITH (KAFKA_TOPIC='events', VALUE_FORMAT='JSON');
            CREATE TABLE totals AS SELECT k, SUM(v) AS s FROM events GROUP BY k;
            """], environment: environment)
        #expect(created.status == 0, "\(created.stderr)")
        let log = try S.temporaryFile("sql-restart.log", contents: "")
        let child = try ChildProcess.spawn(RepositoryPaths.binary, ["sql", "run"], environment: environment,
                                           stdout: .null, stderr: .file(path: log, append: false))
        defer { if child.poll() == nil { child.send(signal: SIGKILL); _ = child.wait() } }
        func committed() -> Int { Self.committedOffsets(url) }
        #expect(S.waitUntil(seconds: 60) { committed() > 0 }, "\(S.log(log))")
        let beforeRestart = committed()
        try postgres.restart()
        #expect(beforeRestart < total, "the run had finished before the restart: the test proved nothing")
        #expect(S.waitUntil(seconds: 120) { committed() == total }, "\(S.log(log))")
        child.send(signal: SIGTERM)
        #expect(child.wait(timeoutMilliseconds: 30_000) == .exited(0), "\(S.log(log))")
        #expect(try S.scalar(url, "SELECT sum(s)::text || ' ' || count(*) FROM totals") == "\(total) 50")
        #expect(S.log(log).contains("restarting from its committed offsets"), "\(S.log(log))")
    }

    /// Two `pgk sql run` processes share a query's partitions; one is
    /// killed with -9 and the other takes its partitions over: exact totals.
    @Test func twoProcessesSharePartitionsAndSurviveAKill() throws {
        let fx = try Fixture("sql-scale-out")
        try fx.cluster.createTopic("events", partitions: 8)
        let total = 160_000
        try Self.produceEvents(fx.cluster, "events", count: total, partitions: 8) { #"{"k": \#($0 % 100), "v": 1}"# }
        let created = try fx.sql(["-e", """
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM events (k INT, v INT) WITH (KAFKA_TOPIC='events', VALUE_FORMAT='JSON');
            CREATE TABLE totals AS SELECT k, SUM(v) AS s, COUNT(*) AS n FROM events GROUP BY k;
            """])
        #expect(created.status == 0, "\(created.stderr)")
        let environment = S.environment(fx.cluster, fx.url)
        let logs = try (0..<2).map { try S.temporaryFile("member\($0).log", contents: "") }
        let members = try logs.map { log in
            try ChildProcess.spawn(RepositoryPaths.binary, ["sql", "run"], environment: environment,
                                   stdout: .null, stderr: .file(path: log, append: false))
        }
        defer { for member in members where member.poll() == nil { member.send(signal: SIGKILL); _ = member.wait() } }
        // Both end up with a share of the 8 partitions.
        #expect(S.waitUntil(seconds: 30) { logs.allSatisfy { S.log($0).contains("with 2 process(es)") } },
                "\(S.log(logs[0]))\n\(S.log(logs[1]))")
        members[0].send(signal: SIGKILL)
        _ = members[0].wait()
        func committed() -> Int { Self.committedOffsets(fx.url) }
        #expect(S.waitUntil(seconds: 90) { committed() == total }, "\(S.log(logs[1]))")
        // The survivor takes the dead member's partitions at its next lease check.
        #expect(S.waitUntil(seconds: 30) { S.log(logs[1]).contains("runs partition(s) 0,1,2,3,4,5,6,7 with 1 process(es)") },
                "\(S.log(logs[1]))")
        members[1].send(signal: SIGTERM)
        #expect(members[1].wait(timeoutMilliseconds: 30_000) == .exited(0), "\(S.log(logs[1]))")
        #expect(try fx.rows("SELECT sum(s)::text, sum(n)::text, count(*)::text FROM totals") == [["\(total)", "\(total)", "100"]])
        // Both wrote the same groups: each group's last changelog record is still its total.
        var latest: [Int: String] = [:]
        for message in try fx.topic("TOTALS") {
            latest[(message.key ?? []).reduce(0) { $0 << 8 | Int($1) }] = message.value.map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(latest.count == 100 && latest.values.allSatisfy { $0 == #"{"S":1600,"N":1600}"# }, "\(latest)")
    }

    /// TERMINATE in another session stops the query in a running
    /// `pgk sql run`, which then neither recreates its state nor writes.
    @Test func terminateStopsTheQueryInARunningProcess() throws {
        let fx = try Fixture("sql-terminate-running")
        try fx.cluster.createTopic("ticks", partitions: 1)
        try fx.produce("ticks", [#"{"k": 1}"#])
        let created = try fx.sql(["-e", """
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM ticks (k INT) WITH (KAFKA_TOPIC='ticks', VALUE_FORMAT='JSON');
            CREATE TABLE per_k AS SELECT k, COUNT(*) AS n FROM ticks GROUP BY k;
            """])
        #expect(created.status == 0, "\(created.stderr)")
        let log = try S.temporaryFile("terminate.log", contents: "")
        let child = try ChildProcess.spawn(RepositoryPaths.binary, ["sql", "run"], environment: S.environment(fx.cluster, fx.url),
                                           stdout: .null, stderr: .file(path: log, append: false))
        defer { if child.poll() == nil { child.send(signal: SIGKILL); _ = child.wait() } }
        #expect(S.waitUntil(seconds: 30) { (try? fx.rows("SELECT n::text FROM per_k")) == [["1"]] }, "\(S.log(log))")
        let terminated = try fx.sql(["-e", "TERMINATE CTAS_PER_K_1;"])
        #expect(terminated.status == 0, "\(terminated.stderr)")
        #expect(S.waitUntil(seconds: 30) { S.log(log).contains("CTAS_PER_K_1 was terminated; it stops here") }, "\(S.log(log))")
        try fx.produce("ticks", [#"{"k": 1}"#])
        usleep(1_500_000)
        #expect(try fx.rows("SELECT n::text FROM per_k") == [["1"]], "the terminated query wrote nothing more")
        #expect(try fx.rows("SELECT count(*)::text FROM pg_tables WHERE tablename LIKE 'ctas_per_k_1%'") == [["0"]])
        child.send(signal: SIGTERM)
        #expect(child.wait(timeoutMilliseconds: 30_000) == .exited(0), "\(S.log(log))")
    }

    /// A record PostgreSQL rejects at run time (a failing CAST) goes to the
    /// dead letters alone; the rest of its batch and the query go on.
    @Test func aRecordPostgreSQLRejectsIsDeadLetteredAndTheQueryGoesOn() throws {
        let fx = try Fixture("sql-runtime-error")
        try fx.cluster.createTopic("raw", partitions: 1)
        try fx.produce("raw", (0..<40).map { index in index == 17 ? #"{"s": "abc"}"# : #"{"s": "\#(index)"}"# })
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM raw (s STRING) WITH (KAFKA_TOPIC='raw', VALUE_FORMAT='JSON');
            CREATE TABLE parsed AS SELECT s, CAST(s AS INT) AS n FROM raw GROUP BY s;
            """)
        #expect(try fx.rows("SELECT count(*)::text, sum(n)::text FROM parsed") == [["39", String((0..<40).reduce(0, +) - 17)]])
        let dead = try fx.rows("SELECT kafka_offset::text, reason FROM pgk_sql.dead_letters")
        #expect(dead.count == 1 && dead.first?[0] == "17" && (dead.first?[1] ?? "").contains("22P02"), "\(dead)")
    }

    /// The catalog statements: a source another query reads cannot be
    /// dropped; TERMINATE removes the query and its state, the sink stays
    /// until dropped, and DROP TABLE drops its PostgreSQL table too.
    @Test func showDescribeTerminateAndDropKeepTheCatalogConsistent() throws {
        let fx = try Fixture("sql-catalog")
        try fx.cluster.createTopic("orders", partitions: 1)
        try fx.produce("orders", [#"{"item": "x", "qty": 2}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM orders (item STRING, qty INT) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');
            CREATE TABLE per_item AS SELECT item, SUM(qty) AS qty FROM orders GROUP BY item;
            """)
        let blocked = try fx.sql(["-e", "DROP STREAM orders;"])
        #expect(blocked.status == 1 && blocked.stderr.contains("query CTAS_PER_ITEM_1 reads it"), "\(blocked.stderr)")
        let described = try fx.sql(["-o", "json", "-e", "DESCRIBE per_item; SHOW QUERIES; LIST PROPERTIES; SHOW TOPICS;"])
        #expect(described.status == 0, "\(described.stderr)")
        #expect(described.stdout.contains(#"{"field":"ITEM","type":"STRING (primary key)"}"#), "\(described.stdout)")
        #expect(described.stdout.contains(#""id":"CTAS_PER_ITEM_1""#) && described.stdout.contains(#""kafka_topic":"orders""#))
        #expect(described.stdout.contains(#"{"property":"auto.offset.reset","value":"latest"}"#))
        let terminated = try fx.sql(["-e", "TERMINATE CTAS_PER_ITEM_1; SHOW QUERIES;"])
        #expect(terminated.status == 0 && !terminated.stdout.contains("CTAS_PER_ITEM_1"), "\(terminated.stdout)\(terminated.stderr)")
        #expect(try fx.rows("SELECT count(*)::text FROM pg_tables WHERE schemaname = 'pgk_sql' AND tablename LIKE 'ctas_per_item_1%'") == [["0"]])
        #expect(try fx.rows("SELECT item, qty::text FROM per_item") == [["x", "2"]], "the sink's rows stay")
        let dropped = try fx.sql(["-e", "DROP TABLE per_item; DROP STREAM orders; DROP STREAM IF EXISTS nothing; SHOW TABLES;"])
        #expect(dropped.status == 0, "\(dropped.stderr)")
        #expect(try fx.rows("SELECT count(*)::text FROM pg_tables WHERE tablename = 'per_item'") == [["0"]])
        let unknown = try fx.sql(["-e", "DROP TABLE per_itme;"])
        #expect(unknown.status == 1 && unknown.stderr.contains("unknown table PER_ITME"), "\(unknown.stderr)")
    }

    /// On a terminal `pgk sql` prompts; statements may span lines, an
    /// error is shown and the session goes on.
    @Test func promptOnATerminalRunsStatementsAndSurvivesErrors() throws {
        let fx = try Fixture("sql-prompt")
        let input = "CREATE STREAM x (a INT)\nWITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON');\nSELEC 1;\nSHOW STREAMS;\nexit\n"
        // script(1) gives pgk a pseudo-terminal as stdin.
        let result = try CommandRunner.run("/usr/bin/script", ["-qec", "'\(RepositoryPaths.binary)' sql", "/dev/null"],
                                           environment: S.environment(fx.cluster, fx.url), stdin: Data(input.utf8))
        #expect(result.status == 0, "\(result.stderr)")
        let output = result.stdout
        #expect(output.contains("pgk sql> ") && output.contains("      -> "), "\(output)")
        #expect(output.contains("did you mean 'SELECT'?"), "\(output)")
        #expect(output.contains("X     x      KAFKA       JSON"), "\(output)")
    }

    /// Mistakes are caught when the statement is created, with its position.
    @Test func badStatementsAreRejectedAtCreation() throws {
        let fx = try Fixture("sql-errors")
        let base = "CREATE STREAM s (id INT, name STRING) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');\n"
        let unknown = try fx.sql(["-e", base + "CREATE STREAM t AS SELECT id, nmae FROM s;"])
        #expect(unknown.status == 1 && unknown.stderr.contains("line 2") && unknown.stderr.contains("unknown column NMAE")
                && unknown.stderr.contains("did you mean NAME?"), "\(unknown.stderr)")
        let typed = try fx.sql(["-e", "CREATE STREAM t AS SELECT id * name AS x FROM s;"])
        #expect(typed.status == 1 && typed.stderr.contains("operator does not exist"), "\(typed.stderr)")
        let shape = try fx.sql(["-e", "CREATE STREAM t AS SELECT name, COUNT(*) AS n FROM s GROUP BY name;"])
        #expect(shape.status == 1 && shape.stderr.contains("use CREATE TABLE"), "\(shape.stderr)")
        let syntax = try fx.sql(["-e", "SELEC * FROM s;"])
        #expect(syntax.status == 1 && syntax.stderr.contains("line 1, column 1") && syntax.stderr.contains("SELECT"), "\(syntax.stderr)")
        #expect(try fx.rows("SELECT count(*) FROM pgk_sql.queries") == [["0"]], "nothing half-created")
        let show = try fx.sql(["-e", "SHOW STREAMS; DESCRIBE s;", "-o", "json"])
        #expect(show.status == 0 && show.stdout.contains(#""name":"S""#) && show.stdout.contains(#""field":"NAME""#), "\(show.stdout)")
    }

    /// kill -9 in the middle of a run, then a restart: the same tables as
    /// an uninterrupted run (state, results and offsets commit together).
    @Test func killDashNineLeavesTheSameTablesAsAnUninterruptedRun() throws {
        let fx = try Fixture("sql-kill9")
        try fx.cluster.createTopic("events", partitions: 2)
        try Self.produceEvents(fx.cluster, "events", count: 60_000, partitions: 2) { #"{"k": \#($0 % 97), "v": \#($0 % 13)}"# }
        let created = try fx.sql(["-e", """
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM events (k INT, v INT) WITH (KAFKA_TOPIC='events', VALUE_FORMAT='JSON');
            CREATE TABLE totals AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM events GROUP BY k;
            """])
        #expect(created.status == 0, "\(created.stderr)")
        func committed() -> Int { Self.committedOffsets(fx.url) }
        var killedMidway = 0
        for _ in 0..<3 {
            let before = committed()
            let child = try ChildProcess.spawn(RepositoryPaths.binary, ["sql", "run", "-v"],
                                               environment: S.environment(fx.cluster, fx.url), stdout: .null, stderr: .null)
            // Kill only once this process has committed something of its own.
            _ = S.waitUntil(seconds: 30) { committed() > before }
            usleep(UInt32.random(in: 0...50_000))
            child.send(signal: SIGKILL)
            _ = child.wait()
            if committed() < 60_000 { killedMidway += 1 }
        }
        #expect(killedMidway > 0, "every kill came after the run had finished: the test proved nothing")
        try fx.catchUp()
        #expect(try fx.rows("SELECT sum(n)::text, sum(s)::text, count(*)::text FROM totals")
                == [["60000", String((0..<60_000).reduce(0) { $0 + $1 % 13 }), "97"]])
    }

    /// A running `pgk sql run` sends a table's changelog itself, each
    /// batch's before it commits, and the topic ends with each key's total.
    @Test func aRunningTableQuerySendsEachBatchsChangelogItself() throws {
        let fx = try Fixture("sql-publisher")
        try fx.cluster.createTopic("events", partitions: 2)
        let total = 300_000
        try Self.produceEvents(fx.cluster, "events", count: total, partitions: 2) { #"{"k": \#($0 % 3), "v": 1}"# }
        let created = try fx.sql(["-e", """
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM events (k INT, v INT) WITH (KAFKA_TOPIC='events', VALUE_FORMAT='JSON');
            CREATE TABLE totals AS SELECT k, SUM(v) AS s FROM events GROUP BY k;
            """])
        #expect(created.status == 0, "\(created.stderr)")
        let log = try S.temporaryFile("sql-publisher.log", contents: "")
        let child = try ChildProcess.spawn(RepositoryPaths.binary, ["sql", "run", "-vv"], environment: S.environment(fx.cluster, fx.url),
                                           stdout: .null, stderr: .file(path: log, append: false))
        defer { if child.poll() == nil { child.send(signal: SIGKILL); _ = child.wait() } }
        func latest() throws -> [String: String] {
            var values: [String: String] = [:]
            for message in try fx.topic("TOTALS") {
                let key = (message.key ?? []).reduce(0) { $0 << 8 | Int($1) }
                values[String(key)] = message.value.map { String(decoding: $0, as: UTF8.self) }
            }
            return values
        }
        #expect(S.waitUntil(seconds: 60) { (try? latest()) == ["0": #"{"S":100000}"#, "1": #"{"S":100000}"#, "2": #"{"S":100000}"#] },
                "\(S.log(log)) \((try? latest()) ?? [:])")
        #expect(child.poll() == nil, "the process stopped: \(S.log(log))")
        // Each batch produces the changelog of the groups it changed (all
        // three here) before it commits, the first one too: nothing waits
        // in the outbox for a round of publishing.
        let firstBatch = S.log(log).split(separator: "\n").first { $0.contains(" applied in ") }
        #expect(firstBatch?.contains(" with 3 changelog record(s) sent") == true, "\(firstBatch ?? "no batch")")
        #expect(try S.scalar(fx.url, "SELECT count(*)::text FROM pgk_sql.changelog") == "0")
        // Caught up, it steps five times a second but looks into the outbox
        // about once a second.
        func rounds() -> Int { S.log(log).components(separatedBy: "changelog round").count - 1 }
        let before = rounds()
        Thread.sleep(forTimeInterval: 4)
        #expect((1...6).contains(rounds() - before), "\(rounds() - before) changelog rounds in 4 idle seconds")
        child.send(signal: SIGTERM)
        #expect(child.wait(timeoutMilliseconds: 30_000) == .exited(0), "\(S.log(log))")
    }

    /// Changelog rows an older pgk left in the outbox go out when the
    /// query starts.
    @Test func changelogLeftInTheOutboxIsSentWhenTheQueryStarts() throws {
        let fx = try Fixture("sql-outbox-left")
        try fx.cluster.createTopic("events", partitions: 1)
        try Self.produceEvents(fx.cluster, "events", count: 10, partitions: 1) { _ in #"{"k": 1, "v": 1}"# }
        let created = try fx.sql(["-e", """
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM events (k INT, v INT) WITH (KAFKA_TOPIC='events', VALUE_FORMAT='JSON');
            CREATE TABLE totals AS SELECT k, SUM(v) AS s FROM events GROUP BY k;
            """])
        #expect(created.status == 0, "\(created.stderr)")
        _ = try S.scalar(fx.url, """
            INSERT INTO pgk_sql.changelog (query_id, topic, key, value, ts)
            SELECT id, 'TOTALS', '{"k": 7}', '{"k": 7, "s": 70}', 1000 FROM pgk_sql.queries RETURNING 1
            """)
        let run = try fx.sql(["run", "--until-end"])
        #expect(run.status == 0, "\(run.stderr)")
        let records = try fx.topic("TOTALS").map { message in
            "\((message.key ?? []).reduce(0) { $0 << 8 | Int($1) }) \(message.value.map { String(decoding: $0, as: UTF8.self) } ?? "null")"
        }
        // (Keys in partitions of their own: no order between them.)
        #expect(records.sorted() == [#"1 {"S":10}"#, #"7 {"S":70}"#])
        #expect(try S.scalar(fx.url, "SELECT count(*)::text FROM pgk_sql.changelog") == "0")
    }
}
