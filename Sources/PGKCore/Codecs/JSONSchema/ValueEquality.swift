/// JSON Schema's equality for `const`, `enum` and `uniqueItems`: numbers
/// compare mathematically (`1 == 1.0`), objects ignore key order.
enum ValueEquality {
    static func equal(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)): return sameScalars(x, y)
        case (.bytes(let x), .bytes(let y)): return x == y
        case (.bytes(let x), .string(let y)), (.string(let y), .bytes(let x)): return sameScalars(Base64.encode(x), y)
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            for (p, q) in zip(x, y) where !equal(p, q) { return false }
            return true
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (key, value) in x {
                guard let other = y[key], equal(value, other) else { return false }
            }
            return true
        case (.int, _), (.double, _), (.decimal, _):
            return NumberCompare.equal(a, b) ?? false
        default:
            return false
        }
    }

    /// The indexes of the first two equal items, if any. Arrays of only
    /// strings or only integers go through a hash set; others pairwise.
    static func firstDuplicate(_ items: [Value]) -> (Int, Int)? {
        if items.count < 2 { return nil }
        if items.allSatisfy({ if case .string = $0 { return true } else { return false } }) {
            var seen: [ScalarKey: Int] = [:]
            for (i, item) in items.enumerated() {
                guard case .string(let text) = item else { continue }
                if let first = seen[ScalarKey(text: text)] { return (first, i) }
                seen[ScalarKey(text: text)] = i
            }
            return nil
        }
        if items.allSatisfy({ if case .int = $0 { return true } else { return false } }) {
            var seen: [Int64: Int] = [:]
            for (i, item) in items.enumerated() {
                guard case .int(let number) = item else { continue }
                if let first = seen[number] { return (first, i) }
                seen[number] = i
            }
            return nil
        }
        for i in items.indices {
            for j in (i + 1)..<items.count where equal(items[i], items[j]) { return (i, j) }
        }
        return nil
    }

    /// Swift's `==` on strings treats canonically equivalent forms as
    /// equal; JSON Schema compares code points.
    @inline(__always)
    static func sameScalars(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8)
    }

    /// A string hashed and compared by its UTF-8 bytes.
    private struct ScalarKey: Hashable {
        var text: String
        static func == (a: ScalarKey, b: ScalarKey) -> Bool { sameScalars(a.text, b.text) }
        func hash(into hasher: inout Hasher) {
            var copy = text
            copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }
}
