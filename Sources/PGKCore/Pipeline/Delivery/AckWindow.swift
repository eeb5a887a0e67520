/// Decides which LSN may be confirmed to the server: the highest position
/// such that every event produced before it has a Kafka delivery ack.
///
/// Events get consecutive ids (the producer's message ids). Positions
/// (transaction ends, idle keepalives, heartbeats) are recorded with the id
/// of the last event produced before them. Acks arrive in any order across
/// partitions; `deliveredBelow` is the first id not yet acknowledged, and
/// a position becomes flushable once all ids up to its last event are below
/// it. Pure and single-threaded; tested with hand-fed acks.
public struct FlushTracker: Sendable {
    /// The highest LSN safe to confirm; never moves backwards.
    public private(set) var flushed: LSN
    /// First event id not yet acknowledged: ids below it are all delivered.
    public private(set) var deliveredBelow: UInt64
    /// Events produced and not yet acknowledged.
    public private(set) var inFlight = 0

    /// Ack flags for ids from `deliveredBelow` on (index 0 = deliveredBelow).
    private var acked: [Bool] = []
    private var ackedHead = 0
    /// Positions waiting for their events, in production order.
    private var positions: [(lastEventID: UInt64, lsn: LSN)] = []
    private var positionsHead = 0
    private var lastProducedID: UInt64

    /// `firstEventID` is the id the producer gives its first message.
    public init(flushed: LSN, firstEventID: UInt64 = 1) {
        self.flushed = flushed
        deliveredBelow = firstEventID
        lastProducedID = firstEventID - 1
    }

    public var pendingPositions: Int { positions.count - positionsHead }
    public var isIdle: Bool { inFlight == 0 && pendingPositions == 0 }

    /// Record an event handed to the producer; ids must be consecutive.
    public mutating func produced(id: UInt64) {
        precondition(id == lastProducedID + 1, "event ids must be consecutive (got \(id) after \(lastProducedID))")
        lastProducedID = id
        acked.append(false)
        inFlight += 1
    }

    /// Record a delivery ack.
    public mutating func delivered(id: UInt64) {
        guard id >= deliveredBelow, id <= lastProducedID else { return }
        let index = ackedHead + Int(id - deliveredBelow)
        guard !acked[index] else { return }
        acked[index] = true
        inFlight -= 1
        guard id == deliveredBelow else { return }
        while ackedHead < acked.count, acked[ackedHead] {
            ackedHead += 1
            deliveredBelow += 1
        }
        if ackedHead > 4096 && ackedHead * 2 > acked.count {
            acked.removeFirst(ackedHead)
            ackedHead = 0
        }
        advance()
    }

    /// Record a position (a transaction's end LSN, or an idle keepalive's
    /// WAL end): confirmable once everything produced so far is delivered.
    public mutating func reached(_ lsn: LSN) {
        guard lsn > flushed else { return }
        if let last = positions.last, positionsHead < positions.count, last.lastEventID == lastProducedID {
            // Same events as the previous position: keep only the later LSN.
            if lsn > last.lsn { positions[positions.count - 1].lsn = lsn }
        } else {
            positions.append((lastProducedID, lsn))
        }
        advance()
    }

    private mutating func advance() {
        while positionsHead < positions.count, positions[positionsHead].lastEventID < deliveredBelow {
            if positions[positionsHead].lsn > flushed { flushed = positions[positionsHead].lsn }
            positionsHead += 1
        }
        if positionsHead > 1024 && positionsHead * 2 > positions.count {
            positions.removeFirst(positionsHead)
            positionsHead = 0
        }
    }
}
