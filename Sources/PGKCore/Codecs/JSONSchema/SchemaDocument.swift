/// A place in a registered document: which document, and the JSON Pointer
/// (escaped, not percent-encoded) from its root.
struct SchemaLocation: Hashable {
    var document: Int
    var pointer: String
}

/// What holds at one schema position of a document: the base URI that
/// relative references resolve against, the dialect, and whether the
/// position starts a schema resource (`$id`, or the document root).
struct SchemaPosition {
    var base: String
    var dialect: SchemaDialect
    var isResourceRoot: Bool
}

/// One registered JSON document and the schema positions found in it.
final class SchemaDocument {
    let uri: String
    let root: Value
    private(set) var positions: [String: SchemaPosition] = [:]

    init(uri: String, root: Value) {
        self.uri = uri
        self.root = root
    }

    func value(at pointer: String) -> Value? { JSONPointer.resolve(pointer, in: root) }

    /// The position at `pointer`, or, for a spot the index never reached
    /// (inside an unknown keyword), the nearest indexed ancestor's base and
    /// dialect: `$id` there does not count, as the specification says.
    func position(at pointer: String) -> SchemaPosition {
        if let found = positions[pointer] { return found }
        var prefix = Substring(pointer)
        while let slash = prefix.lastIndex(of: "/") {
            prefix = prefix[..<slash]
            if var found = positions[String(prefix)] {
                found.isResourceRoot = false
                return found
            }
        }
        return positions[""] ?? SchemaPosition(base: uri, dialect: .draft2020_12, isResourceRoot: true)
    }

    /// Identifiers found while indexing, for the store's tables.
    struct Identifiers {
        var resources: [(uri: String, pointer: String)] = []
        var anchors: [(resource: String, name: String, pointer: String, dynamic: Bool)] = []
    }

    /// Walks every subschema (only through keywords that hold schemas, so
    /// an `$id` inside `const` or an unknown keyword stays plain data),
    /// recording bases, dialects, resources and anchors.
    func index(dialectFor: (String) throws(SchemaError) -> SchemaDialect,
               defaultDialect: SchemaDialect) throws(SchemaError) -> Identifiers {
        var found = Identifiers()
        found.resources.append((uri, ""))
        try walk(root, pointer: "", base: uri, dialect: defaultDialect, isDocumentRoot: true,
                 dialectFor: dialectFor, into: &found)
        return found
    }

    private func walk(_ value: Value, pointer: String, base inherited: String, dialect inheritedDialect: SchemaDialect,
                      isDocumentRoot: Bool, dialectFor: (String) throws(SchemaError) -> SchemaDialect,
                      into found: inout Identifiers) throws(SchemaError) {
        guard case .object(let object) = value else {
            positions[pointer] = SchemaPosition(base: inherited, dialect: inheritedDialect, isResourceRoot: isDocumentRoot)
            return
        }
        var base = inherited
        var dialect = inheritedDialect
        let id = object["$id"]?.stringValue
        let hasRef = object["$ref"] != nil
        if let schemaURI = object["$schema"]?.stringValue, isDocumentRoot || id != nil {
            dialect = try dialectFor(schemaURI)
        }
        var isResourceRoot = isDocumentRoot
        // In draft-07 a `$ref` makes its siblings, `$id` included, inert.
        if let id, !(dialect.draft == .draft7 && hasRef) {
            let resolved = SchemaURI(base).resolving(id)
            let fragment = resolved.fragment ?? ""
            if dialect.draft == .draft7, id.hasPrefix("#") {
                found.anchors.append((base, fragment, pointer, false))
            } else {
                base = resolved.withoutFragment.description
                isResourceRoot = true
                found.resources.append((base, pointer))
                if !fragment.isEmpty, dialect.draft == .draft7 {
                    found.anchors.append((base, fragment, pointer, false))
                }
            }
        }
        if dialect.draft == .draft2020_12 {
            if let anchor = object["$anchor"]?.stringValue {
                found.anchors.append((base, anchor, pointer, false))
            }
            if let anchor = object["$dynamicAnchor"]?.stringValue {
                found.anchors.append((base, anchor, pointer, true))
            }
        }
        positions[pointer] = SchemaPosition(base: base, dialect: dialect, isResourceRoot: isResourceRoot)

        func child(_ value: Value, _ childPointer: String) throws(SchemaError) {
            try walk(value, pointer: childPointer, base: base, dialect: dialect, isDocumentRoot: false,
                     dialectFor: dialectFor, into: &found)
        }
        for keyword in dialect.singleSchemaKeywords() {
            if let sub = object[keyword] { try child(sub, JSONPointer.appending(pointer, keyword)) }
        }
        for keyword in dialect.schemaArrayKeywords() {
            if case .array(let items)? = object[keyword] {
                for (i, sub) in items.enumerated() { try child(sub, JSONPointer.appending(JSONPointer.appending(pointer, keyword), i)) }
            }
        }
        if dialect.draft == .draft7, let items = object["items"] {
            let itemsPointer = JSONPointer.appending(pointer, "items")
            if case .array(let list) = items {
                for (i, sub) in list.enumerated() { try child(sub, JSONPointer.appending(itemsPointer, i)) }
            } else {
                try child(items, itemsPointer)
            }
        }
        for keyword in dialect.schemaMapKeywords() {
            if case .object(let map)? = object[keyword] {
                let mapPointer = JSONPointer.appending(pointer, keyword)
                for (name, sub) in map {
                    if keyword == "dependencies", case .array = sub { continue }
                    try child(sub, JSONPointer.appending(mapPointer, name))
                }
            }
        }
    }
}
