import Testing
@testable import PGKCore

/// Draft-07 semantics where `$schema` asks for them. No official draft-07
/// suite is available here, so each case pins one difference from 2020-12.
@Suite struct Draft07Tests {
    static let draft7 = #""$schema": "http://json-schema.org/draft-07/schema#""#

    private func compile(_ text: String) throws -> CompiledSchema {
        try JSONSchemaStore().compile(JSON.decode(text))
    }

    private func errors(_ schema: CompiledSchema, _ instance: String) throws -> [String] {
        schema.validate(try JSON.decode(instance)).map(\.description)
    }

    /// What pydantic v1's `Model.schema()` produces: `definitions` and
    /// `$ref: "#/definitions/X"`, with titles and a draft-07 `$schema`.
    static let pydanticV1 = #"""
        {"title": "Order", "type": "object", "$schema": "http://json-schema.org/draft-07/schema#",
         "properties": {
           "id": {"title": "Id", "type": "integer"},
           "customer": {"$ref": "#/definitions/Customer"},
           "lines": {"title": "Lines", "type": "array", "items": {"$ref": "#/definitions/Line"}},
           "status": {"$ref": "#/definitions/Status"}},
         "required": ["id", "customer", "lines"],
         "definitions": {
           "Customer": {"title": "Customer", "type": "object",
                        "properties": {"name": {"title": "Name", "type": "string", "minLength": 1}}, "required": ["name"]},
           "Line": {"title": "Line", "type": "object",
                    "properties": {"sku": {"title": "Sku", "type": "string"},
                                   "price": {"title": "Price", "type": "number", "exclusiveMinimum": 0}},
                    "required": ["sku", "price"]},
           "Status": {"title": "Status", "description": "An enumeration.", "enum": ["new", "paid"], "type": "string"}}}
        """#

    @Test func pydanticV1SchemaWithDefinitions() throws {
        let schema = try compile(Self.pydanticV1)
        #expect(schema.isValid(try JSON.decode(#"{"id": 1, "customer": {"name": "ann"}, "lines": [{"sku": "A", "price": 2.5}], "status": "paid"}"#)))
        let found = try errors(schema, #"{"id": 1, "customer": {"name": ""}, "lines": [{"sku": "A", "price": 0}], "status": "lost"}"#)
        #expect(found.count == 3, "\(found)")
        #expect(found.contains { $0.hasPrefix("/customer/name: 'minLength'") && $0.hasSuffix("at #/definitions/Customer/properties/name") })
        #expect(found.contains { $0.hasPrefix("/lines/0/price: 'exclusiveMinimum'") && $0.hasSuffix("at #/definitions/Line/properties/price") })
        #expect(found.contains { $0.hasPrefix("/status: 'enum'") && $0.hasSuffix("at #/definitions/Status") })
        #expect(try errors(schema, #"{"id": 1, "lines": []}"#).first?.hasPrefix("/: 'required'") == true)
    }

    @Test(arguments: ["http://json-schema.org/draft-07/schema#", "http://json-schema.org/draft-07/schema",
                      "https://json-schema.org/draft-07/schema#", "https://json-schema.org/draft-07/schema"])
    func recognisesEverySpellingOfTheDraft07URI(uri: String) throws {
        // Only draft-07 ignores a $ref's siblings.
        let schema = try compile(##"{"$schema": "\##(uri)", "definitions": {"s": {"type": "string"}}, "$ref": "#/definitions/s", "maxLength": 1}"##)
        #expect(schema.isValid("more than one character"))
        #expect(!schema.isValid(1))
    }

    @Test func refIgnoresSiblingsIncludingID() throws {
        // The sibling $id would move the base URI in 2020-12; in draft-07 it
        // is inert, so "#/definitions/n" still means the root document's.
        let schema = try compile(#"""
            {\#(Self.draft7), "$id": "http://example.com/root.json",
             "definitions": {"n": {"type": "number"}},
             "properties": {"a": {"$id": "http://example.com/other.json", "$ref": "#/definitions/n", "minimum": 10}}}
            """#)
        #expect(schema.isValid(try JSON.decode(#"{"a": 5}"#)))
        #expect(!schema.isValid(try JSON.decode(#"{"a": "x"}"#)))
    }

    @Test func idChangesTheBaseAndPlainNameFragmentsAreAnchors() throws {
        let schema = try compile(#"""
            {\#(Self.draft7), "$id": "http://example.com/schemas/root.json",
             "definitions": {
               "item": {"$id": "item.json", "type": "object", "required": ["sku"]},
               "positive": {"$id": "#positive", "type": "integer", "minimum": 1}},
             "properties": {"items": {"type": "array", "items": {"$ref": "item.json"}},
                            "count": {"$ref": "#positive"},
                            "again": {"$ref": "http://example.com/schemas/root.json#positive"}}}
            """#)
        #expect(schema.isValid(try JSON.decode(#"{"items": [{"sku": "a"}], "count": 2, "again": 3}"#)))
        #expect(!schema.isValid(try JSON.decode(#"{"items": [{}]}"#)))
        #expect(!schema.isValid(try JSON.decode(#"{"count": 0}"#)))
        #expect(!schema.isValid(try JSON.decode(#"{"again": 0}"#)))
    }

    @Test func dependenciesAreDependentRequiredOrDependentSchemas() throws {
        let schema = try compile(#"{\#(Self.draft7), "dependencies": {"card": ["billing"], "vip": {"properties": {"level": {"minimum": 1}}, "required": ["level"]}}}"#)
        #expect(schema.isValid(try JSON.decode(#"{"card": 1, "billing": "x", "vip": true, "level": 2}"#)))
        let missing = try errors(schema, #"{"card": 1}"#)
        #expect(missing.count == 1 && missing[0].hasPrefix("/: '") && missing[0].contains("billing"), "\(missing)")
        #expect(!schema.isValid(try JSON.decode(#"{"vip": true}"#)))
        #expect(!schema.isValid(try JSON.decode(#"{"vip": true, "level": 0}"#)))
        #expect(schema.isValid(try JSON.decode(#"{"level": 0}"#)), "no vip: the dependent schema does not apply")
        // The 2020-12 spellings mean nothing here.
        let modern = try compile(#"{\#(Self.draft7), "dependentRequired": {"a": ["b"]}, "dependentSchemas": {"a": false}}"#)
        #expect(modern.isValid(try JSON.decode(#"{"a": 1}"#)))
    }

    @Test func arrayFormItemsWithAdditionalItemsSchema() throws {
        let schema = try compile(#"{\#(Self.draft7), "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": {"type": "boolean"}}"#)
        #expect(schema.isValid(try JSON.decode(#"["a", 1, true, false]"#)))
        #expect(schema.isValid(try JSON.decode(#"["a"]"#)))
        let extra = try errors(schema, #"["a", 1, "no"]"#)
        #expect(extra.count == 1 && extra[0].hasPrefix("/2: 'type'") && extra[0].hasSuffix("at #/additionalItems"), "\(extra)")
        #expect(!schema.isValid(try JSON.decode(#"[1]"#)))
        // additionalItems without array-form items does nothing.
        #expect(try compile(#"{\#(Self.draft7), "additionalItems": false}"#).isValid(try JSON.decode("[1, 2]")))
    }

    @Test func newerKeywordsAreIgnoredAndDefsIsJustALocation() throws {
        let schema = try compile(#"""
            {\#(Self.draft7), "prefixItems": [{"type": "string"}], "unevaluatedItems": false,
             "contains": {"type": "integer"}, "minContains": 3, "maxContains": 1,
             "$defs": {"n": {"type": "integer"}}}
            """#)
        #expect(schema.isValid(try JSON.decode("[1, 2, true]")))
        #expect(!schema.isValid(try JSON.decode("[true]")), "contains still applies")
        let viaDefs = try compile(##"{\##(Self.draft7), "properties": {"n": {"$ref": "#/$defs/n"}}, "$defs": {"n": {"type": "integer"}}}"##)
        #expect(!viaDefs.isValid(try JSON.decode(#"{"n": "x"}"#)))
        #expect(viaDefs.isValid(try JSON.decode(#"{"n": 1}"#)))
    }

    @Test func draft07ResourceInsideA2020Document() throws {
        // An embedded resource with its own $schema switches dialect there only.
        let schema = try compile(#"""
            {"$id": "http://example.com/outer", "$defs": {"old": {"$id": "old", \#(Self.draft7),
               "definitions": {"s": {"type": "string"}}, "allOf": [{"$ref": "#/definitions/s", "maxLength": 1}]}},
             "properties": {"a": {"$ref": "old"}, "b": {"$ref": "old", "maxLength": 1}}}
            """#)
        #expect(schema.isValid(try JSON.decode(#"{"a": "long text"}"#)))
        #expect(!schema.isValid(try JSON.decode(#"{"a": 1}"#)), "#/definitions/s is the embedded resource's")
        #expect(!schema.isValid(try JSON.decode(#"{"b": "long text"}"#)), "the 2020-12 $ref keeps its sibling")
    }
}
