import Testing
@testable import PGKCore

/// `--format flat`: the after-image row with no envelope (Debezium's
/// ExtractNewRecordState), deletes as tombstones, truncates left out.
@Suite struct FlatEventFormatTests {
    typealias Fixture = EventFormatTests

    /// The debezium event's `after` for the same change: flat must render
    /// values exactly as it does.
    static func debeziumAfter(_ change: RowChange) throws -> Value? {
        let encoder = try ChangeEventEncoder(format: .debezium, packing: .json, registry: nil, database: "shop")
        return try JSON.decode(encoder.encode(change).value!)["after"]
    }

    @Test func jsonValueIsTheAfterRowAlone() throws {
        let encoder = try ChangeEventEncoder(format: .flat, packing: .json, registry: nil, database: "shop")
        let changes = Fixture.changes
        let key = Value.object(ValueObject([("id", 7)]))

        let insert = try encoder.encode(changes[0])
        let row = try JSON.decode(try #require(insert.value))
        #expect(row == (try Self.debeziumAfter(changes[0])), "the debezium format's after, unwrapped")
        #expect(row["id"] == 7 && row["note"] == .string(Fixture.row[5]!) && row["op"] == nil && row["source"] == nil)
        #expect(try JSON.decode(try #require(insert.key)) == key)

        let update = try JSON.decode(try #require(encoder.encode(changes[1]).value))
        #expect(update == (try Self.debeziumAfter(changes[1])))
        #expect(update["id"] == 7 && update["note"] == nil && update["big"] == nil, "unchanged TOAST is left out")

        let read = try JSON.decode(try #require(encoder.encode(changes[5]).value))
        #expect(read == (try Self.debeziumAfter(changes[5])), "a snapshot row is a row like any other")

        let delete = try encoder.encode(changes[3])
        #expect(delete.value == nil, "a delete is a tombstone")
        #expect(try JSON.decode(try #require(delete.key)) == key, "with the deleted row's key")

        let truncate = try encoder.encode(changes[4])
        #expect(truncate.value == nil && truncate.key == nil)
        #expect(ChangeEventFormat.flat.output(for: .truncate) == .nothing, "a truncate is not produced at all")
        #expect(ChangeEventFormat.flat.output(for: .delete) == .tombstone)
        #expect(ChangeEventFormat.debezium.output(for: .delete) == .document)
    }

    @Test func keyChangeTombstonesTheOldKey() throws {
        let flat = try ChangeEventEncoder(format: .flat, packing: .json, registry: nil, database: "shop")
        var moved = Fixture.row
        moved[0] = "8"
        let change = RowChange(table: Fixture.table, operation: .update, before: Fixture.changes[3].before,
                               beforeIsKeyOnly: true, after: Fixture.tuple(moved), lsn: LSN(9), transactionID: 1,
                               commitTimeMilliseconds: 1)
        let old = try #require(try flat.replacedKey(change))
        #expect(try JSON.decode(old) == .object(ValueObject([("id", 7)])))
        #expect(try JSON.decode(try #require(flat.encode(change).key)) == .object(ValueObject([("id", 8)])))
        #expect(try flat.replacedKey(Fixture.changes[1]) == nil, "an old row with the same key needs no tombstone")
        let debezium = try ChangeEventEncoder(format: .debezium, packing: .json, registry: nil, database: "shop")
        #expect(try debezium.replacedKey(change) == nil, "the envelope carries the old key in before")
    }

    /// The fast writer and the `Value` path agree byte for byte. (json
    /// columns are left null here: the writer copies the server's JSON
    /// text, whose spacing the `Value` path does not keep.)
    @Test(arguments: ChangeEventFormat.allCases)
    func directJSONWritesTheValuePathsBytes(_ format: ChangeEventFormat) throws {
        var row = Fixture.row
        row[6] = nil
        let after = Fixture.tuple(row)
        let table = Fixture.table
        let changes = [
            RowChange(table: table, operation: .create, after: after, lsn: LSN(1), transactionID: 9, commitTimeMilliseconds: 1),
            RowChange(table: table, operation: .update, before: after, after: Fixture.tuple(row, toast: [13]), lsn: LSN(2),
                      transactionID: 9, commitTimeMilliseconds: 1),
            RowChange(table: table, operation: .delete, before: after, lsn: LSN(3), transactionID: 9, commitTimeMilliseconds: 1),
            RowChange(table: table, operation: .read, after: after, lsn: LSN(4), transactionID: nil, commitTimeMilliseconds: 1),
        ]
        let encoder = try ChangeEventEncoder(format: format, packing: .json, registry: nil, database: "shop")
        for change in changes {
            var key: [UInt8] = [], value: [UInt8] = []
            let written = try encoder.encode(change, now: 55, key: &key, value: &value)
            let reference = try encoder.encodeValues(change, now: 55)
            #expect((written.hasValue ? value : nil) == reference.value, "\(change.operation) \(String(decoding: value, as: UTF8.self))")
            #expect((written.hasKey ? key : nil) == reference.key, "\(change.operation)")
        }
    }

    @Test func msgpackCarriesTheRowOrATombstone() throws {
        let encoder = try ChangeEventEncoder(format: .flat, packing: .msgpack, registry: nil, database: "shop")
        let changes = Fixture.changes
        let insert = try MsgPack.decode(try #require(encoder.encode(changes[0]).value))
        #expect(insert["id"] == 7 && insert["blob"] == .bytes([0, 255, 16]) && insert["op"] == nil)
        let delete = try encoder.encode(changes[3])
        #expect(try delete.value == nil && (MsgPack.decode(try #require(delete.key))) == .object(ValueObject([("id", 7)])))
        #expect(try encoder.encode(changes[4]).value == nil)
    }

    @Test func avroValueSchemaIsTheDebeziumRowRecord() throws {
        let table = Fixture.table
        let names = AvroEventSchema.fieldNames(table)
        let flat = try JSON.decode(Array(AvroEventSchema.value(table, format: .flat, names: names).utf8))
        _ = try AvroSchema(json: AvroEventSchema.value(table, format: .flat, names: names))
        let envelope = try JSON.decode(Array(AvroEventSchema.value(table, format: .debezium, names: names).utf8))
        guard case .array(let fields)? = envelope["fields"], case .array(let beforeType)? = fields[0]["type"] else {
            Issue.record("no before field"); return
        }
        let rowRecord = beforeType[1]
        #expect(flat["type"] == "record" && flat["name"] == rowRecord["name"])
        #expect(flat["namespace"] == envelope["namespace"], "the same full name as the envelope's row record")
        #expect(flat["fields"] == rowRecord["fields"])
    }

    @Test func avroThroughTheRegistry() throws {
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        let client = try SchemaRegistryClient(url: registry.url)
        let encoder = try ChangeEventEncoder(format: .flat, packing: .avro, registry: client, database: "shop", clock: { 5 })
        let decoder = AvroMessageDecoder(registry: client)
        let changes = Fixture.changes
        let key = Value.object(ValueObject([("id", 7)]))

        let insert = try encoder.encode(changes[0])
        let bytes = try #require(insert.value)
        let subject = Fixture.table.topic + "-value"
        let latest = try client.latest(subject: subject)
        #expect(bytes[0] == 0 && Array(bytes[1..<5]) == withUnsafeBytes(of: latest.id.bigEndian, Array.init),
                "Confluent framing with the id registered under \(subject)")
        let row = try decoder.decode(bytes)
        #expect(row["id"] == 7 && row["note"] == .string(Fixture.row[5]!) && row["blob"] == .bytes([0, 255, 16]))
        #expect(row["tags"] == #"["a b",null,"c\"d"]"# && row["doc"] == .string(Fixture.row[6]!), "as in debezium's after")
        #expect(row["op"] == nil && row["source"] == nil)
        #expect(try decoder.decode(try #require(insert.key)) == key)

        let update = try decoder.decode(try #require(encoder.encode(changes[1]).value))
        #expect(update["id"] == 7 && update["note"] == .null, "Avro records have every field: an omitted one is null")

        let delete = try encoder.encode(changes[3])
        #expect(try delete.value == nil && (decoder.decode(try #require(delete.key))) == key)
        let truncate = try encoder.encode(changes[4])
        #expect(truncate.value == nil && truncate.key == nil)
        #expect(registry.subjects.sorted() == [Fixture.table.topic + "-key", subject])
    }
}
