/// Collects items until a batch is full (by count or bytes) or old enough
/// (by the clock), whichever comes first. Pure: the caller feeds it and
/// asks it; a `ManualClock` drives it in tests.
public struct Batcher<Item> {
    public let maxItems: Int
    public let maxBytes: Int
    public let maxAgeMilliseconds: Int64
    private let clock: any MonotonicClock

    public private(set) var items: [Item] = []
    public private(set) var byteCount = 0
    /// When the first item of the current batch arrived.
    public private(set) var openedAt: Int64?

    public init(maxItems: Int, maxBytes: Int = .max, maxAgeMilliseconds: Int64,
                clock: any MonotonicClock = SystemClock.shared) {
        precondition(maxItems > 0 && maxBytes > 0 && maxAgeMilliseconds >= 0)
        self.maxItems = maxItems
        self.maxBytes = maxBytes
        self.maxAgeMilliseconds = maxAgeMilliseconds
        self.clock = clock
        items.reserveCapacity(min(maxItems, 65_536))
    }

    public var isEmpty: Bool { items.isEmpty }
    public var count: Int { items.count }

    public mutating func append(_ item: Item, bytes: Int = 0) {
        if items.isEmpty { openedAt = clock.nowMilliseconds }
        items.append(item)
        byteCount += bytes
    }

    public var isFull: Bool { items.count >= maxItems || byteCount >= maxBytes }

    /// True when the batch should be written now: full, or non-empty and
    /// past its age limit.
    public var isDue: Bool {
        if isFull { return true }
        guard let openedAt else { return false }
        return clock.nowMilliseconds - openedAt >= maxAgeMilliseconds
    }

    /// How long a poll may block before the batch falls due; nil when
    /// empty (wait as long as you like).
    public var millisecondsUntilDue: Int64? {
        guard let openedAt else { return nil }
        return max(0, openedAt + maxAgeMilliseconds - clock.nowMilliseconds)
    }

    /// Hands over the batch and starts a new one.
    public mutating func drain() -> [Item] {
        let batch = items
        items.removeAll(keepingCapacity: true)
        byteCount = 0
        openedAt = nil
        return batch
    }
}
