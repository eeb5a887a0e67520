import Foundation

/// The JSON types of the `type` keyword, as bits.
struct SchemaTypes: OptionSet, Sendable, CustomStringConvertible {
    let rawValue: UInt8
    static let null = SchemaTypes(rawValue: 1)
    static let boolean = SchemaTypes(rawValue: 2)
    static let object = SchemaTypes(rawValue: 4)
    static let array = SchemaTypes(rawValue: 8)
    static let number = SchemaTypes(rawValue: 16)
    static let string = SchemaTypes(rawValue: 32)
    static let integer = SchemaTypes(rawValue: 64)

    static let names: [(String, SchemaTypes)] = [
        ("null", .null), ("boolean", .boolean), ("object", .object), ("array", .array),
        ("number", .number), ("string", .string), ("integer", .integer),
    ]

    /// Whether `value` has one of these types; an integral number is an
    /// integer whatever its representation (`1.0` too).
    func matches(_ value: Value) -> Bool {
        switch value {
        case .null: return contains(.null)
        case .bool: return contains(.boolean)
        case .string, .bytes: return contains(.string)
        case .object: return contains(.object)
        case .array: return contains(.array)
        case .int: return !isDisjoint(with: [.number, .integer])
        case .double, .decimal:
            if contains(.number) { return NumberCompare.isNumber(value) }
            return contains(.integer) && NumberCompare.isInteger(value)
        }
    }

    var description: String {
        let listed = SchemaTypes.names.filter { contains($0.1) }.map { $0.0 }
        return listed.count == 1 ? listed[0] : "[" + listed.joined(separator: ", ") + "]"
    }
}

/// An ECMA-262-ish `pattern`, run through ICU (which accepts the common
/// subset); matches are searches, not anchored.
final class SchemaRegex: @unchecked Sendable {
    let pattern: String
    private let regex: NSRegularExpression

    init?(_ pattern: String) {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return nil }
        self.pattern = pattern
        self.regex = regex
    }

    func matches(_ text: String) -> Bool {
        let range = NSRange(location: 0, length: text.utf16.count)
        return regex.firstMatch(in: text, options: [], range: range) != nil
    }
}

/// `properties`, `patternProperties` and `additionalProperties` of one
/// schema, run as a single pass over the instance's keys. A class, so the
/// keyword enum stays small and cheap to copy.
final class PropertyPass: Sendable {
    let names: [String]
    let schemas: [Int]
    let lookup: [String: Int]
    let patterns: [(regex: SchemaRegex, schema: Int)]
    let additional: Int?

    init(properties: [(String, Int)], patterns: [(regex: SchemaRegex, schema: Int)], additional: Int?) {
        names = properties.map(\.0)
        schemas = properties.map(\.1)
        var lookup: [String: Int] = [:]
        for (i, name) in names.enumerated() where lookup[name] == nil { lookup[name] = i }
        self.lookup = lookup
        self.patterns = patterns
        self.additional = additional
    }

    /// The `properties` entry for `key`; instance keys usually come in the
    /// schema's order, so the position is tried before hashing.
    @inline(__always)
    func property(_ key: String, at position: Int) -> Int? {
        if position < names.count, names[position] == key { return schemas[position] }
        if let found = lookup[key] { return schemas[found] }
        return nil
    }
}

/// One compiled keyword. Subschemas are indexes into `SchemaGraph.nodes`.
enum SchemaKeyword: Sendable {
    case type(SchemaTypes)
    case constant(Value)
    case enumeration([Value])
    case minimum(SchemaNumber), maximum(SchemaNumber)
    case exclusiveMinimum(SchemaNumber), exclusiveMaximum(SchemaNumber)
    case multipleOf(SchemaNumber)
    case minLength(Int), maxLength(Int)
    case pattern(SchemaRegex)
    case format(SchemaFormat)
    case minItems(Int), maxItems(Int)
    case uniqueItems
    case prefixItems([Int])
    /// `items` (2020-12, or draft-07 in schema form): every item from
    /// `start` on; also draft-07 `additionalItems`, with its own name.
    case items(Int, start: Int, name: String)
    case contains(Int, min: Int, max: Int?)
    case minProperties(Int), maxProperties(Int)
    case required([String])
    case dependentRequired([(String, [String])])
    case properties(PropertyPass)
    case propertyNames(Int)
    case dependentSchemas([(String, Int)])
    case allOf([Int]), anyOf([Int]), oneOf([Int])
    case not(Int)
    case conditional(if: Int, then: Int?, else: Int?)
    case ref(Int)
    /// Resolves like `$ref` to `fallback`, unless `anchor` names a
    /// `$dynamicAnchor`: then the outermost resource in the dynamic scope
    /// declaring it wins.
    case dynamicRef(fallback: Int, anchor: String?)
}

/// One compiled schema object (or boolean schema), its keywords sorted by
/// the instance type they apply to so validation only looks at those.
final class SchemaNode: Sendable {
    /// `#/pointer` in the compiled document, `uri#/pointer` elsewhere.
    let location: String
    /// The schema resource this schema belongs to (for `$dynamicRef`).
    let resource: Int
    /// true/false for boolean schemas.
    let constant: Bool?
    let anyType: [SchemaKeyword]
    let objectKeywords: [SchemaKeyword]
    let arrayKeywords: [SchemaKeyword]
    let stringKeywords: [SchemaKeyword]
    let numberKeywords: [SchemaKeyword]
    let unevaluatedProperties: Int?
    let unevaluatedItems: Int?
    var hasUnevaluated: Bool { unevaluatedProperties != nil || unevaluatedItems != nil }

    init(location: String, resource: Int, constant: Bool?, anyType: [SchemaKeyword] = [],
         objectKeywords: [SchemaKeyword] = [], arrayKeywords: [SchemaKeyword] = [],
         stringKeywords: [SchemaKeyword] = [], numberKeywords: [SchemaKeyword] = [],
         unevaluatedProperties: Int? = nil, unevaluatedItems: Int? = nil) {
        self.location = location
        self.resource = resource
        self.constant = constant
        self.anyType = anyType
        self.objectKeywords = objectKeywords
        self.arrayKeywords = arrayKeywords
        self.stringKeywords = stringKeywords
        self.numberKeywords = numberKeywords
        self.unevaluatedProperties = unevaluatedProperties
        self.unevaluatedItems = unevaluatedItems
    }
}

/// Every compiled schema reachable from a root, references included.
final class SchemaGraph: Sendable {
    let nodes: [SchemaNode]
    let root: Int
    /// Per schema resource: its `$dynamicAnchor` names → nodes.
    let dynamicAnchors: [[String: Int]]
    let usesDynamicScope: Bool

    init(nodes: [SchemaNode], root: Int, dynamicAnchors: [[String: Int]], usesDynamicScope: Bool) {
        self.nodes = nodes
        self.root = root
        self.dynamicAnchors = dynamicAnchors
        self.usesDynamicScope = usesDynamicScope
    }
}
