/// Decodes pgoutput messages (protocol version 1). Never traps: a short
/// or malformed message is a CodecError with the byte offset.
enum PgOutputDecoder {
    /// Decodes the plugin message that starts at `offset` of `bytes` (the
    /// XLogData payload). Tuples keep `bytes` as their storage.
    static func decode(_ bytes: [UInt8], offset: Int = 0) throws(CodecError) -> PgOutputMessage {
        var reader = ByteReader(bytes, offset: offset, format: "pgoutput message")
        let tag = try reader.byte("the message type")
        switch tag {
        case UInt8(ascii: "B"):
            let final = LSN(try reader.uint64("the final LSN"))
            let time = try reader.int64("the commit time")
            let xid = try reader.uint32("the transaction id")
            return .begin(PgOutputBegin(finalLSN: final, commitTime: time, xid: xid))
        case UInt8(ascii: "C"):
            let flags = try reader.byte("the commit flags")
            let commit = LSN(try reader.uint64("the commit LSN"))
            let end = LSN(try reader.uint64("the end LSN"))
            let time = try reader.int64("the commit time")
            return .commit(PgOutputCommit(flags: flags, commitLSN: commit, endLSN: end, commitTime: time))
        case UInt8(ascii: "O"):
            let lsn = LSN(try reader.uint64("the origin LSN"))
            return .origin(lsn: lsn, name: try reader.cString("the origin name"))
        case UInt8(ascii: "R"):
            return .relation(try relation(&reader))
        case UInt8(ascii: "Y"):
            let oid = try reader.uint32("the type OID")
            let namespace = try reader.cString("the type namespace")
            return .type(PgOutputType(oid: oid, namespace: namespace, name: try reader.cString("the type name")))
        case UInt8(ascii: "I"):
            let relationID = try reader.uint32("the relation id")
            try expect(&reader, UInt8(ascii: "N"), "the new-tuple marker 'N'")
            return .insert(relationID: relationID, new: try tuple(&reader))
        case UInt8(ascii: "U"):
            let relationID = try reader.uint32("the relation id")
            var marker = try reader.byte("the tuple marker")
            var old: TupleData?
            var keyOnly = false
            if marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") {
                keyOnly = marker == UInt8(ascii: "K")
                old = try tuple(&reader)
                marker = try reader.byte("the new-tuple marker")
            }
            guard marker == UInt8(ascii: "N") else {
                throw reader.fail("expected the new-tuple marker 'N' in an update, got \(describeTag(marker))")
            }
            return .update(relationID: relationID, old: old, oldIsKeyOnly: keyOnly, new: try tuple(&reader))
        case UInt8(ascii: "D"):
            let relationID = try reader.uint32("the relation id")
            let marker = try reader.byte("the tuple marker")
            guard marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") else {
                throw reader.fail("expected 'K' or 'O' in a delete, got \(describeTag(marker))")
            }
            return .delete(relationID: relationID, old: try tuple(&reader), oldIsKeyOnly: marker == UInt8(ascii: "K"))
        case UInt8(ascii: "T"):
            let count = try reader.uint32("the relation count")
            let options = try reader.byte("the truncate options")
            guard Int(count) <= reader.remaining / 4 else { throw reader.fail("truncate lists \(count) relations but the message is too short") }
            var ids: [UInt32] = []
            ids.reserveCapacity(Int(count))
            for _ in 0..<count { ids.append(try reader.uint32("a relation id")) }
            return .truncate(relationIDs: ids, cascade: options & 1 != 0, restartIdentity: options & 2 != 0)
        case UInt8(ascii: "M"):
            let flags = try reader.byte("the message flags")
            let lsn = LSN(try reader.uint64("the message LSN"))
            let prefix = try reader.cString("the message prefix")
            let length = try reader.uint32("the content length")
            let range = try reader.range(count: Int(length), "the message content")
            return .message(transactional: flags & 1 != 0, lsn: lsn, prefix: prefix, content: Array(bytes[range]))
        default:
            throw CodecError("pgoutput message", "unknown message type \(describeTag(tag))", offset: offset)
        }
    }

    private static func expect(_ reader: inout ByteReader, _ wanted: UInt8, _ what: String) throws(CodecError) {
        let got = try reader.byte(what)
        guard got == wanted else { throw reader.fail("expected \(what), got \(describeTag(got))") }
    }

    private static func relation(_ reader: inout ByteReader) throws(CodecError) -> PgOutputRelation {
        let id = try reader.uint32("the relation id")
        let namespace = try reader.cString("the namespace")
        let name = try reader.cString("the relation name")
        let identity = try reader.byte("the replica identity")
        let count = Int(try reader.uint16("the column count"))
        var columns: [PgOutputRelation.Column] = []
        columns.reserveCapacity(count)
        for _ in 0..<count {
            let flags = try reader.byte("column flags")
            let columnName = try reader.cString("a column name")
            let type = try reader.uint32("a column type")
            let modifier = try reader.int32("a type modifier")
            columns.append(.init(isKey: flags & 1 != 0, name: columnName, typeOID: type, typeModifier: modifier))
        }
        return PgOutputRelation(id: id, namespace: namespace, name: name, replicaIdentity: identity, columns: columns)
    }

    private static func tuple(_ reader: inout ByteReader) throws(CodecError) -> TupleData {
        let count = Int(try reader.uint16("the tuple's column count"))
        var columns: [TupleData.Column] = []
        columns.reserveCapacity(count)
        for _ in 0..<count {
            let kind = try reader.byte("a column kind")
            switch kind {
            case UInt8(ascii: "n"): columns.append(.null)
            case UInt8(ascii: "u"): columns.append(.unchangedToast)
            case UInt8(ascii: "t"), UInt8(ascii: "b"):
                let length = try reader.int32("a value length")
                guard length >= 0 else { throw reader.fail("negative value length \(length)") }
                let range = try reader.range(count: Int(length), "a column value")
                columns.append(kind == UInt8(ascii: "t") ? .text(range) : .binary(range))
            default:
                throw reader.fail("unknown tuple column kind \(describeTag(kind))")
            }
        }
        return TupleData(storage: reader.bytes, columns: columns)
    }
}
