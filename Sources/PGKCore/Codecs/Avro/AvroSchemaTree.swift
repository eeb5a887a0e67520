/// The Swift-side picture of an Avro schema that the binary reader and
/// writer walk. avro-c validates the schema text, but it drops what pgk
/// needs (field defaults, logicalType and its precision/scale), so the
/// same text is also read here. Nodes live in one array and refer to each
/// other by index, which makes recursive schemas free of reference cycles.
struct AvroTree: Sendable {
    var nodes: [AvroNode]
    var root: Int
}

struct AvroNode: Sendable {
    enum Kind: Sendable {
        case null, boolean, int, long, float, double, bytes, string
        /// `keys` is shared by every decoded record (see ValueObject(uniqueKeys:)).
        case record(fields: [AvroField], keys: [String])
        case enumeration(symbols: [String])
        case array(items: Int)
        case map(values: Int)
        case union(branches: [Int], nullIndex: Int?)
        case fixed(size: Int)
    }

    var kind: Kind
    var logical: AvroLogical?
    /// Full name of named types, the primitive name otherwise.
    var name: String
    /// A lower bound of the encoded size, so a declared element count can
    /// be checked against the bytes left before anything is allocated.
    var minSize = 0
}

struct AvroField: Sendable {
    var name: String
    var type: Int
    var defaultValue: Value?
}

enum AvroLogical: Sendable, Equatable {
    case decimal(precision: Int, scale: Int)
    case uuid, date, timeMillis, timeMicros, duration
    case timestamp(unitsPerSecond: Int64, digits: Int, utc: Bool)
}

struct AvroTreeBuilder {
    private var nodes: [AvroNode] = []
    private var named: [String: Int] = [:]

    static func build(_ json: Value) throws(CodecError) -> AvroTree {
        var builder = AvroTreeBuilder()
        let root = try builder.node(json, namespace: nil)
        builder.computeMinimumSizes()
        return AvroTree(nodes: builder.nodes, root: root)
    }

    private static let primitives: [String: AvroNode.Kind] = [
        "null": .null, "boolean": .boolean, "int": .int, "long": .long,
        "float": .float, "double": .double, "bytes": .bytes, "string": .string,
    ]

    private func fail(_ reason: String) -> CodecError { CodecError("avro schema", reason) }

    private mutating func append(_ node: AvroNode) -> Int {
        nodes.append(node)
        return nodes.count - 1
    }

    private mutating func node(_ json: Value, namespace: String?) throws(CodecError) -> Int {
        switch json {
        case .string(let name):
            if let kind = Self.primitives[name] { return append(AvroNode(kind: kind, name: name)) }
            return try reference(name, namespace: namespace)
        case .array(let items):
            var branches: [Int] = []
            var nullIndex: Int?
            var seen: Set<String> = []
            for (i, item) in items.enumerated() {
                let branch = try node(item, namespace: namespace)
                if case .union = nodes[branch].kind { throw fail("a union may not directly contain another union") }
                guard seen.insert(nodes[branch].name).inserted else {
                    throw fail("a union may not contain \(nodes[branch].name) twice")
                }
                if case .null = nodes[branch].kind { nullIndex = i }
                branches.append(branch)
            }
            return append(AvroNode(kind: .union(branches: branches, nullIndex: nullIndex), name: "union"))
        case .object(let object):
            return try complex(object, namespace: namespace)
        default:
            throw fail("a type must be a name, an object or an array, not \(json.jsonText)")
        }
    }

    private func reference(_ name: String, namespace: String?) throws(CodecError) -> Int {
        if !name.contains("."), let namespace, let index = named[namespace + "." + name] { return index }
        if let index = named[name] { return index }
        throw fail("unknown type name '\(name)'")
    }

    private mutating func complex(_ object: ValueObject, namespace: String?) throws(CodecError) -> Int {
        guard let type = object["type"] else { throw fail("a type object needs a \"type\"") }
        guard case .string(let typeName) = type else {
            // {"type": {"type": "string"}} and {"type": [...]} nest a type.
            return try node(type, namespace: namespace)
        }
        let index: Int
        switch typeName {
        case "record", "error":
            let (fullName, space) = try registerName(object, namespace: namespace)
            // A placeholder until the fields are known; fields may refer back to it.
            index = append(AvroNode(kind: .record(fields: [], keys: []), name: fullName))
            named[fullName] = index
            guard case .array(let list)? = object["fields"] else { throw fail("record \(fullName) needs a \"fields\" array") }
            var fields: [AvroField] = []
            for item in list {
                guard case .object(let field) = item, case .string(let name)? = field["name"],
                      let fieldType = field["type"] else {
                    throw fail("record \(fullName) has a field without a name or type")
                }
                fields.append(AvroField(name: name, type: try node(fieldType, namespace: space),
                                        defaultValue: field["default"]))
            }
            nodes[index].kind = .record(fields: fields, keys: fields.map(\.name))
        case "enum":
            let (fullName, _) = try registerName(object, namespace: namespace)
            guard case .array(let list)? = object["symbols"] else { throw fail("enum \(fullName) needs \"symbols\"") }
            let symbols = list.compactMap(\.stringValue)
            index = append(AvroNode(kind: .enumeration(symbols: symbols), name: fullName))
            named[fullName] = index
        case "fixed":
            let (fullName, _) = try registerName(object, namespace: namespace)
            guard let size = object["size"]?.int64Value, size >= 0, size <= Int64(Int32.max) else {
                throw fail("fixed \(fullName) needs a non-negative \"size\"")
            }
            index = append(AvroNode(kind: .fixed(size: Int(size)), name: fullName))
            named[fullName] = index
        case "array":
            guard let items = object["items"] else { throw fail("array needs \"items\"") }
            let child = try node(items, namespace: namespace)
            index = append(AvroNode(kind: .array(items: child), name: "array"))
        case "map":
            guard let values = object["values"] else { throw fail("map needs \"values\"") }
            let child = try node(values, namespace: namespace)
            index = append(AvroNode(kind: .map(values: child), name: "map"))
        default:
            if let kind = Self.primitives[typeName] {
                index = append(AvroNode(kind: kind, name: typeName))
            } else {
                // A named reference written as {"type": "Name"}.
                return try reference(typeName, namespace: namespace)
            }
        }
        if case .string(let logical)? = object["logicalType"] {
            nodes[index].logical = Self.logical(logical, object, nodes[index].kind)
        }
        return index
    }

    private mutating func registerName(_ object: ValueObject, namespace: String?) throws(CodecError) -> (String, String?) {
        guard case .string(let name)? = object["name"], !name.isEmpty else {
            throw fail("a named type needs a \"name\"")
        }
        var space = namespace
        if case .string(let declared)? = object["namespace"] { space = declared.isEmpty ? nil : declared }
        let fullName: String
        if let dot = name.lastIndex(of: ".") {
            fullName = name
            space = String(name[..<dot])
        } else if let space {
            fullName = space + "." + name
        } else {
            fullName = name
        }
        if named[fullName] != nil { throw fail("type \(fullName) is defined twice") }
        return (fullName, space)
    }

    /// The spec says an invalid logical type is ignored and the underlying
    /// type used, so a nil here is not an error.
    private static func logical(_ name: String, _ object: ValueObject, _ kind: AvroNode.Kind) -> AvroLogical? {
        switch (name, kind) {
        case ("decimal", .bytes), ("decimal", .fixed):
            guard let precision = object["precision"]?.int64Value, precision > 0 else { return nil }
            let scale = object["scale"]?.int64Value ?? 0
            guard scale >= 0, scale <= precision, precision <= 1000 else { return nil }
            if case .fixed(let size) = kind, Double(precision) > Double(8 * size - 1) * 0.30103 + 1e-9 {
                return nil
            }
            return .decimal(precision: Int(precision), scale: Int(scale))
        case ("uuid", .string): return .uuid
        case ("uuid", .fixed(16)): return .uuid
        case ("date", .int): return .date
        case ("time-millis", .int): return .timeMillis
        case ("time-micros", .long): return .timeMicros
        case ("timestamp-millis", .long): return .timestamp(unitsPerSecond: 1000, digits: 3, utc: true)
        case ("timestamp-micros", .long): return .timestamp(unitsPerSecond: 1_000_000, digits: 6, utc: true)
        case ("timestamp-nanos", .long): return .timestamp(unitsPerSecond: 1_000_000_000, digits: 9, utc: true)
        case ("local-timestamp-millis", .long): return .timestamp(unitsPerSecond: 1000, digits: 3, utc: false)
        case ("local-timestamp-micros", .long): return .timestamp(unitsPerSecond: 1_000_000, digits: 6, utc: false)
        case ("local-timestamp-nanos", .long): return .timestamp(unitsPerSecond: 1_000_000_000, digits: 9, utc: false)
        case ("duration", .fixed(12)): return .duration
        default: return nil
        }
    }

    /// Iterates to a fixed point from 0, so every intermediate value is a
    /// valid lower bound even for recursive records.
    private mutating func computeMinimumSizes() {
        let cap = 1 << 30
        for _ in 0...nodes.count {
            var changed = false
            for i in nodes.indices {
                let size: Int
                switch nodes[i].kind {
                case .null: size = 0
                case .boolean, .int, .long, .bytes, .string, .enumeration, .array, .map, .union: size = 1
                case .float: size = 4
                case .double: size = 8
                case .fixed(let n): size = n
                case .record(let fields, _):
                    size = min(cap, fields.reduce(0) { min(cap, $0 + nodes[$1.type].minSize) })
                }
                if size != nodes[i].minSize { nodes[i].minSize = size; changed = true }
            }
            if !changed { return }
        }
    }
}
