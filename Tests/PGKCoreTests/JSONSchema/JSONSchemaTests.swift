import Testing
@testable import PGKCore

@Suite struct JSONSchemaTests {
    private func compile(_ text: String, options: JSONSchemaStore.Options = .init(),
                         loader: @escaping (String) -> Value? = { _ in nil }) throws -> CompiledSchema {
        try JSONSchemaStore(options: options, loader: loader).compile(JSON.decode(text))
    }

    private func errors(_ schema: CompiledSchema, _ instance: String) throws -> [String] {
        schema.validate(try JSON.decode(instance)).map(\.description)
    }

    // MARK: - Pointers and URIs

    @Test func pointerEscapingAndResolution() throws {
        #expect(JSONPointer.escape("a/b~c") == "a~1b~0c")
        #expect(JSONPointer.tokens("/a~1b/~0/0") == ["a/b", "~", "0"])
        #expect(JSONPointer.tokens("") == [])
        #expect(JSONPointer.tokens("a") == nil)
        #expect(JSONPointer.tokens("/a~2") == nil)
        let document = try JSON.decode(#"{"a/b":{"~":[10,20]},"":1}"#)
        #expect(JSONPointer.resolve("/a~1b/~0/1", in: document) == .int(20))
        #expect(JSONPointer.resolve("/", in: document) == .int(1))
        #expect(JSONPointer.resolve("/a~1b/~0/01", in: document) == nil)
        #expect(JSONPointer.resolve("/a~1b/~0/2", in: document) == nil)
        #expect(InstancePathStep.render([.key("items"), .index(3), .key("a/b")]) == "/items/3/a~1b")
    }

    @Test(arguments: [
        ("g", "http://a/b/c/g"), ("./g", "http://a/b/c/g"), ("g/", "http://a/b/c/g/"),
        ("/g", "http://a/g"), ("//g", "http://g"), ("?y", "http://a/b/c/d;p?y"),
        ("g?y", "http://a/b/c/g?y"), ("#s", "http://a/b/c/d;p?q#s"), ("g#s", "http://a/b/c/g#s"),
        ("", "http://a/b/c/d;p?q"), (".", "http://a/b/c/"), ("..", "http://a/b/"),
        ("../g", "http://a/b/g"), ("../../../g", "http://a/g"), ("/./g", "http://a/g"),
        ("g;x=1/../y", "http://a/b/c/y"), ("urn:other", "urn:other"),
    ])
    func resolvesReferencesPerRFC3986(reference: String, expected: String) {
        #expect(SchemaURI("http://a/b/c/d;p?q").resolving(reference).description == expected)
    }

    @Test func resolvesAgainstURNsAndDecodesFragments() {
        #expect(SchemaURI("urn:uuid:deadbeef").resolving("#/$defs/a").description == "urn:uuid:deadbeef#/$defs/a")
        #expect(SchemaURI.percentDecode("/$defs/a%25b%22") == "/$defs/a%b\"")
        #expect(SchemaURI("HTTP://x/y#").withoutFragment.description == "http://x/y")
    }

    @Test func refFragmentsUsePercentDecodingThenPointerEscapes() throws {
        let schema = try compile(#"""
            {"$defs": {"a%b": {"type": "integer"}, "c/d": {"type": "string"}},
             "properties": {"x": {"$ref": "#/$defs/a%25b"}, "y": {"$ref": "#/$defs/c~1d"}}}
            """#)
        #expect(schema.isValid(try JSON.decode(#"{"x": 1, "y": "s"}"#)))
        #expect(!schema.isValid(try JSON.decode(#"{"x": "1"}"#)))
        #expect(!schema.isValid(try JSON.decode(#"{"y": 2}"#)))
    }

    // MARK: - Errors

    @Test func errorMessageFormat() throws {
        let schema = try compile(#"""
            {"type": "object", "required": ["id"],
             "properties": {"id": true, "items": {"type": "array", "items": {"properties": {"price": {"minimum": 0}}}}},
             "additionalProperties": false}
            """#)
        let found = try errors(schema, #"{"items": [{"price": 1}, {}, {"price": 0}, {"price": -1}], "extra": 1}"#)
        #expect(found == [
            #"/: 'required' missing "id" at #"#,
            "/items/3/price: 'minimum' 0 at #/properties/items/items/properties/price",
            "/extra: 'additionalProperties' false at #",
        ])
        let first = try #require(schema.firstViolation(try JSON.decode(#"{"id": 1, "items": [{"price": -2}]}"#)))
        #expect(first.instanceLocation == "/items/0/price")
        #expect(first.keyword == "minimum")
        #expect(first.schemaLocation == "#/properties/items/items/properties/price")
        #expect(first.message == "0")
        #expect(try errors(try compile(#"{"type": ["string", "null"]}"#), "3") == ["/: 'type' [null, string] at #"])
    }

    @Test func decidingSubschemasAreSummarised() throws {
        let schema = try compile(#"{"anyOf": [{"type": "string"}, {"minimum": 5}], "not": {"const": 1}}"#)
        #expect(try errors(schema, "1") == ["/: 'anyOf' no subschema matched at #", "/: 'not' subschema matched at #"])
        #expect(try errors(try compile(#"{"oneOf": [{"minimum": 1}, {"maximum": 9}]}"#), "5")
                == ["/: 'oneOf' subschemas 0, 1 matched, not one at #"])
    }

    @Test func errorsInReferencedDocumentsNameTheirURI() throws {
        let common = try JSON.decode(#"{"$defs": {"money": {"type": "number", "minimum": 0}}}"#)
        let store = JSONSchemaStore { uri in uri == "file:///schemas/common.json" ? common : nil }
        try store.register(try JSON.decode(#"{"properties": {"total": {"$ref": "common.json#/$defs/money"}}}"#),
                           uri: "file:///schemas/order.json")
        let schema = try store.compile(uri: "file:///schemas/order.json")
        #expect(schema.isValid(try JSON.decode(#"{"total": 3.5}"#)))
        #expect(schema.validate(try JSON.decode(#"{"total": -1}"#)).map(\.description)
                == ["/total: 'minimum' 0 at file:///schemas/common.json#/$defs/money"])
    }

    @Test func invalidSchemasThrowNamingTheLocation() throws {
        func failure(_ text: String) throws -> String {
            do {
                _ = try JSONSchemaStore().compile(JSON.decode(text))
                return "compiled"
            } catch { return "\(error)" }
        }
        #expect(try failure(#"{"properties": {"a": {"minimum": "5"}}}"#)
                == "invalid schema at urn:pgk:schema:1#/properties/a/minimum: 'minimum' must be a number")
        #expect(try failure(##"{"items": {"$ref": "#/$defs/missing"}}"##)
                == "invalid schema at urn:pgk:schema:1#/items/$ref: cannot resolve '#/$defs/missing': nothing at urn:pgk:schema:1#/$defs/missing")
        #expect(try failure(#"{"$ref": "other.json"}"#).contains("no schema at"))
        #expect(try failure(#"{"type": "integr"}"#).contains("#/type: 'type' must name JSON types"))
        #expect(try failure(#"{"items": [{}]}"#).contains("use 'prefixItems'"))
        #expect(try failure(#"{"allOf": []}"#).contains("non-empty array"))
        #expect(try failure(#"{"$schema": "http://example.com/unknown"}"#).contains("unknown $schema"))
    }

    @Test func unknownRequiredVocabularyIsRefused() throws {
        let meta = try JSON.decode(#"""
            {"$id": "http://example.com/meta", "$vocabulary": {
              "https://json-schema.org/draft/2020-12/vocab/core": true, "http://example.com/vocab/x": true}}
            """#)
        let store = JSONSchemaStore { $0 == "http://example.com/meta" ? meta : nil }
        #expect(throws: SchemaError.self) { try store.compile(JSON.decode(#"{"$schema": "http://example.com/meta"}"#)) }
    }

    // MARK: - Semantics

    @Test func numbersCompareMathematically() throws {
        #expect(try compile(#"{"const": 1}"#).isValid(.double(1.0)))
        #expect(try compile(#"{"enum": [[1.0, {"a": 2}]]}"#).isValid(try JSON.decode(#"[1, {"a": 2.0}]"#)))
        #expect(!(try compile(#"{"uniqueItems": true}"#).isValid(try JSON.decode("[1, 1.0]"))))
        let big = try compile(#"{"type": "integer", "minimum": 9223372036854775808}"#)
        #expect(big.isValid(.decimal("18446744073709551616")))
        #expect(!big.isValid(.int(Int64.max)))
        let money = try compile(#"{"multipleOf": 0.01}"#)
        #expect(money.isValid(try JSON.decode("19.99", options: .init(preserveNumberText: true))))
        #expect(money.isValid(.double(19.99)))
        #expect(!money.isValid(.double(19.999)))
        #expect(try compile(#"{"type": "integer"}"#).isValid(.decimal("1.0")))
        #expect(try compile(#"{"exclusiveMaximum": 1}"#).isValid(.double(0.9999999999)))
        #expect(!(try compile(#"{"maximum": 9007199254740992}"#).isValid(.int(9_007_199_254_740_993))))
    }

    @Test func stringLengthsCountCodePoints() throws {
        let schema = try compile(#"{"minLength": 2, "maxLength": 2}"#)
        #expect(schema.isValid("😀é"))
        #expect(!schema.isValid("😀"))
        #expect(!(try compile(#"{"const": "\u00e9"}"#).isValid("e\u{301}")))
    }

    @Test func draft07Semantics() throws {
        let draft7 = #""$schema": "http://json-schema.org/draft-07/schema#""#
        // $ref makes siblings inert.
        let ref = try compile(##"{\##(draft7), "definitions": {"s": {"type": "string"}}, "$ref": "#/definitions/s", "maxLength": 1}"##)
        #expect(ref.isValid("long string"))
        #expect(!ref.isValid(1))
        // Array form of items, with additionalItems.
        let tuple = try compile(#"{\#(draft7), "items": [{"type": "integer"}, {"type": "string"}], "additionalItems": false}"#)
        #expect(tuple.isValid(try JSON.decode(#"[1, "a"]"#)))
        #expect(try errors(tuple, #"[1, "a", true]"#) == ["/2: 'additionalItems' false at #"])
        #expect(try compile(#"{\#(draft7), "items": {"type": "integer"}, "additionalItems": false}"#)
            .isValid(try JSON.decode("[1, 2, 3]")))
        // dependencies: both forms.
        let dependencies = try compile(#"{\#(draft7), "dependencies": {"a": ["b"], "c": {"required": ["d"]}}}"#)
        #expect(dependencies.isValid(try JSON.decode(#"{"a": 1, "b": 2, "c": 3, "d": 4}"#)))
        #expect(!dependencies.isValid(try JSON.decode(#"{"a": 1}"#)))
        #expect(!dependencies.isValid(try JSON.decode(#"{"c": 1}"#)))
        // 2020-12 keywords mean nothing, and `$id: "#name"` is an anchor.
        let ignored = try compile(#"{\#(draft7), "unevaluatedProperties": false, "prefixItems": [false], "dependentRequired": {"a": ["b"]}}"#)
        #expect(ignored.isValid(try JSON.decode(#"{"a": [1]}"#)))
        #expect(ignored.isValid(try JSON.decode("[1]")))
        let anchor = try compile(##"{\##(draft7), "definitions": {"x": {"$id": "#num", "type": "number"}}, "properties": {"n": {"$ref": "#num"}}}"##)
        #expect(!anchor.isValid(try JSON.decode(#"{"n": "1"}"#)))
        // The same schema under 2020-12: $ref siblings apply.
        let modern = try compile(##"{"$defs": {"s": {"type": "string"}}, "$ref": "#/$defs/s", "maxLength": 1}"##)
        #expect(!modern.isValid("long string"))
    }

    @Test func unevaluatedPropertiesSeeThroughApplicators() throws {
        let schema = try compile(#"""
            {"allOf": [{"properties": {"a": true}}], "anyOf": [{"properties": {"b": true}}, {"required": ["c"]}],
             "if": {"properties": {"kind": {"const": "x"}}}, "then": {"properties": {"x": true}},
             "unevaluatedProperties": false}
            """#)
        #expect(schema.isValid(try JSON.decode(#"{"a": 1, "b": 2}"#)))
        #expect(schema.isValid(try JSON.decode(#"{"kind": "x", "x": 1, "b": 1}"#)))
        #expect(try errors(schema, #"{"b": 1, "z": 1}"#) == ["/z: 'unevaluatedProperties' false at #"])
    }

    @Test func formatsAreAnnotationsUnlessAsked() throws {
        let text = #"{"properties": {"at": {"format": "date-time"}, "id": {"format": "uuid"}, "ip": {"format": "ipv6"}, "mail": {"format": "email"}, "day": {"format": "date"}, "v4": {"format": "ipv4"}}}"#
        let bad = try JSON.decode(#"{"at": "2024-02-30T10:00:00Z", "id": "nope", "ip": "1:::2", "mail": "a@", "day": "2023-02-29", "v4": "256.1.1.1"}"#)
        #expect(try compile(text).isValid(bad))
        let asserting = try compile(text, options: .init(assertFormats: true))
        #expect(asserting.validate(bad).count == 6)
        let good = try JSON.decode(#"""
            {"at": "2024-02-29T23:59:60-00:00", "id": "123e4567-e89b-12d3-a456-426614174000", "ip": "::ffff:192.168.0.1",
             "mail": "first.last@example.com", "day": "2024-02-29", "v4": "192.168.0.1"}
            """#)
        #expect(asserting.validate(good).map(\.description) == [])
    }

    @Test func recursiveSchemasAndDynamicRefs() throws {
        let tree = try compile(#"""
            {"$id": "https://example.com/tree", "$dynamicAnchor": "node", "type": "object",
             "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$dynamicRef": "#node"}}}}
            """#)
        #expect(tree.isValid(try JSON.decode(#"{"value": 1, "children": [{"value": 2, "children": []}]}"#)))
        #expect(try errors(tree, #"{"children": [{"children": [{"value": "x"}]}]}"#)
                == ["/children/0/children/0/value: 'type' integer at #/properties/value"])
        let loop = try compile(##"{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}"##)
        #expect(!loop.isValid(1))
    }
}
