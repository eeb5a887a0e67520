@testable import PGKCore

/// What the tests ask the embedded schema registry about a query's output.
extension SchemaRegistryServer {
    struct MissingSchema: Error { let response: String }

    /// The text of the latest schema registered under `subject`.
    func latestSchemaText(_ subject: String) throws -> String {
        let latest = try CommandRunner.run("/usr/bin/curl", ["-s", url + "/subjects/\(subject)/versions/latest"]).stdout
        guard case .string(let text)? = try JSON.decode(latest)["schema"] else { throw MissingSchema(response: latest) }
        return text
    }
}
