/// Which items handed downstream are safely delivered, when the
/// acknowledgements come back in any order (across Kafka partitions, or
/// from parallel writers).
///
/// Items get consecutive ids as they are produced. `deliveredBelow` is the
/// first id not yet acknowledged: every item before it is delivered, so
/// that prefix may be committed (outbox rows deleted, offsets stored).
/// Positions (a transaction's end LSN, a source offset) are attached to the
/// last item produced before them and become `flushed` once that item and
/// all before it are acknowledged: that is the position safe to confirm
/// upstream. A failed item blocks the prefix for good; the first failure
/// (lowest id) is kept for the caller to act on.
///
/// Pure and single-threaded; tested with hand-fed acks.
struct AckWindow<Position: Comparable & Sendable, Failure: Error>: Sendable {
    /// The id the first item of this window gets.
    let firstID: UInt64
    /// The id the next produced item gets.
    private(set) var nextID: UInt64
    /// First id not yet acknowledged: ids below it are all delivered.
    private(set) var deliveredBelow: UInt64
    /// Items produced and not yet acknowledged or failed.
    private(set) var inFlight = 0
    /// The highest position safe to confirm; never moves backwards. nil
    /// until the first one is reached (or given at the start).
    private(set) var flushed: Position?
    /// The failed item with the lowest id, if any.
    private(set) var firstFailure: (id: UInt64, error: Failure)?

    private enum Slot { case pending, acknowledged, failed }
    /// Slots for ids from `deliveredBelow` on (index `slotsHead` = deliveredBelow).
    private var slots: [Slot] = []
    private var slotsHead = 0
    /// Positions waiting for their items, in production order.
    private var positions: [(lastItemID: UInt64, position: Position)] = []
    private var positionsHead = 0

    /// `firstID` is at least 1 (the id before it marks "nothing produced").
    init(firstID: UInt64 = 1, flushed: Position? = nil) {
        precondition(firstID > 0, "ids start at 1")
        self.firstID = firstID
        nextID = firstID
        deliveredBelow = firstID
        self.flushed = flushed
    }

    /// Items acknowledged without a gap from the first one.
    var acknowledgedPrefix: Int { Int(deliveredBelow - firstID) }
    /// Items produced into this window.
    var producedCount: Int { Int(nextID - firstID) }
    var allAcknowledged: Bool { deliveredBelow == nextID }
    var pendingPositions: Int { positions.count - positionsHead }
    /// Nothing in flight and no position waiting: everything is settled.
    var isIdle: Bool { inFlight == 0 && pendingPositions == 0 }

    /// Records an item handed downstream and returns its id.
    @discardableResult
    mutating func produce() -> UInt64 {
        let id = nextID
        nextID += 1
        slots.append(.pending)
        inFlight += 1
        return id
    }

    /// Records a delivery ack. Duplicate and unknown ids are ignored.
    mutating func acknowledge(_ id: UInt64) {
        guard settle(id, as: .acknowledged), id == deliveredBelow else { return }
        while slotsHead < slots.count, slots[slotsHead] == .acknowledged {
            slotsHead += 1
            deliveredBelow += 1
        }
        if slotsHead > 4096 && slotsHead * 2 > slots.count {
            slots.removeFirst(slotsHead)
            slotsHead = 0
        }
        advance()
    }

    /// Records a failed delivery: the prefix stops before it for good.
    mutating func fail(_ id: UInt64, _ error: Failure) {
        guard settle(id, as: .failed) else { return }
        if firstFailure.map({ id < $0.id }) ?? true { firstFailure = (id, error) }
    }

    /// Records a position reached after everything produced so far: it is
    /// flushable once all of that is acknowledged (at once if nothing is
    /// in flight).
    mutating func reached(_ position: Position) {
        if let flushed, position <= flushed { return }
        let lastItemID = nextID - 1
        if positionsHead < positions.count, let last = positions.last, last.lastItemID == lastItemID {
            // Same items as the previous position: keep only the later one.
            if position > last.position { positions[positions.count - 1].position = position }
        } else {
            positions.append((lastItemID, position))
        }
        advance()
    }

    /// Marks a pending slot; false for unknown ids and repeated reports.
    private mutating func settle(_ id: UInt64, as state: Slot) -> Bool {
        guard id >= deliveredBelow, id < nextID else { return false }
        let index = slotsHead + Int(id - deliveredBelow)
        guard slots[index] == .pending else { return false }
        slots[index] = state
        inFlight -= 1
        return true
    }

    private mutating func advance() {
        while positionsHead < positions.count, positions[positionsHead].lastItemID < deliveredBelow {
            let position = positions[positionsHead].position
            if flushed.map({ position > $0 }) ?? true { flushed = position }
            positionsHead += 1
        }
        if positionsHead > 1024 && positionsHead * 2 > positions.count {
            positions.removeFirst(positionsHead)
            positionsHead = 0
        }
    }
}
