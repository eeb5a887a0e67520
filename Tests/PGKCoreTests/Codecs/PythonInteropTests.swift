import Foundation
import Testing
@testable import PGKCore

/// Third-party peers: Python's msgpack and Confluent's own Python client
/// (confluent-kafka + fastavro). A missing python3 or module FAILS these
/// tests with the pip command to run; they never skip.
@Suite struct PythonInteropTests {
    static let orderSchema = #"""
    {"type":"record","name":"Order","namespace":"shop","fields":[
      {"name":"id","type":"long"},
      {"name":"customer","type":["null","string"],"default":null},
      {"name":"total","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
      {"name":"placed","type":{"type":"long","logicalType":"timestamp-millis"}},
      {"name":"day","type":{"type":"int","logicalType":"date"}},
      {"name":"ref","type":{"type":"string","logicalType":"uuid"}},
      {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},
      {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[
        {"name":"sku","type":"string"},{"name":"qty","type":"int"}]}}},
      {"name":"attrs","type":{"type":"map","values":"double"}}
    ]}
    """#

    @Test func decodesMsgPackWrittenByPython() throws {
        let bytes = try Python.run("""
        import msgpack, sys
        obj = {"i": 1, "neg": -200, "big": 2**64 - 1, "f": 1.5, "s": "héllo", "b": b"\\x00\\xff",
               "l": [1, None, True], "m": {"k": {"n": 1}}, 7: "int key",
               "e": msgpack.ExtType(5, b"xy"), "t": msgpack.Timestamp(1609459200, 5000000)}
        sys.stdout.buffer.write(msgpack.packb(obj, use_bin_type=True, datetime=False))
        """, needs: ["msgpack"])
        let value = try MsgPack.decode(bytes)
        #expect(value.jsonText == #"{"i":1,"neg":-200,"big":18446744073709551615,"f":1.5,"s":"héllo","b":"AP8=","l":[1,null,true],"m":{"k":{"n":1}},"7":"int key","e":{"ext_type":5,"data":"eHk="},"t":"2021-01-01T00:00:00.005Z"}"#)
    }

    @Test func pythonDecodesOurMsgPack() throws {
        let value: Value = ["a": 1, "big": .decimal("18446744073709551615"), "bytes": .bytes([1, 2]), "f": 2.5,
                            "s": "ü", "arr": [nil, true, -9_000_000_000], "nested": ["x": []]]
        let output = try Python.run("""
        import msgpack, sys, json
        obj = msgpack.unpackb(sys.stdin.buffer.read(), raw=False)
        print(json.dumps(obj, ensure_ascii=False, default=lambda b: "hex:" + b.hex()))
        """, input: MsgPack.encode(value), needs: ["msgpack"])
        #expect(String(decoding: output, as: UTF8.self) ==
                #"{"a": 1, "big": 18446744073709551615, "bytes": "hex:0102", "f": 2.5, "s": "ü", "arr": [null, true, -9000000000], "nested": {"x": []}}"# + "\n")
    }

    @Test func confluentPythonProducesAgainstOurRegistryAndWeDecode() throws {
        let server = try SchemaRegistryServer()
        defer { server.stop() }
        let bytes = try Python.run("""
        import sys, datetime, decimal, uuid
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroSerializer
        from confluent_kafka.serialization import SerializationContext, MessageField
        client = SchemaRegistryClient({"url": sys.argv[1]})
        serializer = AvroSerializer(client, sys.argv[2])
        order = {"id": 7, "customer": "ada", "total": decimal.Decimal("1234.50"),
                 "placed": datetime.datetime(2024, 2, 29, 13, 45, 1, 250000, tzinfo=datetime.timezone.utc),
                 "day": datetime.date(2024, 2, 29), "ref": uuid.UUID("6f1c2b4e-8a2d-4f4e-9d7e-0a1b2c3d4e5f"),
                 "status": "PAID", "lines": [{"sku": "A-1", "qty": 2}], "attrs": {"w": 0.5}}
        sys.stdout.buffer.write(serializer(order, SerializationContext("orders", MessageField.VALUE)))
        """, arguments: [server.url, Self.orderSchema], needs: ["confluent_kafka.schema_registry.avro", "fastavro"])
        #expect(server.subjects == ["orders-value"], "Python registered under the topic's value subject")
        let registry = try SchemaRegistryClient(url: server.url)
        let value = try Packing.avro.decoder(registry: registry).decode(bytes)
        #expect(value.jsonText == #"{"id":7,"customer":"ada","total":1234.50,"placed":"2024-02-29T13:45:01.250Z","day":"2024-02-29","ref":"6f1c2b4e-8a2d-4f4e-9d7e-0a1b2c3d4e5f","status":"PAID","lines":[{"sku":"A-1","qty":2}],"attrs":{"w":0.5}}"#)
    }

    @Test func weProduceAgainstOurRegistryAndConfluentPythonDecodes() throws {
        let server = try SchemaRegistryServer()
        defer { server.stop() }
        let registry = try SchemaRegistryClient(url: server.url)
        let encoder = try Packing.avro.encoder(registry: registry, subject: "orders-value", schemaJSON: Self.orderSchema)
        let bytes = try encoder.encode([
            "id": 8, "total": .decimal("-0.05"), "placed": "1969-12-31T23:59:59.999Z", "day": "1970-01-02",
            "ref": "00000000-0000-4000-8000-000000000001", "status": "NEW",
            "lines": [["sku": "B", "qty": 1], ["sku": "C", "qty": -3]], "attrs": [:],
        ])
        let output = try Python.run("""
        import sys, json
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroDeserializer
        from confluent_kafka.serialization import SerializationContext, MessageField
        client = SchemaRegistryClient({"url": sys.argv[1]})
        order = AvroDeserializer(client)(sys.stdin.buffer.read(), SerializationContext("orders", MessageField.VALUE))
        print(json.dumps(order, default=str))
        """, arguments: [server.url], input: bytes, needs: ["confluent_kafka.schema_registry.avro", "fastavro"])
        #expect(String(decoding: output, as: UTF8.self) ==
                #"{"id": 8, "customer": null, "total": "-0.05", "placed": "1969-12-31 23:59:59.999000+00:00", "day": "1970-01-02", "ref": "00000000-0000-4000-8000-000000000001", "status": "NEW", "lines": [{"sku": "B", "qty": 1}, {"sku": "C", "qty": -3}], "attrs": {}}"# + "\n")
    }
}

/// Runs python3 with a script, feeding stdin and returning stdout.
enum Python {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let pipHint = "pip install msgpack fastavro 'confluent-kafka[avro,schemaregistry]'"

    static func run(_ script: String, arguments: [String] = [], input: [UInt8] = [], needs modules: [String],
                    timeoutSeconds: Double = 60) throws -> [UInt8] {
        let check = try execute(["-c", modules.map { "import \($0)" }.joined(separator: "; ")], input: [], timeoutSeconds: timeoutSeconds)
        guard check.status == 0 else {
            throw Failure(description: "python3 cannot import \(modules.joined(separator: ", ")) — run: \(pipHint)\n\(check.stderr)")
        }
        let result = try execute(["-c", script] + arguments, input: input, timeoutSeconds: timeoutSeconds)
        guard result.status == 0 else {
            throw Failure(description: "python3 failed with status \(result.status):\n\(result.stderr)")
        }
        return result.stdout
    }

    private static func execute(_ arguments: [String], input: [UInt8], timeoutSeconds: Double) throws -> (status: Int32, stdout: [UInt8], stderr: String) {
        let result: CommandResult
        do {
            result = try CommandRunner.run("python3", arguments, stdin: Data(input), timeoutSeconds: timeoutSeconds)
        } catch let error as CommandRunner.TimeoutError {
            throw Failure(description: "python3 was killed after \(timeoutSeconds) s: \(error)")
        } catch {
            throw Failure(description: "cannot start python3 (\(error)) — install Python 3, then: \(pipHint)")
        }
        return (result.status, [UInt8](result.stdoutBytes), result.stderr)
    }

}
