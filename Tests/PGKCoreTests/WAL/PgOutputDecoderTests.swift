import Testing
@testable import PGKCore

/// Builds pgoutput messages byte by byte, as the server writes them.
struct MessageBytes {
    var bytes: [UInt8] = []
    init(_ tag: Character) { bytes.append(UInt8(ascii: tag.unicodeScalars.first!)) }
    func byte(_ value: UInt8) -> MessageBytes { var copy = self; copy.bytes.append(value); return copy }
    func char(_ value: Character) -> MessageBytes { byte(UInt8(ascii: value.unicodeScalars.first!)) }
    func int16(_ value: UInt16) -> MessageBytes { var copy = self; copy.bytes.appendBigEndian(value); return copy }
    func int32(_ value: UInt32) -> MessageBytes { var copy = self; copy.bytes.appendBigEndian(value); return copy }
    func int64(_ value: UInt64) -> MessageBytes { var copy = self; copy.bytes.appendBigEndian(value); return copy }
    func string(_ text: String) -> MessageBytes { var copy = self; copy.bytes += Array(text.utf8) + [0]; return copy }
    /// TupleData: nil = 'n', "\u{0}toast" = 'u', else 't' with the text.
    func tuple(_ values: [String?]) -> MessageBytes {
        var copy = int16(UInt16(values.count))
        for value in values {
            switch value {
            case nil: copy = copy.char("n")
            case "\u{0}toast"?: copy = copy.char("u")
            case let text?: copy = copy.char("t").int32(UInt32(text.utf8.count)); copy.bytes += Array(text.utf8)
            }
        }
        return copy
    }
}

@Suite struct PgOutputDecoderTests {
    func texts(_ tuple: TupleData) -> [String?] {
        tuple.columns.indices.map { index in
            if case .unchangedToast = tuple.columns[index] { return "\u{0}toast" }
            return tuple.text(at: index)
        }
    }

    @Test func beginCommitOriginTypeAndMessage() throws {
        let begin = try PgOutputDecoder.decode(MessageBytes("B").int64(0x1_0000_00F0).int64(123_456).int32(777).bytes)
        guard case .begin(let b) = begin else { Issue.record("not begin: \(begin)"); return }
        #expect(b == PgOutputBegin(finalLSN: LSN(0x1_0000_00F0), commitTime: 123_456, xid: 777))

        let commit = try PgOutputDecoder.decode(MessageBytes("C").byte(0).int64(0x100).int64(0x128).int64(99).bytes)
        guard case .commit(let c) = commit else { Issue.record("not commit"); return }
        #expect(c == PgOutputCommit(flags: 0, commitLSN: LSN(0x100), endLSN: LSN(0x128), commitTime: 99))

        guard case .origin(let lsn, let name) = try PgOutputDecoder.decode(MessageBytes("O").int64(5).string("node_a").bytes) else {
            Issue.record("not origin"); return
        }
        #expect(lsn == LSN(5) && name == "node_a")

        guard case .type(let type) = try PgOutputDecoder.decode(MessageBytes("Y").int32(16_390).string("public").string("mood").bytes) else {
            Issue.record("not type"); return
        }
        #expect(type == PgOutputType(oid: 16_390, namespace: "public", name: "mood"))

        let message = MessageBytes("M").byte(0).int64(0xABC).string("pgk.heartbeat").int32(3).bytes + Array("abc".utf8)
        guard case .message(let transactional, let at, let prefix, let content) = try PgOutputDecoder.decode(message) else {
            Issue.record("not message"); return
        }
        #expect(!transactional && at == LSN(0xABC) && prefix == "pgk.heartbeat" && content == Array("abc".utf8))
    }

    @Test func relationWithKeyFlagsAndEmptyCatalogNamespace() throws {
        let bytes = MessageBytes("R").int32(16_384).string("").string("pg_thing").char("f").int16(2)
            .byte(1).string("id").int32(23).int32(UInt32(bitPattern: -1))
            .byte(0).string("Name Col").int32(1043).int32(36).bytes
        guard case .relation(let relation) = try PgOutputDecoder.decode(bytes) else { Issue.record("not relation"); return }
        #expect(relation.id == 16_384 && relation.namespace == "" && relation.name == "pg_thing")
        #expect(relation.replicaIdentity == UInt8(ascii: "f"))
        #expect(relation.columns == [
            .init(isKey: true, name: "id", typeOID: 23, typeModifier: -1),
            .init(isKey: false, name: "Name Col", typeOID: 1043, typeModifier: 36),
        ])
    }

    @Test func insertUpdateDeleteTuples() throws {
        guard case .insert(let id, let new) = try PgOutputDecoder.decode(MessageBytes("I").int32(9).char("N").tuple(["1", nil, "x\ty"]).bytes) else {
            Issue.record("not insert"); return
        }
        #expect(id == 9 && texts(new) == ["1", nil, "x\ty"])

        let plain = try PgOutputDecoder.decode(MessageBytes("U").int32(9).char("N").tuple(["1", "\u{0}toast"]).bytes)
        guard case .update(_, let noOld, _, let updated) = plain else { Issue.record("not update"); return }
        #expect(noOld == nil && texts(updated) == ["1", "\u{0}toast"])

        let keyed = try PgOutputDecoder.decode(MessageBytes("U").int32(9).char("K").tuple(["1", nil]).char("N").tuple(["2", "b"]).bytes)
        guard case .update(_, let keyOld?, let keyOnly, let keyNew) = keyed else { Issue.record("not keyed update"); return }
        #expect(keyOnly && texts(keyOld) == ["1", nil] && texts(keyNew) == ["2", "b"])

        let full = try PgOutputDecoder.decode(MessageBytes("U").int32(9).char("O").tuple(["1", "a"]).char("N").tuple(["1", "b"]).bytes)
        guard case .update(_, let fullOld?, let fullKeyOnly, _) = full else { Issue.record("not full update"); return }
        #expect(!fullKeyOnly && texts(fullOld) == ["1", "a"])

        guard case .delete(_, let old, let deleteKeyOnly) = try PgOutputDecoder.decode(MessageBytes("D").int32(9).char("K").tuple(["7", nil]).bytes) else {
            Issue.record("not delete"); return
        }
        #expect(deleteKeyOnly && texts(old) == ["7", nil])
    }

    @Test func truncateWithOptions() throws {
        let bytes = MessageBytes("T").int32(2).byte(3).int32(10).int32(11).bytes
        guard case .truncate(let ids, let cascade, let restart) = try PgOutputDecoder.decode(bytes) else { Issue.record("not truncate"); return }
        #expect(ids == [10, 11] && cascade && restart)
    }

    @Test func decodesAtAnOffsetInsideXLogData() throws {
        let payload = MessageBytes("I").int32(1).char("N").tuple(["42"]).bytes
        let frame = MessageBytes("w").int64(0x10).int64(0x20).int64(5).bytes + payload
        guard case .xlogData(let start, let end, let time, let offset) = try ReplicationMessage.parse(frame) else {
            Issue.record("not xlogdata"); return
        }
        #expect(start == LSN(0x10) && end == LSN(0x20) && time == 5 && offset == 25)
        guard case .insert(_, let tuple) = try PgOutputDecoder.decode(frame, offset: offset) else { Issue.record("not insert"); return }
        #expect(tuple.text(at: 0) == "42")

        guard case .keepalive(let walEnd, _, let reply) = try ReplicationMessage.parse(MessageBytes("k").int64(0x99).int64(1).byte(1).bytes) else {
            Issue.record("not keepalive"); return
        }
        #expect(walEnd == LSN(0x99) && reply)
    }

    @Test func standbyStatusLayout() {
        let clock = PostgresClock { PostgresClock.epochOffsetSeconds * 1_000_000 + 7 }
        let bytes = ReplicationMessage.standbyStatus(write: LSN(1), flush: LSN(2), apply: LSN(3), clock: clock)
        #expect(bytes == MessageBytes("r").int64(1).int64(2).int64(3).int64(7).byte(0).bytes)
    }

    @Test func malformedInputThrowsInsteadOfTrapping() {
        let samples: [[UInt8]] = [
            [], [UInt8(ascii: "Z")], MessageBytes("B").int64(1).bytes,
            MessageBytes("I").int32(1).char("X").bytes,
            MessageBytes("I").int32(1).char("N").int16(1).char("t").int32(100).bytes,
            MessageBytes("I").int32(1).char("N").int16(1).char("t").int32(0xFFFF_FFFF).bytes,
            MessageBytes("I").int32(1).char("N").int16(2).char("n").char("q").bytes,
            MessageBytes("R").int32(1).string("s").bytes,
            MessageBytes("T").int32(1_000_000).byte(0).bytes,
            MessageBytes("M").byte(0).int64(1).string("p").int32(10).bytes,
            MessageBytes("U").int32(1).char("K").tuple(["1"]).char("X").bytes,
            MessageBytes("D").int32(1).char("N").tuple(["1"]).bytes,
        ]
        for sample in samples {
            #expect(throws: CodecError.self, "\(sample)") { try PgOutputDecoder.decode(sample) }
        }
        // Every truncation of a valid message fails cleanly too.
        let valid = MessageBytes("U").int32(9).char("O").tuple(["1", "a"]).char("N").tuple(["1", nil]).bytes
        for length in 0..<valid.count {
            #expect(throws: CodecError.self) { try PgOutputDecoder.decode(Array(valid.prefix(length))) }
        }
        #expect(throws: CodecError.self) { try ReplicationMessage.parse(MessageBytes("w").int64(1).bytes) }
        #expect(throws: CodecError.self) { try ReplicationMessage.parse(MessageBytes("x").bytes) }
    }

    @Test func lsnTextRoundTrips() {
        #expect(LSN("16/B374D848") == LSN(0x16_B374_D848))
        #expect(LSN(0x16_B374_D848).description == "16/B374D848")
        #expect(LSN("0/0") == .zero)
        for bad in ["", "16", "1/2/3", "G/1", "123456789/0", "/1"] { #expect(LSN(bad) == nil, "\(bad)") }
        #expect(LSN(10).bytes(since: LSN(4)) == 6 && LSN(4).bytes(since: LSN(10)) == 0)
    }
}
