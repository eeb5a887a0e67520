import Foundation
import Testing
@testable import PGKCore

/// Runs every required draft 2020-12 test of the official JSON Schema Test
/// Suite (the top-level files; not `optional/`) from the shared test data,
/// with the suite's `remotes/` served as `http://localhost:1234/…`.
@Suite struct JSONSchemaSuiteTests {
    /// Update when the validator or the suite changes: both a regression
    /// and an improvement should be noticed.
    static let expectedPasses = 1299

    struct Outcome {
        var passed = 0
        var failures: [String] = []
        var total: Int { passed + failures.count }
    }

    static func run() throws -> Outcome {
        let suite = try RepositoryPaths.shared("data/json-schema-test-suite")
        let testsDirectory = suite + "/tests/draft2020-12"
        let remotes = suite + "/remotes/"
        let loader: (String) -> Value? = { uri in
            let prefix = "http://localhost:1234/"
            guard uri.hasPrefix(prefix),
                  let data = FileManager.default.contents(atPath: remotes + uri.dropFirst(prefix.count)) else { return nil }
            return try? JSON.decode(Array(data))
        }
        var outcome = Outcome()
        let files = try FileManager.default.contentsOfDirectory(atPath: testsDirectory)
            .filter { $0.hasSuffix(".json") }.sorted()
        for file in files {
            let data = try #require(FileManager.default.contents(atPath: testsDirectory + "/" + file))
            guard case .array(let cases) = try JSON.decode(Array(data)) else {
                outcome.failures.append("\(file): not an array of test cases")
                continue
            }
            for testCase in cases {
                let description = testCase["description"]?.stringValue ?? "?"
                guard case .array(let tests)? = testCase["tests"], let schemaDocument = testCase["schema"] else { continue }
                let store = JSONSchemaStore(loader: loader)
                let schema: CompiledSchema
                do {
                    try store.register(schemaDocument, uri: "https://pgk.test/suite/schema.json")
                    schema = try store.compile(uri: "https://pgk.test/suite/schema.json")
                } catch {
                    for test in tests {
                        outcome.failures.append("\(file) / \(description) / \(test["description"]?.stringValue ?? "?"): \(error)")
                    }
                    continue
                }
                for test in tests {
                    let expected = test["valid"] == .bool(true)
                    let instance = test["data"] ?? .null
                    let valid = schema.isValid(instance)
                    let violations = schema.validate(instance)
                    // Both modes must agree with the suite.
                    if valid == expected && violations.isEmpty == expected {
                        outcome.passed += 1
                    } else {
                        let detail = violations.isEmpty ? "no errors" : violations.map(\.description).joined(separator: "; ")
                        outcome.failures.append(
                            "\(file) / \(description) / \(test["description"]?.stringValue ?? "?"): expected \(expected ? "valid" : "invalid"), isValid \(valid), validate: \(detail)")
                    }
                }
            }
        }
        return outcome
    }

    @Test func requiredDraft2020_12Tests() throws {
        let outcome = try Self.run()
        print("JSON Schema Test Suite draft2020-12: \(outcome.passed) of \(outcome.total) passed")
        for failure in outcome.failures { print("  FAIL \(failure)") }
        #expect(outcome.total > 1200, "suite looks truncated: \(outcome.total) tests")
        #expect(outcome.passed * 100 >= outcome.total * 98, "below 98%: \(outcome.passed) of \(outcome.total)")
        #expect(outcome.passed == Self.expectedPasses,
                "pass count changed: \(outcome.passed) (expected \(Self.expectedPasses)); update expectedPasses and JSONSCHEMA-FAILURES.md")
    }
}
