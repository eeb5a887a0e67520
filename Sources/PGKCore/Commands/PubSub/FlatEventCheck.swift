#if canImport(Glibc)
import Glibc
#endif

/// A shortcut for the schemas events usually have: one flat object of
/// scalar (and scalar-array) properties with types, bounds, lengths and
/// string enums. It checks the event's bytes directly with the lexer, with
/// no `Value` built, which is most of the cost of validating.
///
/// It only ever answers `valid` when the full validator would; anything it
/// does not model exactly (escaped strings, non-integral bounds, nested
/// objects, duplicate keys) is `unknown`, and `invalid` too goes back to
/// the full validator, which has the final word and writes the message.
struct FlatEventCheck: Sendable {
    enum Outcome { case valid, invalid, unknown }

    private struct Types: OptionSet, Sendable {
        let rawValue: UInt8
        static let string = Types(rawValue: 1)
        static let integer = Types(rawValue: 2)
        static let number = Types(rawValue: 4)  // includes integers
        static let boolean = Types(rawValue: 8)
        static let null = Types(rawValue: 16)
        static let array = Types(rawValue: 32)
        static let all: Types = [.string, .number, .boolean, .null, .array]
    }

    private struct Property: Sendable {
        var name: [UInt8]
        var types: Types = .all
        var minimum: Int64?
        var maximum: Int64?
        var exclusiveMinimum: Int64?
        var exclusiveMaximum: Int64?
        var minLength: Int?
        var maxLength: Int?
        var strings: [[UInt8]]?
        var itemTypes: Types?
        var minItems: Int?
        var maxItems: Int?
        /// `const`: an integer, a string without escapes, a boolean or null.
        var constant: Value?
    }

    private let properties: [Property]
    private let required: UInt64
    private let additionalAllowed: Bool

    private static let annotations: Set<String> = ["title", "description", "default", "examples", "$comment",
                                                   "deprecated", "readOnly", "writeOnly"]

    /// The shortcut for `schema`, or nil when it does not have this shape.
    init?(schema: Value) {
        guard case .object(let root) = schema else { return nil }
        if let uri = root["$schema"] {
            guard case .string(let text) = uri, SchemaDialect.builtIn(text) != nil else { return nil }
        }
        var properties: [Property] = []
        var required: [String] = []
        var additionalAllowed = true
        for (keyword, value) in root {
            switch keyword {
            case "$schema", "$id": continue
            case "type": guard value == .string("object") else { return nil }
            case "properties":
                guard case .object(let map) = value else { return nil }
                for (name, subschema) in map {
                    guard let property = Self.property(name, subschema) else { return nil }
                    properties.append(property)
                }
            case "required":
                guard case .array(let names) = value else { return nil }
                for name in names {
                    guard case .string(let text) = name else { return nil }
                    required.append(text)
                }
            case "additionalProperties":
                guard case .bool(let allowed) = value else { return nil }
                additionalAllowed = allowed
            default:
                guard Self.annotations.contains(keyword) else { return nil }
            }
        }
        // The root must say it is an object: the shortcut does not model others.
        guard root["type"] == .string("object"), properties.count <= 64,
              Set(properties.map(\.name)).count == properties.count else { return nil }
        var bits: UInt64 = 0
        for name in required {
            guard let index = properties.firstIndex(where: { $0.name == Array(name.utf8) }) else { return nil }
            bits |= 1 << UInt64(index)
        }
        self.properties = properties
        self.required = bits
        self.additionalAllowed = additionalAllowed
    }

    private static func types(_ value: Value) -> Types? {
        func one(_ name: Value) -> Types? {
            switch name {
            case .string("string"): return .string
            case .string("integer"): return .integer
            case .string("number"): return .number
            case .string("boolean"): return .boolean
            case .string("null"): return .null
            case .string("array"): return .array
            default: return nil
            }
        }
        if case .array(let names) = value {
            var all: Types = []
            for name in names {
                guard let type = one(name) else { return nil }
                all.insert(type)
            }
            return all
        }
        return one(value)
    }

    /// An integer bound; fractional or huge bounds are not modelled.
    private static func bound(_ value: Value) -> Int64?? {
        if case .int(let number) = value { return .some(number) }
        return nil
    }

    private static func count(_ value: Value) -> Int? {
        if case .int(let number) = value, number >= 0 { return Int(number) }
        return nil
    }

    private static func property(_ name: String, _ schema: Value) -> Property? {
        guard case .object(let object) = schema else { return nil }
        var property = Property(name: Array(name.utf8))
        for (keyword, value) in object {
            switch keyword {
            case "type": guard let types = types(value) else { return nil }; property.types = types
            case "minimum": guard let bound = bound(value) else { return nil }; property.minimum = bound
            case "maximum": guard let bound = bound(value) else { return nil }; property.maximum = bound
            case "exclusiveMinimum": guard let bound = bound(value) else { return nil }; property.exclusiveMinimum = bound
            case "exclusiveMaximum": guard let bound = bound(value) else { return nil }; property.exclusiveMaximum = bound
            case "minLength": guard let count = count(value) else { return nil }; property.minLength = count
            case "maxLength": guard let count = count(value) else { return nil }; property.maxLength = count
            case "minItems": guard let count = count(value) else { return nil }; property.minItems = count
            case "maxItems": guard let count = count(value) else { return nil }; property.maxItems = count
            case "enum":
                guard case .array(let options) = value else { return nil }
                var strings: [[UInt8]] = []
                for option in options {
                    guard case .string(let text) = option else { return nil }
                    strings.append(Array(text.utf8))
                }
                property.strings = strings
            case "items":
                guard case .object(let items) = value, items.count == 1, let type = items["type"],
                      let itemTypes = types(type), !itemTypes.contains(.array) else { return nil }
                property.itemTypes = itemTypes
            case "const":
                switch value {
                case .int, .bool, .null: property.constant = value
                case .string(let text) where !text.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 < 0x20 }):
                    property.constant = value
                default: return nil
                }
            case "format":
                continue  // an annotation unless the store asserts formats, which publish does not ask for
            default:
                guard annotations.contains(keyword) else { return nil }
            }
        }
        // A string enum with other types allowed, or a bound on a type that
        // also allows non-numbers, still works: each keyword only
        // constrains its own instance type, as below.
        return property
    }

    // MARK: - Checking

    private struct Discard: JSONStringContent {
        mutating func appendRaw(_ run: UnsafeBufferPointer<UInt8>) {}
        mutating func appendEscaped(_ scalar: UInt32, at offset: Int) throws(CodecError) {}
    }

    func check(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        let typed = bytes.assumingMemoryBound(to: UInt8.self)
        var lexer = JSONLexer(typed)
        do {
            return try check(&lexer)
        } catch {
            return .invalid
        }
    }

    private func check(_ lexer: inout JSONLexer) throws(CodecError) -> Outcome {
        _ = try lexer.beginDocument()
        guard case .objectStart = try lexer.nextValueToken() else { return .invalid }
        var seen: UInt64 = 0
        var outcome = Outcome.valid
        if try !lexer.openContainer(object: true) {
            repeat {
                try lexer.expectMemberName()
                var discard = Discard()
                let key = try lexer.lexString(into: &discard)
                if key.hasEscapes { return .unknown }
                try lexer.expectNameSeparator()
                guard let index = find(key.content, lexer.bytes) else {
                    if !additionalAllowed { return .invalid }
                    try skipValue(&lexer)
                    continue
                }
                let bit: UInt64 = 1 << UInt64(index)
                if seen & bit != 0 { return .unknown }
                seen |= bit
                switch try value(properties[index], &lexer) {
                case .valid: break
                case .invalid: outcome = .invalid
                case .unknown: return .unknown
                }
            } while try !lexer.closeOrContinue(object: true)
        }
        try lexer.endDocument()
        if seen & required != required { return .invalid }
        return outcome
    }

    private func find(_ key: Range<Int>, _ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        for (index, property) in properties.enumerated() where property.name.count == key.count {
            if property.name.withUnsafeBufferPointer({ memcmp($0.baseAddress!, base + key.lowerBound, key.count) }) == 0 {
                return index
            }
        }
        return nil
    }

    private func value(_ property: Property, _ lexer: inout JSONLexer) throws(CodecError) -> Outcome {
        if let constant = property.constant { return try self.constant(constant, property, &lexer) }
        switch try lexer.nextValueToken() {
        case .string:
            var discard = Discard()
            let token = try lexer.lexString(into: &discard)
            guard property.types.contains(.string) else { return .invalid }
            if token.hasEscapes && (property.minLength != nil || property.maxLength != nil || property.strings != nil) {
                return .unknown
            }
            if property.minLength != nil || property.maxLength != nil {
                // Code points: every byte that does not continue a sequence.
                var length = 0
                for index in token.content where lexer.bytes[index] & 0xC0 != 0x80 { length += 1 }
                if let minimum = property.minLength, length < minimum { return .invalid }
                if let maximum = property.maxLength, length > maximum { return .invalid }
            }
            if let strings = property.strings {
                let content = UnsafeBufferPointer(rebasing: lexer.bytes[token.content])
                guard strings.contains(where: { $0.elementsEqual(content) }) else { return .invalid }
            }
            return .valid
        case .number:
            let number = try lexer.lexNumber()
            if property.strings != nil { return .invalid }
            guard property.types.contains(.number) || property.types.contains(.integer) else { return .invalid }
            let bounded = property.minimum != nil || property.maximum != nil
                || property.exclusiveMinimum != nil || property.exclusiveMaximum != nil
            // 1.0 is an integer to JSON Schema; the full validator decides those.
            if !number.isIntegral { return property.types.contains(.number) && !bounded ? .valid : .unknown }
            guard bounded else { return .valid }
            guard number.integerDigits.count <= 18 else { return .unknown }
            var magnitude: Int64 = 0
            for index in number.integerDigits { magnitude = magnitude * 10 + Int64(lexer.bytes[index] &- 48) }
            let integer = number.isNegative ? -magnitude : magnitude
            if let bound = property.minimum, integer < bound { return .invalid }
            if let bound = property.maximum, integer > bound { return .invalid }
            if let bound = property.exclusiveMinimum, integer <= bound { return .invalid }
            if let bound = property.exclusiveMaximum, integer >= bound { return .invalid }
            return .valid
        case .true, .false:
            if property.strings != nil { return .invalid }
            return property.types.contains(.boolean) ? .valid : .invalid
        case .null:
            if property.strings != nil { return .invalid }
            return property.types.contains(.null) ? .valid : .invalid
        case .arrayStart:
            if property.strings != nil { return .invalid }
            guard property.types.contains(.array) else { return .invalid }
            var count = 0
            var outcome = Outcome.valid
            if try !lexer.openContainer(object: false) {
                repeat {
                    count += 1
                    guard let itemTypes = property.itemTypes else {
                        try skipValue(&lexer)
                        continue
                    }
                    switch try lexer.nextValueToken() {
                    case .string:
                        var discard = Discard()
                        _ = try lexer.lexString(into: &discard)
                        if !itemTypes.contains(.string) { outcome = .invalid }
                    case .number:
                        let number = try lexer.lexNumber()
                        if !itemTypes.contains(.number) {
                            guard itemTypes.contains(.integer) else { outcome = .invalid; continue }
                            if !number.isIntegral { return .unknown }
                        }
                    case .true, .false: if !itemTypes.contains(.boolean) { outcome = .invalid }
                    case .null: if !itemTypes.contains(.null) { outcome = .invalid }
                    case .objectStart, .arrayStart, .nonFinite: return .unknown
                    }
                } while try !lexer.closeOrContinue(object: false)
            }
            if let minimum = property.minItems, count < minimum { return .invalid }
            if let maximum = property.maxItems, count > maximum { return .invalid }
            return outcome
        case .objectStart, .nonFinite:
            return .unknown
        }
    }

    /// A property with `const` (and perhaps a type): the value must equal it.
    private func constant(_ constant: Value, _ property: Property, _ lexer: inout JSONLexer) throws(CodecError) -> Outcome {
        let start = lexer.index
        try skipValue(&lexer)
        let text = UnsafeBufferPointer(rebasing: lexer.bytes[start..<lexer.index])
        switch constant {
        case .int(let number):
            // Only the plain spelling is decided here; 1.0 or 1e0 go to the full validator.
            if text.elementsEqual(String(number).utf8) {
                return property.types.contains(.number) || property.types.contains(.integer) ? matched(property) : .invalid
            }
            return text.first == UInt8(ascii: "-") || JSONLexer.isDigit(text.first ?? 0) ? .unknown : .invalid
        case .string(let expected):
            guard text.first == UInt8(ascii: "\"") else { return .invalid }
            if text.contains(0x5C) { return .unknown }
            let content = UnsafeBufferPointer(rebasing: text[(text.startIndex + 1)..<(text.endIndex - 1)])
            guard content.elementsEqual(expected.utf8) else { return .invalid }
            return property.types.contains(.string) ? matched(property) : .invalid
        case .bool(let expected):
            guard text.elementsEqual((expected ? "true" : "false").utf8) else { return .invalid }
            return property.types.contains(.boolean) ? matched(property) : .invalid
        default:
            guard text.elementsEqual("null".utf8) else { return .invalid }
            return property.types.contains(.null) ? matched(property) : .invalid
        }
    }

    /// A value equal to `const`: valid unless other keywords also apply,
    /// which this shortcut leaves to the full validator.
    private func matched(_ property: Property) -> Outcome {
        let others = property.minimum != nil || property.maximum != nil || property.exclusiveMinimum != nil
            || property.exclusiveMaximum != nil || property.minLength != nil || property.maxLength != nil
            || property.strings != nil || property.itemTypes != nil || property.minItems != nil || property.maxItems != nil
        return others ? .unknown : .valid
    }

    /// Lexes (and so checks) one value of any shape.
    private func skipValue(_ lexer: inout JSONLexer) throws(CodecError) {
        switch try lexer.nextValueToken() {
        case .string:
            var discard = Discard()
            _ = try lexer.lexString(into: &discard)
        case .number: _ = try lexer.lexNumber()
        case .true, .false, .null: break
        case .nonFinite: throw lexer.fail("NaN and Infinity are not valid JSON")
        case .objectStart:
            if try lexer.openContainer(object: true) { return }
            repeat {
                try lexer.expectMemberName()
                var discard = Discard()
                _ = try lexer.lexString(into: &discard)
                try lexer.expectNameSeparator()
                try skipValue(&lexer)
            } while try !lexer.closeOrContinue(object: true)
        case .arrayStart:
            if try lexer.openContainer(object: false) { return }
            repeat { try skipValue(&lexer) } while try !lexer.closeOrContinue(object: false)
        }
    }
}
