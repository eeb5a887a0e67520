/// Collects items until a batch is full (by count or bytes) or old enough
/// (by the clock), whichever comes first. Pure: the caller feeds it and
/// asks it; a `ManualClock` drives it in tests.
struct Batcher<Item> {
    let maxItems: Int
    let maxBytes: Int
    let maxAgeMilliseconds: Int64
    private let clock: any MonotonicClock

    private(set) var items: [Item] = []
    private(set) var byteCount = 0
    /// When the first item of the current batch arrived.
    private(set) var openedAt: Int64?

    init(maxItems: Int, maxBytes: Int = .max, maxAgeMilliseconds: Int64,
                clock: any MonotonicClock = SystemClock.shared) {
        precondition(maxItems > 0 && maxBytes > 0 && maxAgeMilliseconds >= 0)
        self.maxItems = maxItems
        self.maxBytes = maxBytes
        self.maxAgeMilliseconds = maxAgeMilliseconds
        self.clock = clock
        items.reserveCapacity(min(maxItems, 65_536))
    }

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }

    mutating func append(_ item: Item, bytes: Int = 0) {
        if items.isEmpty { openedAt = clock.nowMilliseconds }
        items.append(item)
        byteCount += bytes
    }

    var isFull: Bool { items.count >= maxItems || byteCount >= maxBytes }

    /// True when the batch should be written now: full, or non-empty and
    /// past its age limit.
    var isDue: Bool {
        if isFull { return true }
        guard let openedAt else { return false }
        return clock.nowMilliseconds - openedAt >= maxAgeMilliseconds
    }

    /// How long a poll may block before the batch falls due; nil when
    /// empty (wait as long as you like).
    var millisecondsUntilDue: Int64? {
        guard let openedAt else { return nil }
        return max(0, openedAt + maxAgeMilliseconds - clock.nowMilliseconds)
    }

    /// Hands over the batch and starts a new one.
    mutating func drain() -> [Item] {
        let batch = items
        items.removeAll(keepingCapacity: true)
        byteCount = 0
        openedAt = nil
        return batch
    }
}
