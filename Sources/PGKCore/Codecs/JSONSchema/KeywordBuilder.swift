/// Collects one schema object's compiled keywords, and checks the values of
/// the validation vocabulary's keywords (type, bounds, lengths…).
struct KeywordBuilder {
    let object: ValueObject
    let location: SchemaLocation
    let rendered: String
    let documentURI: String
    let position: SchemaPosition
    var anyType: [SchemaKeyword] = []
    var objectKeywords: [SchemaKeyword] = []
    var arrayKeywords: [SchemaKeyword] = []
    var stringKeywords: [SchemaKeyword] = []
    var numberKeywords: [SchemaKeyword] = []
    var unevaluatedProperties: Int?
    var unevaluatedItems: Int?

    init(object: ValueObject, location: SchemaLocation, rendered: String, documentURI: String, position: SchemaPosition) {
        self.object = object
        self.documentURI = documentURI
        self.location = location
        self.rendered = rendered
        self.position = position
    }

    func node(resource: Int) -> SchemaNode {
        SchemaNode(location: rendered, resource: resource, constant: nil, anyType: anyType,
                   objectKeywords: objectKeywords, arrayKeywords: arrayKeywords,
                   stringKeywords: stringKeywords, numberKeywords: numberKeywords,
                   unevaluatedProperties: unevaluatedProperties, unevaluatedItems: unevaluatedItems)
    }

    /// `<document URI>#<pointer>/<keyword>`, for compile errors.
    func absolute(_ keyword: String) -> String {
        documentURI + "#" + JSONPointer.appending(location.pointer, keyword)
    }

    func error(_ keyword: String, _ reason: String) -> SchemaError {
        SchemaError(location: absolute(keyword), reason: "'\(keyword)' \(reason)")
    }

    mutating func compileValidation(draft: SchemaDialect.Draft) throws(SchemaError) {
        if let value = object["type"] { anyType.insert(.type(try types(value)), at: 0) }
        if let value = object["const"] { anyType.append(.constant(value)) }
        if let value = object["enum"] {
            guard case .array(let options) = value else { throw error("enum", "must be an array") }
            anyType.append(.enumeration(options))
        }
        if let value = object["multipleOf"] {
            let number = try self.number(value, "multipleOf")
            guard number.isPositive else { throw error("multipleOf", "must be greater than 0") }
            numberKeywords.append(.multipleOf(number))
        }
        if let value = object["minimum"] { numberKeywords.append(.minimum(try number(value, "minimum"))) }
        if let value = object["maximum"] { numberKeywords.append(.maximum(try number(value, "maximum"))) }
        if let value = object["exclusiveMinimum"] {
            numberKeywords.append(.exclusiveMinimum(try number(value, "exclusiveMinimum")))
        }
        if let value = object["exclusiveMaximum"] {
            numberKeywords.append(.exclusiveMaximum(try number(value, "exclusiveMaximum")))
        }
        if let value = object["minLength"] { stringKeywords.append(.minLength(try nonNegativeInteger(value, "minLength"))) }
        if let value = object["maxLength"] { stringKeywords.append(.maxLength(try nonNegativeInteger(value, "maxLength"))) }
        if let value = object["pattern"] {
            guard case .string(let pattern) = value else { throw error("pattern", "must be a string") }
            guard let regex = SchemaRegex(pattern) else { throw error("pattern", "invalid regular expression '\(pattern)'") }
            stringKeywords.append(.pattern(regex))
        }
        if let value = object["minItems"] { arrayKeywords.append(.minItems(try nonNegativeInteger(value, "minItems"))) }
        if let value = object["maxItems"] { arrayKeywords.append(.maxItems(try nonNegativeInteger(value, "maxItems"))) }
        if let value = object["uniqueItems"] {
            guard case .bool(let unique) = value else { throw error("uniqueItems", "must be a boolean") }
            if unique { arrayKeywords.append(.uniqueItems) }
        }
        if let value = object["minProperties"] {
            objectKeywords.append(.minProperties(try nonNegativeInteger(value, "minProperties")))
        }
        if let value = object["maxProperties"] {
            objectKeywords.append(.maxProperties(try nonNegativeInteger(value, "maxProperties")))
        }
        if let value = object["required"] {
            let names = try stringArray(value, "required")
            if !names.isEmpty { objectKeywords.insert(.required(names), at: 0) }
        }
        if draft == .draft2020_12, let value = object["dependentRequired"] {
            guard case .object(let map) = value else { throw error("dependentRequired", "must be an object") }
            var pairs: [(String, [String])] = []
            for (name, list) in map { pairs.append((name, try stringArray(list, "dependentRequired"))) }
            objectKeywords.append(.dependentRequired(pairs))
        }
    }

    func types(_ value: Value) throws(SchemaError) -> SchemaTypes {
        func one(_ name: Value) throws(SchemaError) -> SchemaTypes {
            guard case .string(let text) = name, let found = SchemaTypes.names.first(where: { $0.0 == text }) else {
                throw error("type", "must name JSON types (null, boolean, object, array, number, string, integer)")
            }
            return found.1
        }
        if case .array(let list) = value {
            var all: SchemaTypes = []
            for name in list { all.formUnion(try one(name)) }
            return all
        }
        return try one(value)
    }

    func number(_ value: Value, _ keyword: String) throws(SchemaError) -> SchemaNumber {
        guard let number = SchemaNumber(value) else { throw error(keyword, "must be a number") }
        return number
    }

    /// A count; values beyond Int's range (as `.decimal`) saturate.
    func nonNegativeInteger(_ value: Value, _ keyword: String) throws(SchemaError) -> Int {
        guard NumberCompare.isInteger(value), let exact = NumberCompare.exactValue(value), !exact.negative else {
            throw error(keyword, "must be a non-negative integer")
        }
        return value.int64Value.map { Int($0) } ?? Int.max
    }

    func stringArray(_ value: Value, _ keyword: String) throws(SchemaError) -> [String] {
        guard case .array(let list) = value else { throw error(keyword, "must be an array of strings") }
        var names: [String] = []
        for item in list {
            guard case .string(let name) = item else { throw error(keyword, "must be an array of strings") }
            names.append(name)
        }
        return names
    }
}
