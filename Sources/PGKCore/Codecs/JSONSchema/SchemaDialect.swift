/// Which specification a schema follows, and which of its vocabularies are
/// in force (a custom metaschema's `$vocabulary` can switch some off).
struct SchemaDialect: Equatable, Sendable {
    enum Draft: Sendable { case draft7, draft2020_12 }

    struct Vocabularies: OptionSet, Sendable {
        let rawValue: UInt8
        static let applicator = Vocabularies(rawValue: 1)
        static let unevaluated = Vocabularies(rawValue: 2)
        static let validation = Vocabularies(rawValue: 4)
        static let formatAssertion = Vocabularies(rawValue: 8)
        static let all: Vocabularies = [.applicator, .unevaluated, .validation]
    }

    var draft: Draft
    var vocabularies: Vocabularies

    static let draft2020_12 = SchemaDialect(draft: .draft2020_12, vocabularies: .all)
    static let draft7 = SchemaDialect(draft: .draft7, vocabularies: .all)

    static let uri2020_12 = "https://json-schema.org/draft/2020-12/schema"
    static let uriDraft7 = "http://json-schema.org/draft-07/schema"

    /// The dialect a well-known `$schema` value names, or nil when it is not
    /// one of the two built in (the metaschema must then be looked at).
    static func builtIn(_ schemaURI: String) -> SchemaDialect? {
        var uri = schemaURI
        if uri.hasSuffix("#") { uri.removeLast() }
        if uri.hasPrefix("https://json-schema.org/") || uri.hasPrefix("http://json-schema.org/") {
            let rest = uri.drop(while: { $0 != "/" }).dropFirst(2).drop(while: { $0 != "/" })
            switch rest {
            case "/draft/2020-12/schema": return .draft2020_12
            case "/draft-07/schema", "/draft-06/schema": return .draft7
            default: return nil
            }
        }
        return nil
    }

    /// The vocabularies a metaschema's `$vocabulary` object declares.
    /// Unknown vocabularies marked required make the dialect unusable.
    static func fromVocabulary(_ declared: ValueObject, metaschema: String) throws(SchemaError) -> SchemaDialect {
        var vocabularies: Vocabularies = []
        for (uri, required) in declared {
            guard case .bool(let isRequired) = required else {
                throw SchemaError(location: metaschema + "#/$vocabulary", reason: "vocabulary flags must be booleans")
            }
            switch uri {
            case "https://json-schema.org/draft/2020-12/vocab/core",
                 "https://json-schema.org/draft/2020-12/vocab/meta-data",
                 "https://json-schema.org/draft/2020-12/vocab/content",
                 "https://json-schema.org/draft/2020-12/vocab/format-annotation":
                break
            case "https://json-schema.org/draft/2020-12/vocab/applicator": vocabularies.insert(.applicator)
            case "https://json-schema.org/draft/2020-12/vocab/unevaluated": vocabularies.insert(.unevaluated)
            case "https://json-schema.org/draft/2020-12/vocab/validation": vocabularies.insert(.validation)
            case "https://json-schema.org/draft/2020-12/vocab/format-assertion": vocabularies.insert(.formatAssertion)
            default:
                if isRequired {
                    throw SchemaError(location: metaschema + "#/$vocabulary",
                                      reason: "required vocabulary \(uri) is not supported")
                }
            }
        }
        return SchemaDialect(draft: .draft2020_12, vocabularies: vocabularies)
    }

    /// Keywords whose value is one subschema.
    func singleSchemaKeywords() -> [String] {
        switch draft {
        case .draft7:
            return ["additionalItems", "additionalProperties", "contains", "propertyNames", "not", "if", "then", "else"]
        case .draft2020_12:
            return ["items", "additionalProperties", "contains", "propertyNames", "not", "if", "then", "else",
                    "unevaluatedItems", "unevaluatedProperties", "contentSchema"]
        }
    }

    /// Keywords whose value is an array of subschemas.
    func schemaArrayKeywords() -> [String] {
        switch draft {
        case .draft7: return ["allOf", "anyOf", "oneOf"]
        case .draft2020_12: return ["allOf", "anyOf", "oneOf", "prefixItems"]
        }
    }

    /// Keywords whose value is an object of subschemas.
    func schemaMapKeywords() -> [String] {
        switch draft {
        case .draft7: return ["properties", "patternProperties", "definitions", "dependencies"]
        case .draft2020_12: return ["properties", "patternProperties", "$defs", "dependentSchemas"]
        }
    }
}

/// A schema that cannot be compiled: a wrong keyword type, a `$ref` that
/// leads nowhere, an unsupported dialect. `location` is the absolute URI of
/// the offending schema with a JSON Pointer fragment.
struct SchemaError: Error, CustomStringConvertible, Equatable {
    var location: String
    var reason: String

    var description: String { "invalid schema at \(location): \(reason)" }
}
