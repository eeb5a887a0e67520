/// Which properties and items of the instance at hand some keyword has
/// evaluated: the annotations `unevaluatedProperties`/`unevaluatedItems`
/// read. Only gathered below schemas that use those two keywords.
struct EvaluatedParts {
    var allProperties = false
    /// nil until something is added, so untracked runs never touch a set.
    var properties: Set<String>?
    var allItems = false
    /// Items before this index were evaluated (prefixItems).
    var itemPrefix = 0
    /// Items `contains` matched.
    var items: Set<Int>?

    mutating func addProperty(_ name: String) {
        if properties == nil { properties = [name] } else { properties!.insert(name) }
    }

    mutating func addItem(_ index: Int) {
        if items == nil { items = [index] } else { items!.insert(index) }
    }

    func evaluated(property name: String) -> Bool { allProperties || properties?.contains(name) == true }
    func evaluated(item index: Int) -> Bool { allItems || index < itemPrefix || items?.contains(index) == true }

    mutating func merge(_ other: EvaluatedParts) {
        if other.allProperties { allProperties = true } else if !allProperties, let names = other.properties {
            if properties == nil { properties = names } else { properties!.formUnion(names) }
        }
        if other.allItems { allItems = true } else if !allItems {
            itemPrefix = max(itemPrefix, other.itemPrefix)
            if let indexes = other.items {
                if items == nil { items = indexes } else { items!.formUnion(indexes) }
            }
        }
    }
}

/// One validation run: walks the compiled graph over an instance.
///
/// With `collecting` false it stops at the first failure (the boolean
/// mode); with true it reports every failure it can reach. Subschemas
/// whose failures are not errors of the instance (the branches of
/// anyOf/oneOf, `not`, `if`, `contains`) always run quietly.
struct SchemaEvaluator {
    let graph: SchemaGraph
    var collecting: Bool
    var violations: [SchemaViolation] = []
    /// The instance location, kept only while collecting.
    var path: [InstancePathStep] = []
    /// Resources entered, outermost first (only for `$dynamicRef`).
    var scope: [Int] = []
    /// Nested schema evaluations; a bound that stops `$ref` cycles that never
    /// move into the instance (and instances nested absurdly deep).
    var depth = 0
    static let maxDepth = 400

    init(graph: SchemaGraph, collecting: Bool) {
        self.graph = graph
        self.collecting = collecting
    }

    mutating func report(_ node: SchemaNode, _ keyword: String, _ message: String) {
        guard collecting else { return }
        violations.append(SchemaViolation(instanceLocation: InstancePathStep.render(path), keyword: keyword,
                                          schemaLocation: node.location, message: message))
    }

    /// Validates `instance` against node `index`. When `track` is set, the
    /// parts it evaluated are merged into `parts` if it passes.
    mutating func evaluate(_ index: Int, _ instance: Value, track: Bool, into parts: inout EvaluatedParts) -> Bool {
        evaluate(node: graph.nodes[index], instance, track: track, into: &parts)
    }

    mutating func evaluate(node: SchemaNode, _ instance: Value, track: Bool, into parts: inout EvaluatedParts) -> Bool {
        if let constant = node.constant {
            if !constant { report(node, "false", "no value is valid here") }
            return constant
        }
        depth += 1
        defer { depth -= 1 }
        if depth > SchemaEvaluator.maxDepth {
            report(node, "$ref", "evaluation nested deeper than \(SchemaEvaluator.maxDepth) levels (a $ref cycle?)")
            return false
        }
        var entered = false
        if graph.usesDynamicScope, scope.last != node.resource {
            scope.append(node.resource)
            entered = true
        }
        defer { if entered { scope.removeLast() } }

        let tracking = track || node.hasUnevaluated
        var local = EvaluatedParts()
        var valid = true
        for keyword in node.anyType where !apply(keyword, node, instance, tracking, &local) {
            valid = false
            if !collecting { return false }
        }
        let typed: [SchemaKeyword]
        switch instance {
        case .object: typed = node.objectKeywords
        case .array: typed = node.arrayKeywords
        case .string, .bytes: typed = node.stringKeywords
        case .int, .double, .decimal: typed = node.numberKeywords
        case .null, .bool: typed = []
        }
        for keyword in typed where !apply(keyword, node, instance, tracking, &local) {
            valid = false
            if !collecting { return false }
        }
        if node.hasUnevaluated, !unevaluated(node, instance, &local) { valid = false }
        if valid && track { parts.merge(local) }
        return valid
    }

    /// A subschema at a child location (a property or an item).
    mutating func child(_ index: Int, _ value: Value, _ step: InstancePathStep, parent: SchemaNode, keyword: String) -> Bool {
        if collecting { path.append(step) }
        defer { if collecting { path.removeLast() } }
        let node = graph.nodes[index]
        if node.constant == false {
            report(parent, keyword, "false")
            return false
        }
        var ignored = EvaluatedParts()
        return evaluate(node: node, value, track: false, into: &ignored)
    }

    /// Runs `body` without reporting, for subschemas that only decide.
    mutating func quietly<T>(_ body: (inout SchemaEvaluator) -> T) -> T {
        let saved = collecting
        collecting = false
        defer { collecting = saved }
        return body(&self)
    }

    private mutating func apply(_ keyword: SchemaKeyword, _ node: SchemaNode, _ instance: Value,
                                _ tracking: Bool, _ local: inout EvaluatedParts) -> Bool {
        switch keyword {
        case .ref(let target):
            return evaluate(target, instance, track: tracking, into: &local)
        case .dynamicRef(let fallback, let anchor):
            return evaluate(dynamicTarget(fallback, anchor), instance, track: tracking, into: &local)
        case .allOf(let list):
            var valid = true
            for schema in list where !evaluate(schema, instance, track: tracking, into: &local) {
                valid = false
                if !collecting { return false }
            }
            return valid
        case .anyOf(let list):
            var matched = false
            quietly { e in
                for schema in list where e.evaluate(schema, instance, track: tracking, into: &local) {
                    matched = true
                    if !tracking { break }
                }
            }
            if !matched { report(node, "anyOf", "no subschema matched") }
            return matched
        case .oneOf(let list):
            var matches: [Int] = []
            quietly { e in
                for (i, schema) in list.enumerated() {
                    var parts = EvaluatedParts()
                    if e.evaluate(schema, instance, track: tracking, into: &parts) {
                        matches.append(i)
                        if tracking { local.merge(parts) }
                    }
                }
            }
            if matches.count == 1 { return true }
            report(node, "oneOf", matches.isEmpty ? "no subschema matched"
                   : "subschemas \(matches.map(String.init).joined(separator: ", ")) matched, not one")
            return false
        case .not(let schema):
            var ignored = EvaluatedParts()
            let matched = quietly { e in e.evaluate(schema, instance, track: false, into: &ignored) }
            if matched { report(node, "not", "subschema matched") }
            return !matched
        case .conditional(let condition, let then, let otherwise):
            if then == nil && otherwise == nil && !tracking { return true }
            let holds = quietly { e in e.evaluate(condition, instance, track: tracking, into: &local) }
            guard let branch = holds ? then : otherwise else { return true }
            return evaluate(branch, instance, track: tracking, into: &local)
        case .type(let types):
            if types.matches(instance) { return true }
            report(node, "type", types.description)
            return false
        case .constant(let expected):
            if ValueEquality.equal(instance, expected) { return true }
            report(node, "const", expected.jsonText)
            return false
        case .enumeration(let options):
            if options.contains(where: { ValueEquality.equal(instance, $0) }) { return true }
            report(node, "enum", Value.array(options).jsonText)
            return false
        default:
            return applyTyped(keyword, node, instance, tracking, &local)
        }
    }

    /// The outermost resource in the dynamic scope that declares the
    /// `$dynamicAnchor`, else the statically resolved target.
    private func dynamicTarget(_ fallback: Int, _ anchor: String?) -> Int {
        guard let anchor else { return fallback }
        for resource in scope {
            if let found = graph.dynamicAnchors[resource][anchor] { return found }
        }
        return fallback
    }
}
