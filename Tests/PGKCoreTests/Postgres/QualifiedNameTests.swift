import Testing
@testable import PGKCore

@Suite struct QualifiedNameTests {
    @Test(arguments: [
        ("table", nil, "table"),
        ("MyCoolTable", nil, "MyCoolTable"),
        ("MySchema.MyTable", "MySchema", "MyTable"),
        (#""My.Schema"."Ta""ble""#, "My.Schema", #"Ta"ble"#),
        (#""a.b""#, nil, "a.b"),
        (#"public."Weird Name""#, "public", "Weird Name"),
        (#""""#, nil, nil),
        ("a.b.c", "a", "b.c"),
        (#"a."b.c".d"#, "a", "b.c.d"),
        (#"s"x"y.t"#, "sxy", "t"),
        ("ümlaut.Täble", "ümlaut", "Täble"),
        (" spaced . name ", " spaced ", " name "),
        (#""""""#, nil, #"""#),
        ("\"\u{301}x\".t", "\u{301}x", "t"),
    ] as [(String, String?, String?)])
    func parses(input: String, schema: String?, name: String?) throws {
        guard let name else {
            #expect(throws: UsageError.self) { try QualifiedName.parse(input) }
            return
        }
        let parsed = try QualifiedName.parse(input)
        #expect(parsed.schema == schema, "schema of \(input)")
        #expect(parsed.name == name, "name of \(input)")
    }

    @Test(arguments: ["", ".", "schema.", ".table", #""unterminated"#, #"s."t"#, #""".t"#, #"s."""#])
    func rejects(input: String) {
        #expect(throws: UsageError.self) { try QualifiedName.parse(input) }
    }

    @Test func errorMessageNamesTheInput() {
        do {
            _ = try QualifiedName.parse(#"x."open"#)
            Issue.record("accepted an unterminated quote")
        } catch {
            #expect("\(error)".contains(#"x.\"open"#))
            #expect("\(error)".contains("unterminated"))
        }
    }

    @Test(arguments: [
        QualifiedName(name: "plain"),
        QualifiedName(schema: "MySchema", name: "MyTable"),
        QualifiedName(schema: "My.Schema", name: #"Ta"ble"#),
        QualifiedName(name: "with space"),
        QualifiedName(schema: "ü", name: "1st"),
        QualifiedName(name: "a.b"),
    ])
    func descriptionParsesBack(name: QualifiedName) throws {
        #expect(try QualifiedName.parse(name.description) == name)
    }

    @Test func descriptionQuotesOnlyWhenNeeded() {
        #expect(QualifiedName(schema: "MySchema", name: "MyTable").description == "MySchema.MyTable")
        #expect(QualifiedName(schema: "My.Schema", name: #"Ta"ble"#).description == #""My.Schema"."Ta""ble""#)
    }
}
