/// A WAL position (pg_lsn): a byte offset into the write-ahead log,
/// written `X/Y` with both halves in hex, as the server prints it.
struct LSN: Comparable, Hashable, Sendable, CustomStringConvertible {
    var value: UInt64

    init(_ value: UInt64) { self.value = value }

    /// Parses `16/B374D848`; nil for anything else.
    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...8).contains(parts[0].count), (1...8).contains(parts[1].count),
              let high = UInt32(parts[0], radix: 16), let low = UInt32(parts[1], radix: 16) else { return nil }
        value = UInt64(high) << 32 | UInt64(low)
    }

    static let zero = LSN(0)

    var description: String {
        String(UInt32(truncatingIfNeeded: value >> 32), radix: 16, uppercase: true) + "/"
            + String(UInt32(truncatingIfNeeded: value), radix: 16, uppercase: true)
    }

    static func < (lhs: LSN, rhs: LSN) -> Bool { lhs.value < rhs.value }

    /// Bytes from `other` up to this position; 0 when `other` is ahead.
    func bytes(since other: LSN) -> UInt64 { value > other.value ? value - other.value : 0 }
}
