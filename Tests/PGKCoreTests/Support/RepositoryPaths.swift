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

    /// The built `pgk` binary next to the test bundle (debug or release).
    static var binary: String {
        let candidates = [".build/debug/pgk", ".build/release/pgk"].map(path)
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            fatalError("pgk binary not built; run 'swift build' first (looked in \(candidates))")
        }
        return found
    }
}
