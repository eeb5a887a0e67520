import Testing
@testable import PGKCore

/// The two event encoders (direct JSON bytes, and Value trees for msgpack
/// and Avro) must produce the same documents; and the documents must have
/// the shape consumers rely on.
@Suite struct EventFormatTests {
    static func column(_ name: String, _ oid: UInt32, _ typeName: String, identity: Bool = false) -> TableSchema.Column {
        TableSchema.Column(name: name, typeOID: oid, typeModifier: -1, typeName: typeName,
                           kind: PgValueKind.builtin(oid: oid) ?? .text, isReplicaIdentity: identity)
    }

    static let table = TableSchema(
        relationID: 42, schema: "My Schema", name: "Order \"Items\"",
        columns: [
            column("id", PgTypeOID.int8, "bigint", identity: true),
            column("small", PgTypeOID.int2, "smallint"),
            column("price", PgTypeOID.numeric, "numeric"),
            column("ratio", PgTypeOID.float8, "double precision"),
            column("ok", PgTypeOID.bool, "boolean"),
            column("note", PgTypeOID.text, "text"),
            column("doc", PgTypeOID.jsonb, "jsonb"),
            column("tags", 1009, "text[]"),
            column("grid", 1007, "integer[]"),
            column("at", PgTypeOID.timestamptz, "timestamp with time zone"),
            column("local", PgTypeOID.timestamp, "timestamp without time zone"),
            column("blob", PgTypeOID.bytea, "bytea"),
            column("span", PgTypeOID.interval, "interval"),
            column("big", PgTypeOID.text, "text"),
        ],
        replicaIdentity: UInt8(ascii: "d"), keyColumnIndexes: [0], topic: "p.My_Schema.Order__Items_")

    static let row: [String?] = [
        "7", "-3", "12.50", "NaN", "t", "line\n\"quoted\"\t\\ é 😀\u{1}", #"{"a": [1, 2.50, null], "b": {"c": "x"}}"#,
        #"{"a b",NULL,"c\"d"}"#, "{{1,2},{3,NULL}}", "2024-05-06 07:08:09.5+00", "2024-05-06 07:08:09",
        "\\x00ff10", "1 year 2 mons 3 days 04:05:06", nil,
    ]

    static func tuple(_ values: [String?], toast: Set<Int> = []) -> TupleData {
        var tuple = TupleData(textValues: values.map { $0.map { Array($0.utf8) } })
        for index in toast { tuple.columns[index] = .unchangedToast }
        return tuple
    }

    static var changes: [RowChange] {
        let after = tuple(row)
        let toasted = tuple(row, toast: [13, 5])
        var keyOnly = tuple(row)
        for index in 1..<keyOnly.count { keyOnly.columns[index] = .null }
        return [
            RowChange(table: table, operation: .create, after: after, lsn: LSN(0x1_0000_0001), transactionID: 9,
                      commitTimeMilliseconds: 1_700_000_000_123),
            RowChange(table: table, operation: .update, before: after, after: toasted, lsn: LSN(5), transactionID: 10,
                      commitTimeMilliseconds: 1),
            RowChange(table: table, operation: .update, after: toasted, lsn: LSN(5), transactionID: 10, commitTimeMilliseconds: 1),
            RowChange(table: table, operation: .delete, before: keyOnly, beforeIsKeyOnly: true, lsn: LSN(6), transactionID: 11,
                      commitTimeMilliseconds: 2),
            RowChange(table: table, operation: .truncate, lsn: LSN(7), transactionID: 12, commitTimeMilliseconds: 3),
            RowChange(table: table, operation: .read, after: after, lsn: LSN(8), transactionID: nil, commitTimeMilliseconds: 4,
                      snapshot: .last),
        ]
    }

    @Test(arguments: ChangeEventFormat.allCases)
    func directJSONMatchesTheValuePath(_ format: ChangeEventFormat) throws {
        let encoder = try ChangeEventEncoder(format: format, packing: .json, registry: nil, database: "shop")
        for change in Self.changes {
            var key: [UInt8] = [], value: [UInt8] = []
            let written = try encoder.encode(change, now: 55, key: &key, value: &value)
            let reference = try encoder.encodeValues(change, now: 55)
            #expect(written.hasValue == (reference.value != nil), "\(change.operation)")
            if let referenceValue = reference.value {
                #expect(try JSON.decode(value) == JSON.decode(referenceValue), "\(change.operation) \(String(decoding: value, as: UTF8.self))")
            }
            #expect(written.hasKey == (reference.key != nil))
            if let referenceKey = reference.key { #expect(try JSON.decode(key) == JSON.decode(referenceKey)) }
        }
    }

    @Test func debeziumShape() throws {
        let encoder = try ChangeEventEncoder(format: .debezium, packing: .json, registry: nil, database: "shop")
        let changes = Self.changes
        let insert = try JSON.decode(encoder.encode(changes[0]).value!)
        #expect(insert["op"] == "c" && insert["before"] == .null)
        #expect(insert[path: "source", "connector"] == "pgk" && insert[path: "source", "db"] == "shop")
        #expect(insert[path: "source", "schema"] == "My Schema" && insert[path: "source", "table"] == "Order \"Items\"")
        #expect(insert[path: "source", "lsn"] == .int(0x1_0000_0001) && insert[path: "source", "txId"] == 9)
        #expect(insert[path: "source", "ts_ms"] == .int(1_700_000_000_123) && insert[path: "source", "snapshot"] == "false")
        #expect(insert[path: "source", "unchanged_toast"] == nil)
        let after = try #require(insert["after"])
        #expect(after["id"] == 7 && after["small"] == -3 && after["price"] == "12.50" && after["ratio"] == "NaN")
        #expect(after["ok"] == true && after["note"] == .string(Self.row[5]!))
        #expect(after[path: "doc", "b", "c"] == "x" && after[path: "doc", "a"] == .array([1, .double(2.5), .null]))
        #expect(after["tags"] == .array(["a b", .null, "c\"d"]) && after["grid"] == .array([[1, 2], [3, .null]]))
        #expect(after["at"] == "2024-05-06T07:08:09.5Z" && after["local"] == "2024-05-06T07:08:09Z")
        #expect(after["blob"] == .string(Base64.encode([0, 255, 16])) && after["span"] == "1 year 2 mons 3 days 04:05:06")
        #expect(after["big"] == .null)
        #expect(try JSON.decode(encoder.encode(changes[0]).key!) == .object(ValueObject([("id", 7)])))

        let update = try JSON.decode(encoder.encode(changes[1]).value!)
        #expect(update["op"] == "u" && update[path: "before", "note"] == .string(Self.row[5]!))
        #expect(update[path: "after", "big"] == nil && update[path: "after", "note"] == nil, "unchanged TOAST is left out, not a placeholder")
        #expect(update[path: "source", "unchanged_toast"] == .array(["note", "big"]))
        #expect(try JSON.decode(encoder.encode(changes[2]).value!)["before"] == .null)

        let delete = try JSON.decode(encoder.encode(changes[3]).value!)
        #expect(delete["op"] == "d" && delete["after"] == .null)
        #expect(delete["before"] == .object(ValueObject([("id", 7)])), "a key-only old row carries just the key")

        let truncate = try encoder.encode(changes[4])
        let truncateValue = try JSON.decode(truncate.value!)
        #expect(truncate.key == nil && truncateValue["op"] == "t")
        let read = try JSON.decode(encoder.encode(changes[5]).value!)
        #expect(read["op"] == "r" && read[path: "source", "snapshot"] == "last" && read[path: "source", "txId"] == .null)
    }

    @Test func pgToBrokersShape() throws {
        let encoder = try ChangeEventEncoder(format: .pgToBrokers, packing: .json, registry: nil, database: "shop")
        let changes = Self.changes
        let insert = try JSON.decode(encoder.encode(changes[0]).value!)
        #expect(insert["table_name"] == "My Schema.Order \"Items\"" && insert["operation"] == "INSERT")
        #expect(insert["transaction_id"] == "9")
        #expect(insert["fields"] == .array(Self.table.columns.map { .string($0.name) }))
        #expect(insert["types"] == .array(Self.table.columns.map { .string($0.typeName) }))
        guard case .array(let values)? = insert["values"] else { Issue.record("no values"); return }
        #expect(values.count == Self.table.columns.count)
        #expect(values[0] == 7 && values[6] == .string(Self.row[6]!), "json stays text in pg_to_brokers")
        #expect(values[7] == .array(["a b", .null, "c\"d"]), "arrays are JSON arrays")
        let update = try JSON.decode(encoder.encode(changes[1]).value!)
        #expect(update["operation"] == "UPDATE")
        guard case .array(let fields)? = update["fields"] else { Issue.record("no fields"); return }
        #expect(!fields.contains("big") && !fields.contains("note") && fields.count == 12)
        let delete = try JSON.decode(encoder.encode(changes[3]).value!)
        #expect(delete["operation"] == "DELETE" && delete["fields"] == ["id"] && delete["values"] == [7])
        let truncate = try JSON.decode(encoder.encode(changes[4]).value!)
        #expect(truncate["operation"] == "TRUNCATE" && truncate["fields"] == [] && truncate["values"] == [])
    }

    @Test func msgpackCarriesTheSameDocument() throws {
        let json = try ChangeEventEncoder(format: .debezium, packing: .json, registry: nil, database: "shop", clock: { 5 })
        let msgpack = try ChangeEventEncoder(format: .debezium, packing: .msgpack, registry: nil, database: "shop", clock: { 5 })
        for change in Self.changes {
            let packed = try msgpack.encode(change)
            let decoded = try MsgPack.decode(packed.value!)
            // MsgPack keeps bytes as bytes where JSON has base64 text.
            var expected = try JSON.decode(json.encode(change).value!)
            if case .object(var envelope) = expected, case .object(var after)? = envelope["after"], after["blob"] != nil {
                after["blob"] = .bytes([0, 255, 16])
                envelope["after"] = .object(after)
                if case .object(var before)? = envelope["before"], before["blob"] != nil {
                    before["blob"] = .bytes([0, 255, 16])
                    envelope["before"] = .object(before)
                }
                expected = .object(envelope)
            }
            #expect(decoded == expected, "\(change.operation)")
        }
    }

    @Test func avroSchemasParseAndNameFieldsSafely() throws {
        let names = AvroEventSchema.fieldNames(Self.table)
        #expect(names.count == Self.table.columns.count && Set(names).count == names.count)
        for format in ChangeEventFormat.allCases {
            _ = try AvroSchema(json: AvroEventSchema.value(Self.table, format: format, names: names))
        }
        _ = try AvroSchema(json: try #require(AvroEventSchema.key(Self.table, names: names)))
        let odd = TableSchema(relationID: 1, schema: "s", name: "t",
                              columns: [Self.column("1st col", 23, "integer"), Self.column("1st-col", 23, "integer")],
                              replicaIdentity: 100, keyColumnIndexes: [], topic: "x.s.t")
        #expect(AvroEventSchema.fieldNames(odd) == ["_1st_col", "_1st_col_2"])
        #expect(AvroEventSchema.key(odd, names: ["a", "b"]) == nil)
    }

    @Test func topicNamesFollowDebezium() {
        #expect(CDCTopicNaming.topic(prefix: "pgk.shop", schema: "public", table: "orders") == "pgk.shop.public.orders")
        #expect(CDCTopicNaming.topic(prefix: "pgk.shop", schema: "My Schema", table: "Ördér") == "pgk.shop.My_Schema._rd_r")
    }
}

extension EventFormatTests {
    @Test(arguments: ChangeEventFormat.allCases)
    func avroRoundTripsThroughTheRegistry(_ format: ChangeEventFormat) throws {
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        let client = try SchemaRegistryClient(url: registry.url)
        let encoder = try ChangeEventEncoder(format: format, packing: .avro, registry: client, database: "shop", clock: { 5 })
        let decoder = AvroMessageDecoder(registry: client)
        for change in Self.changes {
            let encoded = try encoder.encode(change)
            if let key = encoded.key { #expect(try decoder.decode(key) == .object(ValueObject([("id", 7)]))) }
            guard let bytes = encoded.value else {
                #expect(format == .flat && [.delete, .truncate].contains(change.operation), "\(change.operation)")
                continue
            }
            let value = try decoder.decode(bytes)
            switch format {
            case .debezium:
                #expect(value["op"] == .string(change.operation.rawValue))
                #expect(value[path: "source", "lsn"] == .int(Int64(change.lsn.value)))
                if change.operation == .create {
                    #expect(value[path: "after", "note"] == .string(Self.row[5]!))
                    #expect(value[path: "after", "tags"] == #"["a b",null,"c\"d"]"#, "arrays travel as JSON text in Avro")
                    #expect(value[path: "after", "doc"] == .string(Self.row[6]!))
                    #expect(value[path: "after", "blob"] == .bytes([0, 255, 16]))
                }
                if change.operation == .update && change.before != nil {
                    #expect(value[path: "source", "unchanged_toast"] == ["note", "big"])
                    #expect(value[path: "after", "note"] == .null, "Avro records have every field: an omitted one is null")
                }
            case .pgToBrokers:
                #expect(value["operation"] == .string(PgToBrokersEvent.operationName(change.operation)))
                #expect(value["table_name"] == .string(Self.table.qualifiedName))
            case .flat:
                #expect(value["op"] == nil && value["id"] == 7 && value["blob"] == .bytes([0, 255, 16]))
                #expect(value["note"] == (change.operation == .update ? .null : .string(Self.row[5]!)))
            }
        }
        #expect(registry.subjects.sorted() == [Self.table.topic + "-key", Self.table.topic + "-value"])
    }
}
