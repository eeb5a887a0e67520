/// The one value model every codec decodes into and encodes from.
///
/// Objects keep their key order so JSON round-trips and renders the way
/// users wrote it.
enum Value: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    /// An exact number kept as its decimal text (Postgres numeric, integers
    /// beyond Int64). JSON renders it verbatim, never through a Double.
    case decimal(String)
    case string(String)
    /// Raw bytes. JSON renders them as base64.
    case bytes([UInt8])
    case array([Value])
    case object(ValueObject)

    subscript(key: String) -> Value? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    var isNull: Bool { if case .null = self { return true } else { return false } }

    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var int64Value: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        case .decimal(let text): return Int64(text)
        default: return nil
        }
    }
}

/// An ordered object. Lookups are linear, which beats hashing for the small
/// objects that messages carry.
struct ValueObject: Hashable, Sendable, Sequence {
    private(set) var keys: [String] = []
    private(set) var values: [Value] = []

    init() {}

    init(_ pairs: [(String, Value)]) {
        keys.reserveCapacity(pairs.count)
        values.reserveCapacity(pairs.count)
        for (key, value) in pairs { self[key] = value }
    }

    /// For decoders whose keys are known unique (Avro records): one shared
    /// keys array serves every decoded record, saving an allocation each.
    init(uniqueKeys keys: [String], values: [Value]) {
        assert(keys.count == values.count)
        self.keys = keys
        self.values = values
    }

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    /// Setting an existing key replaces its value in place, so a duplicate
    /// key in JSON keeps its first position and its last value.
    subscript(key: String) -> Value? {
        get {
            guard let index = keys.firstIndex(of: key) else { return nil }
            return values[index]
        }
        set {
            if let index = keys.firstIndex(of: key) {
                if let newValue { values[index] = newValue } else {
                    keys.remove(at: index)
                    values.remove(at: index)
                }
            } else if let newValue {
                keys.append(key)
                values.append(newValue)
            }
        }
    }

    /// Room for `count` members without regrowing while a decoder fills it.
    mutating func reserveCapacity(_ count: Int) {
        keys.reserveCapacity(count)
        values.reserveCapacity(count)
    }

    /// Appends without checking for duplicates; for decoders that already
    /// know the keys are unique (Avro records, pgoutput tuples).
    mutating func appendUnchecked(_ key: String, _ value: Value) {
        keys.append(key)
        values.append(value)
    }

    func makeIterator() -> Zip2Sequence<[String], [Value]>.Iterator {
        zip(keys, values).makeIterator()
    }
}

extension Value: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral {
    init(nilLiteral: ()) { self = .null }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int64) { self = .int(value) }
    init(floatLiteral value: Double) { self = .double(value) }
    init(stringLiteral value: String) { self = .string(value) }
    init(arrayLiteral elements: Value...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, Value)...) {
        self = .object(ValueObject(elements))
    }
}

extension Value {
    /// Bytes as a string when they are UTF-8 text, else as bytes: how keys,
    /// header values and undecoded payloads are shown as JSON.
    static func textOrBytes(_ bytes: UnsafeRawBufferPointer) -> Value {
        String(validating: bytes, as: UTF8.self).map(Value.string) ?? .bytes(Array(bytes))
    }
}
