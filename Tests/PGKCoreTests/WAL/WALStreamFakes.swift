@testable import PGKCore

/// Kafka as the WAL loop sees it, with acknowledgements the test controls.
/// Events are acknowledged when the loop polls, unless held back; a
/// position is confirmable once every event handed over before it is.
final class FakeEventSink: WALEventSink {
    let clock: ManualClock
    var maxInFlight = 1_000
    private(set) var topics: [String] = []
    private var acknowledged: [Bool] = []
    /// Event index → clock time before which Kafka does not acknowledge it.
    var heldBack: [Int: Int64] = [:]
    /// Events Kafka never acknowledges, not even while draining.
    var undeliverable: Set<Int> = []
    private var positions: [(eventsBefore: Int, lsn: LSN)] = []
    private(set) var flushed = LSN.zero
    private(set) var abandoned = false

    init(clock: ManualClock) { self.clock = clock }

    var sentCount: Int { acknowledged.count }
    var inFlight: Int { acknowledged.filter { !$0 }.count }
    var isIdle: Bool { inFlight == 0 && positions.isEmpty }
    var hasRoom: Bool { inFlight < maxInFlight }

    func resetPosition(_ lsn: LSN) {
        precondition(inFlight == 0)
        flushed = max(flushed, lsn)
    }

    func reached(_ lsn: LSN) {
        guard lsn > flushed else { return }
        positions.append((acknowledged.count, lsn))
        advance()
    }

    func send(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) throws {
        topics.append(topic)
        acknowledged.append(false)
    }

    /// Waiting in poll is time passing.
    func poll(timeoutMilliseconds: Int) throws {
        clock.advance(milliseconds: Int64(timeoutMilliseconds))
        acknowledge { !undeliverable.contains($0) && (heldBack[$0] ?? 0) <= clock.nowMilliseconds }
    }

    func acknowledge(event index: Int) {
        heldBack[index] = nil
        acknowledge { $0 == index }
    }

    func waitForRoom(stop: StopToken, whileWaiting: () throws -> Void) throws {
        while !hasRoom && !stop.isStopped {
            try poll(timeoutMilliseconds: 10)
            try whileWaiting()
        }
    }

    /// Kafka delivers everything deliverable before the drain's time is up.
    func drain(timeoutMilliseconds: Int, stop: StopToken?) throws -> Bool {
        acknowledge { !undeliverable.contains($0) }
        return inFlight == 0
    }

    func abandonDeliveries() { abandoned = true }

    private func acknowledge(where matches: (Int) -> Bool) {
        for index in acknowledged.indices where !acknowledged[index] && matches(index) { acknowledged[index] = true }
        advance()
    }

    private func advance() {
        let firstUnacknowledged = acknowledged.firstIndex(of: false) ?? acknowledged.count
        while let position = positions.first, position.eventsBefore <= firstUnacknowledged {
            flushed = max(flushed, position.lsn)
            positions.removeFirst()
        }
    }
}

/// A replication connection that plays a script: CopyData messages,
/// idle reads, actions between reads, a lost connection. When the script
/// runs out it stops the streamer, so every test ends.
final class ScriptedReplicationStream: ReplicationStream {
    enum Step {
        case data([UInt8])
        /// Nothing to read after `milliseconds` passed.
        case idle(milliseconds: Int64)
        case run(() -> Void)
        case lose
    }

    struct Status: Equatable {
        var flush: LSN
        var at: Int64
    }

    private var steps: [Step]
    private let clock: ManualClock
    private let stop: StopToken
    private(set) var statuses: [Status] = []
    private(set) var ended = false

    init(_ steps: [Step], clock: ManualClock, stop: StopToken) {
        self.steps = steps
        self.clock = clock
        self.stop = stop
    }

    var flushes: [LSN] { statuses.map(\.flush) }

    func readCopyData() throws -> ReplicationConnection.CopyRead {
        while !steps.isEmpty {
            switch steps.removeFirst() {
            case .data(let bytes): return .data(bytes)
            case .idle(let milliseconds):
                clock.advance(milliseconds: milliseconds)
                return .none
            case .run(let action): action()
            case .lose: throw PostgresError(message: "server closed the connection unexpectedly", connectionLost: true)
            }
        }
        stop.stop()
        return .none
    }

    /// Waiting for the socket is time passing.
    func waitForData(timeoutMilliseconds: Int, stop: StopToken) -> Bool {
        clock.advance(milliseconds: Int64(timeoutMilliseconds))
        return !steps.isEmpty
    }

    func sendStandbyStatus(write: LSN, flush: LSN, apply: LSN) throws {
        statuses.append(Status(flush: flush, at: clock.nowMilliseconds))
    }

    func flushOutput() throws -> Bool { true }

    func endStreaming(timeoutMilliseconds: Int) throws { ended = true }
}

/// The side connection: one table, `public.t (id int primary key)`.
final class FakeStreamingDatabase: StreamingDatabase {
    private(set) var reconnectChecks = 0
    private(set) var heartbeats = 0

    func reconnectIfNeeded() throws { reconnectChecks += 1 }

    func schema(for relation: PgOutputRelation) throws -> TableSchema {
        let columns = relation.columns.map { column in
            TableSchema.Column(name: column.name, typeOID: column.typeOID, typeModifier: column.typeModifier,
                               typeName: "integer", kind: .integer, isReplicaIdentity: column.isKey)
        }
        return TableSchema(relationID: relation.id, schema: relation.namespace, name: relation.name, columns: columns,
                           replicaIdentity: relation.replicaIdentity, keyColumnIndexes: [0],
                           topic: CDCTopicNaming.topic(prefix: "pgk.db", schema: relation.namespace, table: relation.name))
    }

    func emitHeartbeat(slot: String) throws { heartbeats += 1 }
}

/// CopyData payloads as a walsender streaming pgoutput sends them.
enum WALMessages {
    static func keepalive(walEnd: LSN, replyRequested: Bool) -> ScriptedReplicationStream.Step {
        .data(MessageBytes("k").int64(walEnd.value).int64(0).byte(replyRequested ? 1 : 0).bytes)
    }

    static func xlog(_ lsn: LSN, _ message: MessageBytes) -> ScriptedReplicationStream.Step {
        .data(MessageBytes("w").int64(lsn.value).int64(lsn.value).int64(0).bytes + message.bytes)
    }

    /// BEGIN, the table's RELATION, one INSERT per id (16 bytes of WAL
    /// apart from `start`), COMMIT ending at `end`.
    static func transaction(xid: UInt32, start: LSN, end: LSN, ids: [Int],
                            schema: String = "public") -> [ScriptedReplicationStream.Step] {
        var steps = [xlog(start, MessageBytes("B").int64(end.value - 8).int64(0).int32(xid)),
                     relation(at: start, schema: schema)]
        steps += insertions(from: start, ids: ids)
        steps.append(xlog(end, MessageBytes("C").byte(0).int64(end.value - 8).int64(end.value).int64(0)))
        return steps
    }

    /// A transaction cut off before its COMMIT.
    static func unfinishedTransaction(xid: UInt32, start: LSN, ids: [Int]) -> [ScriptedReplicationStream.Step] {
        [xlog(start, MessageBytes("B").int64(start.value + 0x100).int64(0).int32(xid)), relation(at: start)]
            + insertions(from: start, ids: ids)
    }

    /// The non-transactional message a heartbeat writes to the WAL.
    static func heartbeat(at lsn: LSN) -> ScriptedReplicationStream.Step {
        var message = MessageBytes("M").byte(0).int64(lsn.value).string(ChangeAssembler.heartbeatPrefix).int32(3)
        message.bytes += Array("pgk".utf8)
        return xlog(lsn, message)
    }

    private static func relation(at lsn: LSN, schema: String = "public") -> ScriptedReplicationStream.Step {
        xlog(lsn, MessageBytes("R").int32(16_384).string(schema).string("t").char("d").int16(1)
            .byte(1).string("id").int32(23).int32(UInt32(bitPattern: -1)))
    }

    private static func insertions(from start: LSN, ids: [Int]) -> [ScriptedReplicationStream.Step] {
        ids.enumerated().map { index, id in
            xlog(LSN(start.value + UInt64(index + 1) * 16), MessageBytes("I").int32(16_384).char("N").tuple([String(id)]))
        }
    }
}
