import Foundation
import Testing
@testable import PGKCore

@Suite struct SchemaCatalogTests {
    /// A fresh schemas directory holding `files` (name → text).
    static func directory(_ files: [String: String]) throws -> String {
        let path = NSTemporaryDirectory() + "pgk-schemas-" + KafkaTestSupport.uniqueName("c")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files {
            try text.write(toFile: path + "/" + name, atomically: true, encoding: .utf8)
        }
        return path
    }

    @Test func resolvesNameAndVersionToAFileAndCachesTheCompiledSchema() throws {
        let dir = try Self.directory(["Order.1.json": #"{"type": "object", "required": ["id"]}"#,
                                      "Order.2.json": #"{"type": "object", "required": ["id", "v2"]}"#])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = try SchemaCatalog(directory: dir)
        let one = try catalog.schema(SchemaID(name: "Order", version: 1))
        #expect(one.isValid(try JSON.decode(#"{"id": 1}"#)))
        #expect(!one.isValid(try JSON.decode(#"{}"#)))
        let (id, two) = try catalog.schema(named: "Order:2")
        #expect(id == SchemaID(name: "Order", version: 2))
        #expect(!two.isValid(try JSON.decode(#"{"id": 1}"#)))
        // Compiled once: the cached schema outlives its file.
        try FileManager.default.removeItem(atPath: dir + "/Order.1.json")
        #expect(!(try catalog.schema(SchemaID(name: "Order", version: 1))).isValid(try JSON.decode("{}")))
    }

    @Test func listsEveryVersionOfAName() throws {
        let dir = try Self.directory(["Order.1.json": "{}", "Order.10.json": "{}", "Order.2.json": "{}",
                                      "Order.x.json": "{}", "Order.02.json": "{}", "OrderLine.1.json": "{}",
                                      "Order.json": "{}"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = try SchemaCatalog(directory: dir)
        #expect(try catalog.versions(of: "Order").map(\.version) == [1, 2, 10])
        #expect(try catalog.resolveFilter("Order").map(\.description) == ["Order:1", "Order:2", "Order:10"])
        #expect(try catalog.resolveFilter("Order:7").map(\.description) == ["Order:7"])
        #expect(throws: SchemaCatalogError.noVersions("Nope", dir + "/Nope.*.json")) { try catalog.resolveFilter("Nope") }
    }

    @Test func referencesOtherFilesOfTheDirectory() throws {
        let dir = try Self.directory([
            "Order.1.json": #"{"properties": {"total": {"$ref": "Money.1.json"}, "lines": {"items": {"$ref": "common.json#/$defs/line"}}}}"#,
            "Money.1.json": #"{"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$"}"#,
            "common.json": #"{"$defs": {"line": {"required": ["sku"]}}}"#,
        ])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let schema = try SchemaCatalog(directory: dir).schema(SchemaID(name: "Order", version: 1))
        #expect(schema.isValid(try JSON.decode(#"{"total": "9.50", "lines": [{"sku": "a"}]}"#)))
        let errors = schema.validate(try JSON.decode(#"{"total": "9.5", "lines": [{}]}"#)).map(\.description)
        #expect(errors.count == 2)
        #expect(errors.contains { $0.hasPrefix("/total: 'pattern'") && $0.contains("Money.1.json#") }, "\(errors)")
        #expect(errors.contains { $0.hasPrefix("/lines/0: 'required'") && $0.contains("common.json#/$defs/line") }, "\(errors)")
    }

    @Test func errorsNameWhatFailedAndWhere() throws {
        #expect(throws: SchemaCatalogError.missingDirectory("/nonexistent/schemas")) {
            try SchemaCatalog(directory: "/nonexistent/schemas")
        }
        let dir = try Self.directory(["Bad.1.json": "{not json", "Wrong.1.json": #"{"type": 12}"#,
                                      "Dangling.1.json": #"{"$ref": "Missing.1.json"}"#])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = try SchemaCatalog(directory: dir)
        func message(_ text: String) -> String {
            do {
                _ = try catalog.schema(named: text)
                return "no error"
            } catch {
                return error.description
            }
        }
        #expect(message("Order:1") == "unknown schema Order:1: no file \(dir)/Order.1.json")
        #expect(message("Bad:1").hasPrefix("schema \(dir)/Bad.1.json is not valid JSON: invalid json at byte 1"))
        #expect(message("Wrong:1").hasPrefix("schema \(dir)/Wrong.1.json is not a valid JSON Schema:"))
        #expect(message("Wrong:1").contains("'type' must name JSON types"))
        #expect(message("Dangling:1").contains("cannot resolve 'Missing.1.json'"))
        #expect(message("Order") == "bad schema id 'Order': expected NAME:VERSION")
        #expect(message("../x:1").hasPrefix("bad schema id '../x:1'"))
    }
}
