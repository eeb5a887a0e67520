/// The keywords that apply to one instance type: objects, arrays, strings
/// and numbers; and the `unevaluated*` pair, which run last.
extension SchemaEvaluator {
    mutating func applyTyped(_ keyword: SchemaKeyword, _ node: SchemaNode, _ instance: Value,
                             _ tracking: Bool, _ local: inout EvaluatedParts) -> Bool {
        switch instance {
        case .object(let object): return applyObject(keyword, node, object, tracking, &local)
        case .array(let items): return applyArray(keyword, node, items, tracking, &local)
        case .string(let text): return applyString(keyword, node, text)
        case .bytes(let bytes): return applyString(keyword, node, Base64.encode(bytes))
        default: return applyNumber(keyword, node, instance)
        }
    }

    private mutating func applyObject(_ keyword: SchemaKeyword, _ node: SchemaNode, _ object: ValueObject,
                                      _ tracking: Bool, _ local: inout EvaluatedParts) -> Bool {
        switch keyword {
        case .properties(let pass):
            return properties(pass, node, object, tracking, &local)
        case .required(let names):
            var valid = true
            let keys = object.keys
            // Instances usually list members in the schema's order: an equal
            // string at the same position is a cheap hit, a search is not.
            for (position, name) in names.enumerated() where !(position < keys.count && keys[position] == name)
                && object[name] == nil {
                report(node, "required", "missing \(Value.string(name).jsonText)")
                valid = false
                if !collecting { return false }
            }
            return valid
        case .minProperties(let count):
            if object.count >= count { return true }
            report(node, "minProperties", "\(count)")
            return false
        case .maxProperties(let count):
            if object.count <= count { return true }
            report(node, "maxProperties", "\(count)")
            return false
        case .dependentRequired(let pairs):
            var valid = true
            for (name, needed) in pairs where object[name] != nil {
                for other in needed where object[other] == nil {
                    report(node, "dependentRequired", "\(Value.string(other).jsonText) required by \(Value.string(name).jsonText)")
                    valid = false
                    if !collecting { return false }
                }
            }
            return valid
        case .dependentSchemas(let pairs):
            var valid = true
            for (name, schema) in pairs where object[name] != nil {
                if !evaluate(schema, .object(object), track: tracking, into: &local) {
                    valid = false
                    if !collecting { return false }
                }
            }
            return valid
        case .propertyNames(let schema):
            var valid = true
            for key in object.keys {
                var ignored = EvaluatedParts()
                if !quietly({ e in e.evaluate(schema, .string(key), track: false, into: &ignored) }) {
                    report(node, "propertyNames", "invalid name \(Value.string(key).jsonText)")
                    valid = false
                    if !collecting { return false }
                }
            }
            return valid
        default:
            return true
        }
    }

    private mutating func properties(_ pass: PropertyPass, _ node: SchemaNode, _ object: ValueObject,
                                     _ tracking: Bool, _ local: inout EvaluatedParts) -> Bool {
        var valid = true
        let keys = object.keys
        let values = object.values
        for position in keys.indices {
            let key = keys[position]
            var matched = false
            if let schema = pass.property(key, at: position) {
                matched = true
                if !child(schema, values[position], .key(key), parent: node, keyword: "properties") {
                    valid = false
                    if !collecting { return false }
                }
            }
            for (regex, schema) in pass.patterns where regex.matches(key) {
                matched = true
                if !child(schema, values[position], .key(key), parent: node, keyword: "patternProperties") {
                    valid = false
                    if !collecting { return false }
                }
            }
            if !matched, let additional = pass.additional {
                if !child(additional, values[position], .key(key), parent: node, keyword: "additionalProperties") {
                    valid = false
                    if !collecting { return false }
                }
            } else if matched && tracking {
                local.addProperty(key)
            }
        }
        if tracking && pass.additional != nil { local.allProperties = true }
        return valid
    }

    private mutating func applyArray(_ keyword: SchemaKeyword, _ node: SchemaNode, _ items: [Value],
                                     _ tracking: Bool, _ local: inout EvaluatedParts) -> Bool {
        switch keyword {
        case .prefixItems(let schemas):
            var valid = true
            for (i, schema) in zip(items.indices, schemas) {
                if !child(schema, items[i], .index(i), parent: node, keyword: "prefixItems") {
                    valid = false
                    if !collecting { return false }
                }
            }
            if tracking { local.itemPrefix = max(local.itemPrefix, min(items.count, schemas.count)) }
            return valid
        case .items(let schema, let start, let name):
            var valid = true
            var i = start
            while i < items.count {
                if !child(schema, items[i], .index(i), parent: node, keyword: name) {
                    valid = false
                    if !collecting { return false }
                }
                i += 1
            }
            if tracking { local.allItems = true }
            return valid
        case .contains(let schema, let minimum, let maximum):
            var count = 0
            quietly { e in
                for (i, item) in items.enumerated() {
                    var ignored = EvaluatedParts()
                    if e.evaluate(schema, item, track: false, into: &ignored) {
                        count += 1
                        if tracking { local.addItem(i) }
                    }
                }
            }
            if count < minimum {
                report(node, minimum == 1 ? "contains" : "minContains",
                       minimum == 1 ? "no item matched" : "\(minimum) (\(count) matched)")
                return false
            }
            if let maximum, count > maximum {
                report(node, "maxContains", "\(maximum) (\(count) matched)")
                return false
            }
            return true
        case .minItems(let count):
            if items.count >= count { return true }
            report(node, "minItems", "\(count)")
            return false
        case .maxItems(let count):
            if items.count <= count { return true }
            report(node, "maxItems", "\(count)")
            return false
        case .uniqueItems:
            if let (first, second) = ValueEquality.firstDuplicate(items) {
                report(node, "uniqueItems", "items \(first) and \(second) are equal")
                return false
            }
            return true
        default:
            return true
        }
    }

    private mutating func applyString(_ keyword: SchemaKeyword, _ node: SchemaNode, _ text: String) -> Bool {
        switch keyword {
        case .minLength(let length):
            // Code points never outnumber UTF-8 bytes: count only when needed.
            if text.utf8.count < length || text.unicodeScalars.count < length {
                report(node, "minLength", "\(length)")
                return false
            }
            return true
        case .maxLength(let length):
            if text.utf8.count > length, text.unicodeScalars.count > length {
                report(node, "maxLength", "\(length)")
                return false
            }
            return true
        case .pattern(let regex):
            if regex.matches(text) { return true }
            report(node, "pattern", Value.string(regex.pattern).jsonText)
            return false
        case .format(let format):
            if format.accepts(text) { return true }
            report(node, "format", "\(format.rawValue)")
            return false
        default:
            return true
        }
    }

    private mutating func applyNumber(_ keyword: SchemaKeyword, _ node: SchemaNode, _ value: Value) -> Bool {
        let name: String, bound: SchemaNumber, valid: Bool
        switch keyword {
        case .minimum(let b): (name, bound, valid) = ("minimum", b, (NumberCompare.compare(value, b) ?? 0) >= 0)
        case .maximum(let b): (name, bound, valid) = ("maximum", b, (NumberCompare.compare(value, b) ?? 0) <= 0)
        case .exclusiveMinimum(let b): (name, bound, valid) = ("exclusiveMinimum", b, (NumberCompare.compare(value, b) ?? 1) > 0)
        case .exclusiveMaximum(let b): (name, bound, valid) = ("exclusiveMaximum", b, (NumberCompare.compare(value, b) ?? -1) < 0)
        case .multipleOf(let b): (name, bound, valid) = ("multipleOf", b, NumberCompare.isMultiple(value, of: b) ?? true)
        default: return true
        }
        if !valid { report(node, name, bound.description) }
        return valid
    }

    /// `unevaluatedProperties` and `unevaluatedItems`, over what the
    /// schema's other keywords (and in-place subschemas) left.
    mutating func unevaluated(_ node: SchemaNode, _ instance: Value, _ local: inout EvaluatedParts) -> Bool {
        var valid = true
        if let schema = node.unevaluatedProperties, case .object(let object) = instance, !local.allProperties {
            for (key, value) in object where !local.evaluated(property: key) {
                if !child(schema, value, .key(key), parent: node, keyword: "unevaluatedProperties") {
                    valid = false
                    if !collecting { return false }
                }
            }
            local.allProperties = true
        }
        if let schema = node.unevaluatedItems, case .array(let items) = instance, !local.allItems {
            var i = local.itemPrefix
            while i < items.count {
                if !local.evaluated(item: i), !child(schema, items[i], .index(i), parent: node, keyword: "unevaluatedItems") {
                    valid = false
                    if !collecting { return false }
                }
                i += 1
            }
            local.allItems = true
        }
        return valid
    }
}
