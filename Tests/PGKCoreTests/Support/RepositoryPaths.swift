import Foundation

/// Locations in the source tree, found from this file's path so tests work
/// from any working directory.
enum RepositoryPaths {
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url
            }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// A file of the shared test data: `$PGK_SHARED_DIR` or `../shared`
    /// beside the repository, as on developer machines and in CI.
    static func shared(_ relative: String) throws -> String {
        let base = ProcessInfo.processInfo.environment["PGK_SHARED_DIR"]
            ?? root.deletingLastPathComponent().appendingPathComponent("shared").path
        let file = base + "/" + relative
        guard FileManager.default.fileExists(atPath: file) else {
            throw MissingSharedData(path: file)
        }
        return file
    }

    struct MissingSharedData: Error, CustomStringConvertible {
        var path: String
        var description: String {
            "shared test data not found at \(path); clone pgk next to shared/ or set PGK_SHARED_DIR"
        }
    }

    /// The built `pgk` binary next to the test bundle (debug or release).
    static var binary: String {
        let candidates = [".build/debug/pgk", ".build/release/pgk"].map(path)
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            fatalError("pgk binary not built; run 'swift build' first (looked in \(candidates))")
        }
        return found
    }
}
