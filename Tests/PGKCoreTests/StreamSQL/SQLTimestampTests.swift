import Foundation
import Testing
@testable import PGKCore

/// `WITH (TIMESTAMP='col')`: ROWTIME from a column of the value.
@Suite struct SQLTimestampTests {
    typealias Fixture = SQLCommandTests.Fixture

    @Test func aTimestampColumnDrivesRowtimeWindowsAndOutputRecords() throws {
        let fx = try Fixture("sql-timestamp")
        try fx.cluster.createTopic("readings", partitions: 1)
        // The records' own timestamps (now) differ from their event times.
        try fx.produce("readings", [#"{"dev": "a", "at": 1000}"#, #"{"dev": "a", "at": 1999}"#, #"{"dev": "a", "at": 2000}"#,
                                    #"{"dev": "a", "at": null}"#, #"{"dev": "a", "at": -1}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM readings (dev STRING, at BIGINT) WITH (KAFKA_TOPIC='readings', VALUE_FORMAT='JSON', TIMESTAMP='at');
            CREATE TABLE per_second AS SELECT dev, COUNT(*) AS c FROM readings WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY dev;
            CREATE STREAM copied AS SELECT dev, ROWTIME AS rt FROM readings;
            """)
        #expect(try fx.rows("SELECT windowstart::text, c::text FROM per_second ORDER BY 1") == [["1000", "2"], ["2000", "1"]])
        let copied = try fx.topic("COPIED")
        #expect(copied.map { $0.timestamp ?? -1 }.sorted() == [1000, 1999, 2000], "\(copied)")
        // A record without a usable time is a dead letter of each query, not a guess; a negative
        // time is skipped, as Kafka Streams skips it.
        #expect(try fx.rows("SELECT count(*)::text FROM pgk_sql.dead_letters WHERE reason LIKE '%TIMESTAMP column AT%'") == [["4"]])
        #expect(try fx.rows("SELECT count(*)::text FROM pgk_sql.dead_letters WHERE reason LIKE '%negative time, -1%'") == [["2"]])
        let bad = try fx.sql(["-e", "CREATE STREAM r2 (dev STRING, at BIGINT) WITH (KAFKA_TOPIC='readings', VALUE_FORMAT='JSON', TIMESTAMP='att');"])
        #expect(bad.status != 0 && bad.stderr.contains("names no column") && bad.stderr.contains("did you mean AT?"), "\(bad.stderr)")
    }
}

extension SQLTimestampTests {
    /// `ksql.timestamp.throw.on.invalid`: a record without a valid time
    /// stops its query (the query keeps the setting); other queries go
    /// on, and the record is left unconsumed.
    @Test func anInvalidTimestampStopsTheQueryWhenAskedTo() throws {
        let fx = try Fixture("sql-timestamp-throw")
        try fx.cluster.createTopic("stamped", partitions: 1)
        try fx.produce("stamped", [#"{"id": 1, "ts": "20-01-02 03:04:05Z"}"#, #"{"id": 2, "ts": "!!!!"}"#,
                                   #"{"id": 3, "ts": "20-01-02 03:04:06Z"}"#])
        let created = try fx.sql(["-e", """
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM stamped (id BIGINT, ts STRING)
              WITH (KAFKA_TOPIC='stamped', VALUE_FORMAT='JSON', TIMESTAMP='ts', TIMESTAMP_FORMAT='yy-MM-dd HH:mm:ssX');
            CREATE STREAM skipping AS SELECT id FROM stamped;
            SET 'ksql.timestamp.throw.on.invalid'='true';
            CREATE STREAM throwing AS SELECT id FROM stamped;
            """])
        #expect(created.status == 0, "\(created.stderr)")
        let ran = try fx.sql(["run", "--until-end"])
        #expect(ran.status == 1, "\(ran.stderr)")
        #expect(ran.stderr.contains("stamped[0] offset 1") && ran.stderr.contains("throw.on.invalid is true"), "\(ran.stderr)")
        #expect(try fx.topic("SKIPPING").count == 2)
        // The record before it was processed, as in ksqlDB.
        #expect(try fx.topic("THROWING").count == 1)
        // Nothing from the record on was committed for the stopped query.
        #expect(try fx.rows("SELECT next_offset::text FROM pgk_sql.offsets WHERE query_id LIKE 'CSAS_THROWING%'") == [["1"]])
    }

    /// A window closes once stream time passes its end plus the grace
    /// period; a record arriving for a closed window is dropped.
    @Test func lateRecordsForClosedWindowsAreDropped() throws {
        let fx = try Fixture("sql-grace")
        try fx.cluster.createTopic("taps", partitions: 1)
        let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
        for time in [1_000, 2_500, 500, 1_800] {
            try producer.produce(topic: "taps", partition: 0, key: nil, value: Array(#"{"usr": "a"}"#.utf8), timestamp: Int64(time))
        }
        try producer.flush(timeoutMilliseconds: 10_000)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM taps (usr STRING) WITH (KAFKA_TOPIC='taps', VALUE_FORMAT='JSON');
            CREATE TABLE strict AS SELECT usr, COUNT(*) AS c FROM taps WINDOW TUMBLING (SIZE 1 SECOND, GRACE PERIOD 1 SECOND) GROUP BY usr;
            CREATE TABLE lenient AS SELECT usr, COUNT(*) AS c FROM taps WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY usr;
            """)
        #expect(try fx.rows("SELECT windowstart::text, c::text FROM strict ORDER BY 1") == [["1000", "2"], ["2000", "1"]])
        #expect(try fx.rows("SELECT windowstart::text, c::text FROM lenient ORDER BY 1") == [["0", "1"], ["1000", "2"], ["2000", "1"]])
        // Stream time carries over to later batches: 900 is late for [0, 1000) too.
        try producer.produce(topic: "taps", partition: 0, key: nil, value: Array(#"{"usr": "a"}"#.utf8), timestamp: 900)
        try producer.flush(timeoutMilliseconds: 10_000)
        try fx.catchUp()
        #expect(try fx.rows("SELECT windowstart::text, c::text FROM strict ORDER BY 1") == [["1000", "2"], ["2000", "1"]])
        #expect(try fx.rows("SELECT windowstart::text, c::text FROM lenient ORDER BY 1") == [["0", "2"], ["1000", "2"], ["2000", "1"]])
    }

    /// Stream time is per partition: one partition far ahead (a backfill)
    /// does not close the windows of another.
    @Test func streamTimeIsKeptPerPartition() throws {
        let fx = try Fixture("sql-grace-partitions")
        try fx.cluster.createTopic("spread", partitions: 2)
        let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
        for (partition, time) in [(Int32(0), Int64(200_000_000)), (1, 1_000), (1, 1_500)] {
            try producer.produce(topic: "spread", partition: partition, key: nil, value: Array(#"{"usr": "a"}"#.utf8), timestamp: time)
        }
        try producer.flush(timeoutMilliseconds: 10_000)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM spread (usr STRING) WITH (KAFKA_TOPIC='spread', VALUE_FORMAT='JSON');
            CREATE TABLE per_second AS SELECT usr, COUNT(*) AS c FROM spread WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY usr;
            """)
        #expect(try fx.rows("SELECT windowstart::text, c::text FROM per_second ORDER BY 1") == [["1000", "2"], ["200000000", "1"]])
    }
}

extension SQLTimestampTests {
    @Test func aStringTimeIsReadWithItsTimestampFormat() throws {
        let fx = try Fixture("sql-timestamp-format")
        try fx.cluster.createTopic("logins", partitions: 1)
        try fx.produce("logins", [#"{"usr": "a", "at": "2024-01-02 03:04:05.250"}"#, #"{"usr": "a", "at": "2024-01-02 03:04:05.900"}"#,
                                  #"{"usr": "a", "at": "yesterday"}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM logins (usr STRING, at STRING)
              WITH (KAFKA_TOPIC='logins', VALUE_FORMAT='JSON', TIMESTAMP='at', TIMESTAMP_FORMAT='yyyy-MM-dd HH:mm:ss.SSS');
            CREATE TABLE per_second AS SELECT usr, COUNT(*) AS c FROM logins WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY usr;
            """)
        // 2024-01-02T03:04:05Z is 1704164645 s after the epoch (UTC).
        #expect(try fx.rows("SELECT windowstart::text, c::text FROM per_second") == [["1704164645000", "2"]])
        #expect(try fx.rows("SELECT count(*)::text FROM pgk_sql.dead_letters WHERE reason LIKE '%TIMESTAMP_FORMAT%'") == [["1"]])
        let notString = try fx.sql(["-e", "CREATE STREAM l2 (at BIGINT) WITH (KAFKA_TOPIC='logins', VALUE_FORMAT='JSON', "
            + "TIMESTAMP='at', TIMESTAMP_FORMAT='yyyy');"])
        #expect(notString.status != 0 && notString.stderr.contains("to be a STRING column"), "\(notString.stderr)")
        let alone = try fx.sql(["-e", "CREATE STREAM l3 (at STRING) WITH (KAFKA_TOPIC='logins', VALUE_FORMAT='JSON', TIMESTAMP_FORMAT='yyyy');"])
        #expect(alone.status != 0 && alone.stderr.contains("TIMESTAMP_FORMAT needs TIMESTAMP"), "\(alone.stderr)")
    }

    @Test func rowtimeFormatsReadJavaPatternsInUTC() throws {
        let iso = try RowtimeFormat(javaPattern: "yyyy-MM-dd'T'HH:mm:ssXXX")
        #expect(iso.milliseconds("1970-01-01T01:00:00+01:00") == 0)
        #expect(iso.milliseconds("1970-01-01T00:00:01Z") == 1_000)
        #expect(iso.milliseconds("1970-01-01 00:00:01") == nil)
        let day = try RowtimeFormat(javaPattern: "dd/MM/yyyy")
        #expect(day.milliseconds("02/01/1970") == 86_400_000)
        #expect(throws: PlanError.self) { try RowtimeFormat(javaPattern: "") }
    }
}

extension SQLTimestampTests {
    /// ksqlDB's JSON has times as numbers and bytes in base64.
    @Test func jsonOutputWritesTimesAsNumbersAndBytesInBase64() throws {
        let fx = try Fixture("sql-json-times")
        try fx.cluster.createTopic("moments", partitions: 1)
        try fx.produce("moments", [#"{"AT": 34, "DAY": 2345, "DAYTIME": 234, "RAW": "Yg=="}"#], keys: ["k"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM moments (id STRING KEY, at TIMESTAMP, day DATE, daytime TIME, raw BYTES)
              WITH (KAFKA_TOPIC='moments', VALUE_FORMAT='JSON');
            CREATE STREAM copied AS SELECT * FROM moments;
            CREATE TABLE latest AS SELECT id, LATEST_BY_OFFSET(at) AS at, LATEST_BY_OFFSET(raw) AS raw FROM moments GROUP BY id;
            """)
        let copied = try fx.topic("COPIED").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(copied == [#"{"AT":34,"DAY":2345,"DAYTIME":234,"RAW":"Yg=="}"#])
        let latest = try fx.topic("LATEST").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(latest.last == #"{"AT":34,"RAW":"Yg=="}"#)
    }
}

extension SQLTimestampTests {
    /// A pattern from a column is read per record; one pgk cannot read
    /// makes that record a dead letter, and the others go on.
    @Test func patternsFromAColumnAreReadPerRecord() throws {
        let fx = try Fixture("sql-column-patterns")
        try fx.cluster.createTopic("dates", partitions: 1)
        try fx.produce("dates", [#"{"D": "2020-01-02", "P": "yyyy-MM-dd"}"#, #"{"D": "02/01/2020", "P": "dd/MM/yyyy"}"#,
                                 #"{"D": "2020-Q1", "P": "yyyy-QQ"}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM dates (d STRING, p STRING) WITH (KAFKA_TOPIC='dates', VALUE_FORMAT='JSON');
            CREATE STREAM parsed AS SELECT FORMAT_DATE(PARSE_DATE(d, p), 'yyyy-MM-dd') AS day FROM dates;
            """)
        let days = try fx.topic("PARSED").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(days.sorted() == [#"{"DAY":"2020-01-02"}"#, #"{"DAY":"2020-01-02"}"#], "\(days)")
        #expect(try fx.rows("SELECT count(*)::text FROM pgk_sql.dead_letters WHERE reason LIKE '%pattern letter ''QQ''%'") == [["1"]])
    }
}
