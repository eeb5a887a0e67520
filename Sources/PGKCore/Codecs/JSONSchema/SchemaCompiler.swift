/// Turns the schema at a location, and everything it references, into a
/// `SchemaGraph`. Each schema location is compiled once; references are
/// node indexes, so recursive schemas are plain cycles in the graph.
struct SchemaCompiler {
    let store: JSONSchemaStore
    let rootDocument: Int
    private var nodes: [SchemaNode?] = []
    private var pending: [(index: Int, location: SchemaLocation)] = []
    private var indexOf: [SchemaLocation: Int] = [:]
    private var resourceIDs: [String: Int] = [:]
    private var resourceURIs: [String] = []
    private var dynamicAnchors: [[String: Int]] = []
    private var usesDynamicScope = false

    init(store: JSONSchemaStore, rootDocument: Int) {
        self.store = store
        self.rootDocument = rootDocument
    }

    mutating func compile(root: SchemaLocation) throws(SchemaError) -> SchemaGraph {
        let rootIndex = node(at: root)
        var next = 0
        var anchorsDone = 0
        while true {
            while next < pending.count {
                let (index, location) = pending[next]
                next += 1
                nodes[index] = try build(location)
            }
            // `$dynamicRef` may land on any `$dynamicAnchor` of a resource
            // in the dynamic scope, so those must all be compiled.
            guard usesDynamicScope, anchorsDone < resourceURIs.count else { break }
            while anchorsDone < resourceURIs.count {
                let resource = anchorsDone
                anchorsDone += 1
                for anchor in store.dynamicAnchors(ofResource: resourceURIs[resource]) {
                    dynamicAnchors[resource][anchor.name] = node(at: anchor.location)
                }
            }
        }
        return SchemaGraph(nodes: nodes.map { $0! }, root: rootIndex, dynamicAnchors: dynamicAnchors,
                           usesDynamicScope: usesDynamicScope)
    }

    /// The node index for a location, queueing it the first time.
    mutating func node(at location: SchemaLocation) -> Int {
        if let found = indexOf[location] { return found }
        let index = nodes.count
        nodes.append(nil)
        indexOf[location] = index
        pending.append((index, location))
        return index
    }

    private mutating func resourceID(_ uri: String) -> Int {
        if let found = resourceIDs[uri] { return found }
        let id = resourceURIs.count
        resourceIDs[uri] = id
        resourceURIs.append(uri)
        dynamicAnchors.append([:])
        return id
    }

    private mutating func build(_ location: SchemaLocation) throws(SchemaError) -> SchemaNode {
        let rendered = store.render(location, rootDocument: rootDocument)
        let position = store.position(at: location)
        let resource = resourceID(position.base)
        switch store.value(at: location) {
        case .bool(let constant)?:
            return SchemaNode(location: rendered, resource: resource, constant: constant)
        case .object(let object)?:
            var builder = KeywordBuilder(object: object, location: location, rendered: rendered,
                                         documentURI: store.documents[location.document].uri, position: position)
            try compileKeywords(&builder)
            return builder.node(resource: resource)
        default:
            throw SchemaError(location: absolute(location), reason: "a schema must be an object or a boolean")
        }
    }

    func absolute(_ location: SchemaLocation) -> String {
        store.documents[location.document].uri + "#" + location.pointer
    }

    private mutating func compileKeywords(_ b: inout KeywordBuilder) throws(SchemaError) {
        let dialect = b.position.dialect
        let vocabularies = dialect.vocabularies
        if let ref = b.object["$ref"] {
            guard case .string(let reference) = ref else { throw b.error("$ref", "must be a string") }
            let target = try store.resolve(reference, base: b.position.base, from: b.absolute("$ref"))
            b.anyType.append(.ref(node(at: target.location)))
            // Before 2019-09 a `$ref` replaces the whole schema object.
            if dialect.draft == .draft7 { return }
        }
        if dialect.draft == .draft2020_12, let ref = b.object["$dynamicRef"] {
            guard case .string(let reference) = ref else { throw b.error("$dynamicRef", "must be a string") }
            let target = try store.resolve(reference, base: b.position.base, from: b.absolute("$dynamicRef"))
            if target.dynamicAnchor != nil { usesDynamicScope = true }
            b.anyType.append(.dynamicRef(fallback: node(at: target.location), anchor: target.dynamicAnchor))
        }
        if vocabularies.contains(.applicator) {
            try compileApplicators(&b, draft: dialect.draft)
        }
        if vocabularies.contains(.validation) {
            try b.compileValidation(draft: dialect.draft)
        }
        if vocabularies.contains(.unevaluated), dialect.draft == .draft2020_12 {
            if b.object["unevaluatedProperties"] != nil { b.unevaluatedProperties = try subschema(&b, "unevaluatedProperties") }
            if b.object["unevaluatedItems"] != nil { b.unevaluatedItems = try subschema(&b, "unevaluatedItems") }
        }
        if let format = b.object["format"] {
            guard case .string(let name) = format else { throw b.error("format", "must be a string") }
            if store.options.assertFormats || vocabularies.contains(.formatAssertion),
               let known = SchemaFormat(rawValue: name) {
                b.stringKeywords.append(.format(known))
            }
        }
    }

    private mutating func compileApplicators(_ b: inout KeywordBuilder, draft: SchemaDialect.Draft) throws(SchemaError) {
        for keyword in ["allOf", "anyOf", "oneOf"] where b.object[keyword] != nil {
            let list = try subschemaArray(&b, keyword)
            switch keyword {
            case "allOf": b.anyType.append(.allOf(list))
            case "anyOf": b.anyType.append(.anyOf(list))
            default: b.anyType.append(.oneOf(list))
            }
        }
        if b.object["not"] != nil { b.anyType.append(.not(try subschema(&b, "not"))) }
        if b.object["if"] != nil {
            let condition = try subschema(&b, "if")
            let then = b.object["then"] != nil ? try subschema(&b, "then") : nil
            let otherwise = b.object["else"] != nil ? try subschema(&b, "else") : nil
            // Alone, `if` only matters for the annotations it may produce.
            b.anyType.append(.conditional(if: condition, then: then, else: otherwise))
        }
        try compileObjectApplicators(&b, draft: draft)
        try compileArrayApplicators(&b, draft: draft)
    }

    private mutating func compileObjectApplicators(_ b: inout KeywordBuilder, draft: SchemaDialect.Draft) throws(SchemaError) {
        var properties: [(String, Int)] = []
        var patterns: [(regex: SchemaRegex, schema: Int)] = []
        var additional: Int?
        if b.object["properties"] != nil { properties = try subschemaMap(&b, "properties") }
        if b.object["patternProperties"] != nil {
            for (pattern, schema) in try subschemaMap(&b, "patternProperties") {
                guard let regex = SchemaRegex(pattern) else {
                    throw b.error("patternProperties", "invalid regular expression '\(pattern)'")
                }
                patterns.append((regex, schema))
            }
        }
        if b.object["additionalProperties"] != nil { additional = try subschema(&b, "additionalProperties") }
        if !properties.isEmpty || !patterns.isEmpty || additional != nil {
            b.objectKeywords.append(.properties(PropertyPass(properties: properties, patterns: patterns, additional: additional)))
        }
        if b.object["propertyNames"] != nil { b.objectKeywords.append(.propertyNames(try subschema(&b, "propertyNames"))) }
        let dependentKeyword = draft == .draft7 ? "dependencies" : "dependentSchemas"
        if case .object(let map)? = b.object[dependentKeyword] {
            var schemas: [(String, Int)] = []
            var required: [(String, [String])] = []
            for (name, value) in map {
                let pointer = JSONPointer.appending(JSONPointer.appending(b.location.pointer, dependentKeyword), name)
                if draft == .draft7, case .array = value {
                    required.append((name, try b.stringArray(value, dependentKeyword)))
                } else {
                    schemas.append((name, try child(&b, pointer, keyword: dependentKeyword)))
                }
            }
            if !schemas.isEmpty { b.objectKeywords.append(.dependentSchemas(schemas)) }
            if !required.isEmpty { b.objectKeywords.append(.dependentRequired(required)) }
        } else if b.object[dependentKeyword] != nil {
            throw b.error(dependentKeyword, "must be an object")
        }
    }

    private mutating func compileArrayApplicators(_ b: inout KeywordBuilder, draft: SchemaDialect.Draft) throws(SchemaError) {
        var prefixCount: Int?
        if draft == .draft2020_12 {
            if b.object["prefixItems"] != nil {
                let list = try subschemaArray(&b, "prefixItems")
                b.arrayKeywords.append(.prefixItems(list))
                prefixCount = list.count
            }
            if let items = b.object["items"] {
                if case .array = items {
                    throw b.error("items", "must be a schema in draft 2020-12 (use 'prefixItems' for the array form, or declare draft-07 in $schema)")
                }
                b.arrayKeywords.append(.items(try subschema(&b, "items"), start: prefixCount ?? 0, name: "items"))
            }
        } else if let items = b.object["items"] {
            if case .array = items {
                let list = try subschemaArray(&b, "items", allowEmpty: true)
                b.arrayKeywords.append(.prefixItems(list))
                if b.object["additionalItems"] != nil {
                    let additional = try subschema(&b, "additionalItems")
                    b.arrayKeywords.append(.items(additional, start: list.count, name: "additionalItems"))
                }
            } else {
                b.arrayKeywords.append(.items(try subschema(&b, "items"), start: 0, name: "items"))
            }
        }
        if b.object["contains"] != nil {
            let schema = try subschema(&b, "contains")
            var minimum = 1
            var maximum: Int?
            if draft == .draft2020_12, b.position.dialect.vocabularies.contains(.validation) {
                if let value = b.object["minContains"] { minimum = try b.nonNegativeInteger(value, "minContains") }
                if let value = b.object["maxContains"] { maximum = try b.nonNegativeInteger(value, "maxContains") }
            }
            b.arrayKeywords.append(.contains(schema, min: minimum, max: maximum))
        }
    }

    // MARK: - Subschema helpers

    private mutating func child(_ b: inout KeywordBuilder, _ pointer: String, keyword: String) throws(SchemaError) -> Int {
        let location = SchemaLocation(document: b.location.document, pointer: pointer)
        switch store.value(at: location) {
        case .bool?, .object?: return node(at: location)
        default: throw b.error(keyword, "must hold schemas (objects or booleans)")
        }
    }

    private mutating func subschema(_ b: inout KeywordBuilder, _ keyword: String) throws(SchemaError) -> Int {
        try child(&b, JSONPointer.appending(b.location.pointer, keyword), keyword: keyword)
    }

    private mutating func subschemaArray(_ b: inout KeywordBuilder, _ keyword: String, allowEmpty: Bool = false) throws(SchemaError) -> [Int] {
        guard case .array(let items)? = b.object[keyword], allowEmpty || !items.isEmpty else {
            throw b.error(keyword, allowEmpty ? "must be an array of schemas" : "must be a non-empty array of schemas")
        }
        let base = JSONPointer.appending(b.location.pointer, keyword)
        var out: [Int] = []
        for i in items.indices { out.append(try child(&b, JSONPointer.appending(base, i), keyword: keyword)) }
        return out
    }

    private mutating func subschemaMap(_ b: inout KeywordBuilder, _ keyword: String) throws(SchemaError) -> [(String, Int)] {
        guard case .object(let map)? = b.object[keyword] else { throw b.error(keyword, "must be an object of schemas") }
        let base = JSONPointer.appending(b.location.pointer, keyword)
        var out: [(String, Int)] = []
        for name in map.keys { out.append((name, try child(&b, JSONPointer.appending(base, name), keyword: keyword))) }
        return out
    }
}
