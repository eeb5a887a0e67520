/// The streaming-replication sub-protocol carried in CopyData messages
/// once START_REPLICATION switched the connection to CopyBoth mode.
enum ReplicationMessage: Sendable, Equatable {
    /// 'w': a piece of WAL data; for logical replication one output-plugin
    /// message. `start` is the LSN of the change it describes.
    case xlogData(start: LSN, walEnd: LSN, sendTime: Int64, payloadOffset: Int)
    /// 'k': the server's keepalive; `walEnd` is how far it has sent.
    case keepalive(walEnd: LSN, sendTime: Int64, replyRequested: Bool)

    /// Parses one CopyData payload. XLogData's plugin message stays in the
    /// caller's buffer from `payloadOffset` on, so nothing is copied.
    static func parse(_ bytes: [UInt8]) throws(CodecError) -> ReplicationMessage {
        var reader = ByteReader(bytes, format: "replication message")
        let kind = try reader.byte("the message type")
        switch kind {
        case UInt8(ascii: "w"):
            let start = LSN(try reader.uint64("the WAL start"))
            let end = LSN(try reader.uint64("the WAL end"))
            let time = try reader.int64("the send time")
            return .xlogData(start: start, walEnd: end, sendTime: time, payloadOffset: reader.offset)
        case UInt8(ascii: "k"):
            let end = LSN(try reader.uint64("the WAL end"))
            let time = try reader.int64("the send time")
            let reply = try reader.byte("the reply flag")
            return .keepalive(walEnd: end, sendTime: time, replyRequested: reply != 0)
        default:
            throw CodecError("replication message", "unknown message type \(describeTag(kind))", offset: 0)
        }
    }

    /// 'r': the standby status update that tells the server how far the
    /// client has written, flushed (made durable) and applied.
    static func standbyStatus(write: LSN, flush: LSN, apply: LSN, clock: PostgresClock = .system,
                                     replyRequested: Bool = false) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "r")]
        out.reserveCapacity(34)
        out.appendBigEndian(write.value)
        out.appendBigEndian(flush.value)
        out.appendBigEndian(apply.value)
        out.appendBigEndian(UInt64(bitPattern: clock.nowMicroseconds()))
        out.append(replyRequested ? 1 : 0)
        return out
    }
}

func describeTag(_ byte: UInt8) -> String {
    (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "0x" + String(byte, radix: 16)
}

/// PostgreSQL timestamps: microseconds since 2000-01-01 00:00:00 UTC.
struct PostgresClock: Sendable {
    /// Seconds between the Unix epoch and PostgreSQL's epoch.
    static let epochOffsetSeconds: Int64 = 946_684_800

    let now: @Sendable () -> Int64

    static let system = PostgresClock { PGKCore.unixMilliseconds() * 1000 }

    /// Microseconds since the PostgreSQL epoch.
    func nowMicroseconds() -> Int64 { now() - PostgresClock.epochOffsetSeconds * 1_000_000 }

    /// A PostgreSQL timestamp (µs since 2000-01-01) as Unix milliseconds.
    static func unixMilliseconds(fromPostgresMicroseconds value: Int64) -> Int64 {
        value / 1000 + epochOffsetSeconds * 1000
    }
}
