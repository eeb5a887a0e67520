import Foundation
import Testing
@testable import PGKCore

/// A message for the decode stage, with its bytes in memory it owns.
final class FakeMessage: SinkMessage {
    let partition: Int32
    let offset: Int64
    let timestamp: Int64?
    private let keyBuffer: UnsafeMutableRawBufferPointer?
    private let valueBuffer: UnsafeMutableRawBufferPointer?
    private let headerList: [(String, [UInt8]?)]

    init(partition: Int32 = 0, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [(String, [UInt8]?)] = [],
         timestamp: Int64? = 1_700_000_000_123) {
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        headerList = headers
        func copy(_ bytes: [UInt8]?) -> UnsafeMutableRawBufferPointer? {
            guard let bytes else { return nil }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
            buffer.copyBytes(from: bytes)
            return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<bytes.count])
        }
        keyBuffer = copy(key)
        valueBuffer = copy(value)
    }

    convenience init(partition: Int32 = 0, offset: Int64, key: String? = nil, value: String?,
                     headers: [(String, [UInt8]?)] = []) {
        self.init(partition: partition, offset: offset, key: key.map { Array($0.utf8) }, value: value.map { Array($0.utf8) },
                  headers: headers)
    }

    deinit {
        keyBuffer?.baseAddress.map { $0.deallocate() }
        valueBuffer?.baseAddress.map { $0.deallocate() }
    }

    var key: UnsafeRawBufferPointer? { keyBuffer.map { UnsafeRawBufferPointer($0) } }
    var value: UnsafeRawBufferPointer? { valueBuffer.map { UnsafeRawBufferPointer($0) } }
    var hasHeaders: Bool { !headerList.isEmpty }
    func visitHeaders(_ body: (String, UnsafeRawBufferPointer?) -> Void) {
        for (name, value) in headerList {
            if let value { value.withUnsafeBytes { body(name, $0) } } else { body(name, nil) }
        }
    }
}

@Suite struct RecordStagerTests {
    static func stager(packing: Packing = .json, keyPacking: KeyPacking = .string, registry: SchemaRegistryClient? = nil,
                       tombstones: TombstonePolicy = .delete, keys: [String] = ["id"],
                       onError: ErrorPolicy = .deadLetter) throws -> RecordStager {
        try RecordStager(packing: packing, keyPacking: keyPacking, registry: registry, tombstones: tombstones,
                         keyColumns: keys, onError: onError)
    }

    static func builder() -> BatchBuilder { BatchBuilder(maxRows: 100, maxAgeMilliseconds: 1_000, clock: ManualClock()) }

    @Test func stagesJSONWithoutCopyingTwiceAndRewritesNaN() throws {
        let stager = try Self.stager()
        var builder = Self.builder()
        #expect(try stager.stage(FakeMessage(offset: 7, key: "k1", value: "{\"a\":1}"), topicIndex: 0, into: &builder) == .staged(.value))
        #expect(try stager.stage(FakeMessage(offset: 8, key: nil, value: "[NaN, -Infinity]",
                                             headers: [("h", Array("v".utf8)), ("bin", [0xFF]), ("n", nil)]),
                                 topicIndex: 0, into: &builder) == .staged(.value))
        let batch = builder.seal(topics: ["t"], claims: [])
        #expect(batch.rows.count == 2 && batch.counters.nonFinite == 2 && batch.counters.messages == 2)
        let first = batch.rows[0]
        #expect(first.value == first.rawValue && first.key == first.rawKey)
        #expect(batch.text(first.key) == "k1" && batch.text(first.value) == "{\"a\":1}" && first.offset == 7)
        #expect(first.timestamp == 1_700_000_000_123 && first.headers.isNull)
        let second = batch.rows[1]
        #expect(batch.text(second.value) == "[null, null]" && batch.text(second.rawValue) == "[NaN, -Infinity]")
        #expect(second.key.isNull)
        #expect(batch.text(second.headers) == "{\"h\":\"v\",\"bin\":\"/w==\",\"n\":null}")
    }

    @Test func badInputBecomesAFailureWithItsReason() throws {
        let stager = try Self.stager()
        var builder = Self.builder()
        _ = try stager.stage(FakeMessage(offset: 0, value: "{not json"), topicIndex: 0, into: &builder)
        _ = try stager.stage(FakeMessage(offset: 1, key: [0x6B, 0xFF], value: Array("1".utf8)), topicIndex: 0, into: &builder)
        _ = try stager.stage(FakeMessage(offset: 2, key: [0x6B, 0x00], value: Array("1".utf8)), topicIndex: 0, into: &builder)
        _ = try stager.stage(FakeMessage(offset: 3, key: nil, value: [0x22, 0xC3, 0x22]), topicIndex: 0, into: &builder)
        _ = try stager.stage(FakeMessage(offset: 4, value: "\"\\u0000\""), topicIndex: 0, into: &builder)
        let batch = builder.seal(topics: ["t"], claims: [])
        #expect(batch.rows.allSatisfy { $0.kind == .failure && $0.value.isNull })
        let reasons = batch.rows.map { batch.reasons[Int($0.reason)] }
        #expect(reasons[0].contains("invalid json"))
        #expect(reasons[1].hasPrefix("key: invalid utf-8"))
        #expect(reasons[2].contains("NUL"))
        #expect(reasons[3].contains("utf-8"))
        #expect(reasons[4].contains("\\u0000"))
        #expect(batch.bytes(batch.rows[1].rawKey) == [0x6B, 0xFF])
    }

    @Test func errorPoliciesSkipOrStop() throws {
        var builder = Self.builder()
        #expect(try Self.stager(onError: .skip).stage(FakeMessage(offset: 0, value: "x"), topicIndex: 0, into: &builder) == .staged(.skipped))
        guard case .fatal(let reason) = try Self.stager(onError: .fail).stage(FakeMessage(offset: 1, value: "x"), topicIndex: 0, into: &builder) else {
            Issue.record("expected a fatal outcome")
            return
        }
        #expect(reason.contains("invalid json"))
        let batch = builder.seal(topics: ["t"], claims: [])
        #expect(batch.rows.count == 1 && batch.counters.errorsSkipped == 1)
    }

    @Test func tombstonePolicies() throws {
        var builder = Self.builder()
        #expect(try Self.stager(tombstones: .skip).stage(FakeMessage(offset: 0, key: "1", value: nil), topicIndex: 0, into: &builder) == .staged(.skipped))
        #expect(try Self.stager(tombstones: .fail).stage(FakeMessage(offset: 1, key: "1", value: nil), topicIndex: 0, into: &builder)
                == .fatal("a tombstone (null value) arrived and --on-tombstone is fail"))
        let delete = try Self.stager()
        #expect(try delete.stage(FakeMessage(offset: 2, key: "42", value: nil), topicIndex: 0, into: &builder) == .staged(.tombstone))
        #expect(try delete.stage(FakeMessage(offset: 3, key: " {\"id\": 42}", value: nil), topicIndex: 0, into: &builder) == .staged(.tombstone))
        #expect(try delete.stage(FakeMessage(offset: 4, key: nil, value: nil), topicIndex: 0, into: &builder) == .staged(.failure))
        let twoKeys = try Self.stager(keys: ["a", "b"])
        #expect(try twoKeys.stage(FakeMessage(offset: 5, key: "42", value: nil), topicIndex: 0, into: &builder) == .staged(.failure))
        #expect(try twoKeys.stage(FakeMessage(offset: 6, key: "{\"a\":1,\"b\":2}", value: nil), topicIndex: 0, into: &builder) == .staged(.tombstone))
        let batch = builder.seal(topics: ["t"], claims: [])
        #expect(batch.counters.tombstonesSkipped == 1)
        #expect(batch.rows.map(\.keyIsObject) == [false, false, true, false, false, true])
        #expect(batch.reasons.contains { $0.contains("without a key") })
        #expect(batch.reasons.contains { $0.contains("JSON object with the key columns a, b") })
    }

    @Test func msgpackValuesAndKeysBecomeJSON() throws {
        let stager = try Self.stager(packing: .msgpack, keyPacking: .msgpack)
        var builder = Self.builder()
        let value = MsgPack.encode(["id": 1, "f": .double(.nan), "s": "é", "b": .bytes([1, 2])])
        _ = try stager.stage(FakeMessage(offset: 0, key: MsgPack.encode("k"), value: value), topicIndex: 0, into: &builder)
        _ = try stager.stage(FakeMessage(offset: 1, key: MsgPack.encode(["id": 3]), value: Array(value.dropLast(2))),
                             topicIndex: 0, into: &builder)
        _ = try stager.stage(FakeMessage(offset: 2, key: nil, value: MsgPack.encode(.string("a\u{0}b"))), topicIndex: 0, into: &builder)
        let batch = builder.seal(topics: ["t"], claims: [])
        #expect(batch.text(batch.rows[0].value) == "{\"id\":1,\"f\":null,\"s\":\"é\",\"b\":\"AQI=\"}")
        #expect(batch.text(batch.rows[0].key) == "k")
        #expect(batch.bytes(batch.rows[0].rawValue).map(Array.init) == value)
        #expect(batch.counters.nonFinite == 1)
        #expect(batch.rows[1].kind == .failure && batch.reasons[Int(batch.rows[1].reason)].contains("msgpack"))
        #expect(batch.text(batch.rows[1].key) == "{\"id\":3}")
        #expect(batch.rows[2].kind == .failure && batch.reasons[Int(batch.rows[2].reason)].contains("\\u0000"))
    }

    @Test func avroFailuresAreBadMessagesButOutagesAreThrown() throws {
        let server = try SchemaRegistryServer()
        defer { server.stop() }
        let schema = #"{"type":"record","name":"R","fields":[{"name":"id","type":"long"}]}"#
        let id = try server.register(subject: "r-value", schemaJSON: schema)
        let registry = try SchemaRegistryClient(url: server.url)
        let stager = try Self.stager(packing: .avro, registry: registry)
        var builder = Self.builder()
        let good = ConfluentFrame.frame(schemaID: id, payload: try AvroSchema(json: schema).encode(["id": 5]))
        _ = try stager.stage(FakeMessage(offset: 0, key: nil, value: good), topicIndex: 0, into: &builder)
        _ = try stager.stage(FakeMessage(offset: 1, key: nil, value: [1] + good.dropFirst()), topicIndex: 0, into: &builder)
        _ = try stager.stage(FakeMessage(offset: 2, key: nil, value: ConfluentFrame.frame(schemaID: id + 100, payload: [2])),
                             topicIndex: 0, into: &builder)
        let batch = builder.seal(topics: ["t"], claims: [])
        #expect(batch.text(batch.rows[0].value) == "{\"id\":5}" && batch.avroSchemaID == id)
        #expect(batch.rows[1].kind == .failure && batch.reasons[Int(batch.rows[1].reason)].contains("magic"))
        #expect(batch.rows[2].kind == .failure && batch.reasons[Int(batch.rows[2].reason)].contains("unknown schema id"))

        let down = try SchemaRegistryClient(url: "http://127.0.0.1:1", timeoutMilliseconds: 500)
        let unreachable = try Self.stager(packing: .avro, registry: down)
        #expect(throws: RegistryError.self) {
            _ = try unreachable.stage(FakeMessage(offset: 3, key: nil, value: good), topicIndex: 0, into: &builder)
        }
    }
}

@Suite struct PartitionBookTests {
    let a = KafkaTopicPartition(topic: "t", partition: 0)
    let b = KafkaTopicPartition(topic: "t", partition: 1)

    @Test func claimsChainFromTheStoredOffset() {
        var book = PartitionBook()
        book.assign(a, stored: 10)
        book.assign(b, stored: nil)
        #expect(book.accept(topic: "t", partition: 0, offset: 9) == nil, "before the stored offset")
        #expect(book.accept(topic: "x", partition: 0, offset: 9) == nil, "not assigned")
        let slot = book.accept(topic: "t", partition: 0, offset: 10)!
        book.record(slot: slot, offset: 10)
        book.record(slot: slot, offset: 12)
        book.record(slot: book.accept(topic: "t", partition: 1, offset: 0)!, offset: 0)
        let first = book.seal()
        #expect(Set(first) == [OffsetClaim(topicPartition: a, expected: 10, next: 13),
                               OffsetClaim(topicPartition: b, expected: nil, next: 1)])
        book.record(slot: book.accept(topic: "t", partition: 0, offset: 13)!, offset: 13)
        #expect(book.seal() == [OffsetClaim(topicPartition: a, expected: 13, next: 14)])
        #expect(book.seal().isEmpty)
        book.confirm(a, next: 13)
        #expect(book.slot(of: a)?.stored == 13)
    }

    @Test func fenceRevokeAndEnd() {
        var book = PartitionBook()
        book.assign(a, stored: 5)
        book.record(slot: book.accept(topic: "t", partition: 0, offset: 5)!, offset: 5)
        _ = book.seal()
        book.fence(a, stored: 20)
        #expect(book.accept(topic: "t", partition: 0, offset: 6) == nil)
        #expect(book.accept(topic: "t", partition: 0, offset: 20) != nil)
        book.record(slot: book.accept(topic: "t", partition: 0, offset: 20)!, offset: 20)
        #expect(book.seal() == [OffsetClaim(topicPartition: a, expected: 20, next: 21)])
        #expect(!book.allAtEnd)
        book.reachedEnd(a, nextOffset: 21)
        #expect(book.allAtEnd)
        book.assign(b, stored: nil)
        #expect(!book.allAtEnd)
        book.revoke(b)
        #expect(book.allAtEnd && book.accept(topic: "t", partition: 1, offset: 0) == nil)
    }
}

@Suite struct BatchBuilderTests {
    @Test func fallsDueByCountOrAgeAndDropsFencedRows() throws {
        let clock = ManualClock()
        var builder = BatchBuilder(maxRows: 3, maxAgeMilliseconds: 100, clock: clock)
        let stager = try RecordStagerTests.stager()
        #expect(!builder.isDue && builder.millisecondsUntilDue == nil)
        _ = try stager.stage(FakeMessage(partition: 0, offset: 0, value: "1"), topicIndex: 0, into: &builder)
        clock.advance(milliseconds: 60)
        #expect(!builder.isDue && builder.millisecondsUntilDue == 40)
        _ = try stager.stage(FakeMessage(partition: 1, offset: 0, value: "2"), topicIndex: 0, into: &builder)
        clock.advance(milliseconds: 40)
        #expect(builder.isDue)
        builder.remove { $0.partition == 0 }
        #expect(builder.count == 1)
        _ = try stager.stage(FakeMessage(partition: 1, offset: 1, value: "3"), topicIndex: 0, into: &builder)
        _ = try stager.stage(FakeMessage(partition: 1, offset: 2, value: "4"), topicIndex: 0, into: &builder)
        #expect(builder.isDue)
        let batch = builder.seal(topics: ["t"], claims: [])
        #expect(batch.rows.map { batch.text($0.value) } == ["2", "3", "4"])
        #expect(builder.isEmpty && builder.arenaCount == 0)
    }
}

@Suite struct BackgroundWorkerTests {
    @Test func runsOneJobAtATimeAndHandsBackOutputs() {
        let worker = BackgroundWorker<Int, Int>(name: "test") { $0 * 2 }
        #expect(worker.wait() == nil)
        worker.start(21)
        #expect(worker.wait() == 42)
        worker.start(5)
        var polled: Int?
        for _ in 0..<1000 where polled == nil {
            polled = worker.poll()
            if polled == nil { usleep(1000) }
        }
        #expect(polled == 10)
        worker.shutdown()
    }
}
