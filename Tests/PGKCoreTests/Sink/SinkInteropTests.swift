import Foundation
import Testing
@testable import PGKCore

/// Third-party producers (Python confluent-kafka with msgpack and Avro,
/// kcat) feeding `pgk sink`, plus the demo data sets.
@Suite struct SinkInteropTests {
    typealias S = SinkTestSupport

    @Test func msgpackFromPython() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-msgpack")
        let topic = KafkaTestSupport.uniqueName("mp")
        try cluster.createTopic(topic, partitions: 2)
        _ = try Python.run("""
            import sys, msgpack
            from confluent_kafka import Producer
            p = Producer({"bootstrap.servers": sys.argv[1]})
            for i in range(50):
                value = {"id": i, "name": "n%d" % i, "score": i / 2, "tags": ["a", i], "raw": b"\\x00\\x01"}
                p.produce(sys.argv[2], key=str(i).encode(), value=msgpack.packb(value, use_bin_type=True))
            p.produce(sys.argv[2], key=b"x", value=b"\\x82\\xa2id")
            p.flush(30)
            """, arguments: [cluster.bootstrapServers, topic], needs: ["msgpack", "confluent_kafka"])
        let result = try S.sink(cluster, url, ["-t", topic, "--table", "mp", "--packing", "msgpack", "--map", "columns",
                                               "--key-columns", "id", "--until-end"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try S.rows(url, "SELECT count(*), sum(id) FROM mp") == [["50", "1225"]])
        #expect(try S.rows(url, "SELECT name, score, tags::text, raw FROM mp WHERE id = 3") == [["n3", "1.5", "[\"a\", 3]", "AAE="]])
        #expect(try S.rows(url, "SELECT data_type FROM information_schema.columns WHERE table_name = 'mp' ORDER BY column_name")
                == [["bigint"], ["text"], ["text"], ["double precision"], ["jsonb"]])
        #expect(try S.scalar(url, "SELECT error FROM mp_errors")?.contains("msgpack") == true)
    }

    @Test func avroFromPythonThroughTheEmbeddedRegistry() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-avro")
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        let topic = KafkaTestSupport.uniqueName("readings")
        try cluster.createTopic(topic, partitions: 1)
        _ = try Python.run("""
            import sys, datetime
            from confluent_kafka import SerializingProducer
            from confluent_kafka.schema_registry import SchemaRegistryClient
            from confluent_kafka.schema_registry.avro import AvroSerializer
            from confluent_kafka.serialization import StringSerializer
            schema = '''{"type": "record", "name": "Reading", "fields": [
              {"name": "id", "type": "long"}, {"name": "sensor", "type": "string"},
              {"name": "value", "type": "double"},
              {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
              {"name": "note", "type": ["null", "string"], "default": null}]}'''
            registry = SchemaRegistryClient({"url": sys.argv[3]})
            producer = SerializingProducer({"bootstrap.servers": sys.argv[1], "key.serializer": StringSerializer("utf_8"),
                                            "value.serializer": AvroSerializer(registry, schema)})
            start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
            for i in range(20):
                producer.produce(sys.argv[2], key=str(i), value={"id": i, "sensor": "s%d" % (i % 3), "value": i * 1.25,
                                 "at": start + datetime.timedelta(seconds=i), "note": None if i % 2 else "even"})
            producer.flush(30)
            """, arguments: [cluster.bootstrapServers, topic, registry.url],
            needs: ["confluent_kafka.schema_registry.avro", "fastavro"])
        let result = try S.sink(cluster, url, ["-t", topic, "--table", "readings", "--packing", "avro", "--registry", registry.url,
                                               "--map", "columns", "--until-end"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try S.rows(url, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'readings' ORDER BY ordinal_position")
                == [["id", "bigint"], ["sensor", "text"], ["value", "double precision"], ["at", "timestamp with time zone"], ["note", "text"]])
        #expect(try S.rows(url, "SELECT id, sensor, value, at AT TIME ZONE 'UTC', note FROM readings WHERE id IN (4, 5) ORDER BY id")
                == [["4", "s1", "5", "2024-01-01 00:00:04", "even"], ["5", "s2", "6.25", "2024-01-01 00:00:05", nil]])
        #expect(try S.scalar(url, "SELECT count(*) FROM readings") == "20")
    }

    /// The postgres-kafka-connect demo: admissions and research CSVs
    /// produced as JSON with kcat, sunk, and joined in SQL.
    @Test func studentsDemoAveragesMatch() throws {
        let cluster = try MockKafkaCluster()
        let url = try TestPostgres.freshDatabase("sink-students")
        var tables: [String] = []
        for file in ["admit_1", "research_1"] {
            let topic = KafkaTestSupport.uniqueName(file)
            let csv = try String(contentsOfFile: RepositoryPaths.shared("data/students/\(file).csv"), encoding: .utf8)
            let lines = csv.split(whereSeparator: \.isNewline).map(String.init)
            let header = lines[0].split(separator: ",").map(String.init)
            let messages = lines.dropFirst().map { line -> String in
                let fields = line.split(separator: ",").map(String.init)
                let object = zip(header, fields).map { "\"\($0)\": \($1)" }.joined(separator: ", ")
                return "\(fields[0]):{\(object)}\n"
            }
            #expect(messages.count == 300)
            let (status, _, stderr) = try KafkaTestSupport.run("/usr/bin/kcat", ["-P", "-b", cluster.bootstrapServers, "-t", topic, "-K:"],
                                                               input: Data(messages.joined().utf8))
            #expect(status == 0, "kcat: \(stderr)")
            let table = file.split(separator: "_")[0] == "admit" ? "admit" : "research"
            tables.append(table)
            let result = try S.sink(cluster, url, ["-t", topic, "--table", table, "--map", "columns", "--key-columns", "student_id",
                                                   "--until-end"])
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(tables == ["admit", "research"])
        #expect(try S.rows(url, """
            SELECT r.research, round(avg(a.admit_chance)::numeric, 5), count(*)
            FROM admit a JOIN research r USING (student_id) GROUP BY 1 ORDER BY 1
            """) == [["0", "0.65194", "134"], ["1", "0.79512", "166"]])
    }

    /// dbsink's NamedGenericGeography example, for real on PostGIS.
    @Test func geographyExampleOnPostGIS() throws {
        let url = try TestPostgres.freshDatabase("sink-geo")
        do {
            try PostgresConnection(conninfo: url).execute("CREATE EXTENSION postgis")
        } catch {
            Issue.record("PostGIS is needed for this test (apt-get install postgresql-postgis): \(error)")
            return
        }
        let map = RepositoryPaths.path("maps/examples/NamedGenericGeography.yaml")
        let file = try S.temporaryFile("geo.ndjson", contents: """
            {"time": 1000000000, "name": "area", "geojson": {"geometry": {"type": "Polygon", "coordinates": [[[-118.5, 32.1], [-118.4, 32.1], [-118.4, 32.0], [-118.5, 32.1]]]}}}
            {"time": 1000000001, "name": "point", "geojson": {"geometry": {"type": "Point", "coordinates": [-70.1, 41.5]}}}
            {"time": 1000000001, "name": "point", "geojson": {"geometry": {"type": "Point", "coordinates": [-70.2, 41.6]}}}
            {"time": 1000000002, "name": "no geometry", "geojson": {}}
            {"time": 1000000003, "name": "bad geometry", "geojson": {"geometry": {"type": "Pointy", "coordinates": 5}}}
            """)
        let result = try S.sink(nil, url, ["--from-file", file, "--table", "geo", "--map", map])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try S.rows(url, "SELECT name, extract(epoch FROM time)::bigint, ST_AsText(geom) FROM geo ORDER BY time") == [
            ["area", "1000000000", "POLYGON((-118.5 32.1,-118.4 32.1,-118.4 32,-118.5 32.1))"],
            ["point", "1000000001", "POINT(-70.2 41.6)"]])
        #expect(try S.rows(url, "SELECT \"offset\", sqlstate, check_name FROM geo_errors ORDER BY 1") == [["3", nil, "has_geometry"], ["4", "XX000", nil]])
        #expect(try S.scalar(url, "SELECT count(*) FROM pg_indexes WHERE tablename = 'geo' AND indexdef LIKE '%USING gist%'") == "1")

        // Without PostGIS, --dry-run still shows the DDL, and says what failed.
        let plain = try TestPostgres.freshDatabase("sink-geo-dry")
        let dry = try S.sink(nil, plain, ["--from-file", file, "--table", "geo", "--map", map, "--dry-run"])
        #expect(dry.status == 1)
        #expect(dry.stdout.contains("\"geom\" geography(Geometry, 4326)"), "\(dry.stdout)")
        #expect(dry.stdout.contains("UNIQUE NULLS NOT DISTINCT (\"name\", \"time\")"))
        #expect(dry.stderr.contains("type \"geography\" does not exist"), "\(dry.stderr)")
    }
}
