import Foundation
import Testing
@testable import PGKCore

/// `--packing msgpack|avro` on produce and tail, through the built binary,
/// with Python's clients as independent peers.
@Suite struct TopicsPackingTests {
    static let schema = """
    {"type":"record","name":"Student","fields":[{"name":"id","type":"int"},\
    {"name":"name","type":"string"},{"name":"score","type":["null","double"],"default":null}]}
    """

    func pgk(_ cluster: MockKafkaCluster, _ registry: SchemaRegistryServer?, _ arguments: [String],
             stdin: String? = nil) throws -> CommandResult {
        var extra = ["-b", cluster.bootstrapServers]
        if let registry { extra += ["--registry", registry.url] }
        return try CommandRunner.pgk(arguments + extra, environment: ContractTests.environment,
                                     stdin: stdin.map { Data($0.utf8) })
    }

    func values(_ output: String) throws -> [Value] {
        try output.split(separator: "\n").map { try JSON.decode(String($0)) }.compactMap { $0["value"] }
    }

    @Test func avroRoundTripsThroughTheRegistryAndRejectsBadLines() throws {
        let cluster = try MockKafkaCluster()
        let registry = try SchemaRegistryServer()
        let topic = KafkaTestSupport.uniqueName("avro")
        try cluster.createTopic(topic, partitions: 1)
        let schemaFile = NSTemporaryDirectory() + topic + ".avsc"
        try Self.schema.write(toFile: schemaFile, atomically: true, encoding: .utf8)

        let produced = try pgk(cluster, registry, ["topics", "produce", topic, "--packing", "avro", "--schema", schemaFile],
                               stdin: "{\"id\":1,\"name\":\"ann\",\"score\":0.5}\n{\"id\":2,\"name\":\"bob\"}\n{\"id\":\"x\"}\n")
        #expect(produced.status == 1)
        #expect(produced.stderr.contains("line 3: not avro"))
        #expect(produced.stderr.contains("1 of 3 message(s) were not delivered"))
        #expect(registry.subjects == [topic + "-value"])

        let tail = try pgk(cluster, registry, ["topics", "tail", topic, "--json", "--packing", "avro"])
        #expect(tail.status == 0, "\(tail.stderr)")
        #expect(try values(tail.stdout) == [
            .object(ValueObject([("id", 1), ("name", "ann"), ("score", 0.5)])),
            .object(ValueObject([("id", 2), ("name", "bob"), ("score", .null)])),
        ])

        // A value that is not Confluent-framed Avro is shown with the reason.
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        try producer.produce(topic: topic, partition: 0, key: nil, value: Array("{\"json\":true}".utf8))
        try producer.flush(timeoutMilliseconds: 10_000)
        let mixed = try pgk(cluster, registry, ["topics", "tail", topic, "--json", "--packing", "avro", "-o", "2"])
        let line = try JSON.decode(mixed.stdout.trimmingCharacters(in: .newlines))
        #expect(line["value_error"]?.stringValue?.contains("magic byte") == true, "\(mixed.stdout)")
    }

    @Test func formatDecodesBinaryValuesAndKeysForPercentSAndPercentK() throws {
        let cluster = try MockKafkaCluster()
        let registry = try SchemaRegistryServer()
        let topic = KafkaTestSupport.uniqueName("fmt")
        try cluster.createTopic(topic, partitions: 1)
        let schemaFile = NSTemporaryDirectory() + topic + ".avsc"
        try Self.schema.write(toFile: schemaFile, atomically: true, encoding: .utf8)
        let produced = try pgk(cluster, registry, ["topics", "produce", topic, "--packing", "avro", "--schema", schemaFile],
                               stdin: "{\"id\":1,\"name\":\"ann\",\"score\":0.5}\n")
        #expect(produced.status == 0, "\(produced.stderr)")
        let avro = try pgk(cluster, registry, ["topics", "tail", topic, "--packing", "avro", "--format", "%o %s\\n"])
        #expect(avro.status == 0, "\(avro.stderr)")
        #expect(avro.stdout == #"0 {"id":1,"name":"ann","score":0.5}"# + "\n")

        let packed = KafkaTestSupport.uniqueName("fmtpack")
        try cluster.createTopic(packed, partitions: 1)
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        // msgpack {"a":[1,true]} with key msgpack "k", then a value that is not msgpack.
        try producer.produce(topic: packed, partition: 0, key: [0xA1, 0x6B], value: [0x81, 0xA1, 0x61, 0x92, 0x01, 0xC3])
        try producer.produce(topic: packed, partition: 0, key: nil, value: [0xC1])
        try producer.flush(timeoutMilliseconds: 10_000)
        let tail = try pgk(cluster, nil, ["topics", "tail", packed, "--packing", "msgpack", "--key-packing", "msgpack",
                                          "--format", "%k=%s\\n"])
        #expect(tail.status == 0, "\(tail.stderr)")
        // The undecodable byte 0xC1 prints as a JSON string of its base64.
        #expect(tail.stdout == #""k"={"a":[1,true]}"# + "\n" + #"="wQ==""# + "\n", "\(tail.stdout)")
        #expect(tail.stderr.contains("1 message(s) could not be decoded"), "\(tail.stderr)")
    }

    @Test func avroNeedsARegistryAndASchema() throws {
        let cluster = try MockKafkaCluster()
        let noRegistry = try pgk(cluster, nil, ["topics", "tail", "t", "--json", "--packing", "avro"])
        #expect(noRegistry.status == 64)
        #expect(noRegistry.stderr.contains("needs --registry"))
        let registry = try SchemaRegistryServer()
        let noSchema = try pgk(cluster, registry, ["topics", "produce", "t", "--packing", "avro"], stdin: "{}\n")
        #expect(noSchema.status == 64)
        #expect(noSchema.stderr.contains("needs --schema"))
    }

    @Test func unreachableRegistryStopsTailWithTheURL() throws {
        let cluster = try MockKafkaCluster()
        let registry = try SchemaRegistryServer()
        let topic = KafkaTestSupport.uniqueName("avro-down")
        try cluster.createTopic(topic, partitions: 1)
        let schemaFile = NSTemporaryDirectory() + topic + ".avsc"
        try Self.schema.write(toFile: schemaFile, atomically: true, encoding: .utf8)
        let produced = try pgk(cluster, registry, ["topics", "produce", topic, "--packing", "avro", "--schema", schemaFile],
                               stdin: "{\"id\":1,\"name\":\"ann\"}\n")
        #expect(produced.status == 0, "\(produced.stderr)")
        let tail = try CommandRunner.pgk(["topics", "tail", topic, "--json", "--packing", "avro",
                                          "-b", cluster.bootstrapServers, "--registry", "http://127.0.0.1:1"],
                                         environment: ContractTests.environment)
        #expect(tail.status == 1)
        #expect(tail.stderr.contains("http://127.0.0.1:1"))
    }

    @Test func msgpackInteropWithPython() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("mp")
        try cluster.createTopic(topic, partitions: 1)
        let produced = try pgk(cluster, nil, ["topics", "produce", topic, "--packing", "msgpack"],
                               stdin: "{\"id\":1,\"tags\":[\"a\",\"b\"],\"ok\":true}\n")
        #expect(produced.status == 0, "\(produced.stderr)")
        // Python's msgpack packs a message of its own, produced raw by librdkafka's Python client.
        let script = """
        import msgpack, sys
        from confluent_kafka import Producer, Consumer, TopicPartition
        p = Producer({"bootstrap.servers": sys.argv[1]})
        p.produce(sys.argv[2], msgpack.packb({"id": 2, "nested": {"x": 1.5, "n": None}}), partition=0)
        p.flush(10)
        c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "py", "enable.auto.commit": False})
        c.assign([TopicPartition(sys.argv[2], 0, 0)])
        m = c.poll(10)
        print(msgpack.unpackb(m.value()))
        c.close()
        """
        let python = try CommandRunner.run("/usr/bin/env", ["python3", "-c", script, cluster.bootstrapServers, topic],
                                           timeoutSeconds: 60)
        #expect(python.status == 0, "python: \(python.stderr) (install with scripts/install-deps --test)")
        #expect(python.stdout == "{'id': 1, 'tags': ['a', 'b'], 'ok': True}\n")
        let tail = try pgk(cluster, nil, ["topics", "tail", topic, "--json", "--packing", "msgpack"])
        #expect(tail.status == 0, "\(tail.stderr)")
        #expect(try values(tail.stdout) == [
            .object(ValueObject([("id", 1), ("tags", ["a", "b"]), ("ok", true)])),
            .object(ValueObject([("id", 2), ("nested", .object(ValueObject([("x", 1.5), ("n", .null)])))])),
        ])
    }
}
