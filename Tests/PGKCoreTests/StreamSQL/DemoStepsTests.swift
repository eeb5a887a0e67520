import Foundation
import Testing
@testable import PGKCore

/// The demo's steps (scripts/demo-steps) on the embedded stack: the
/// seed's workflow must keep printing the seed's numbers, computed by
/// pgk sql.
@Suite struct DemoStepsTests {
    @Test func demoPrintsTheSeedsAveragesBeforeAndAfterTheSecondLoad() throws {
        let shared = URL(fileURLWithPath: try RepositoryPaths.shared("data/students/admit_1.csv"))
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        var environment = ProcessInfo.processInfo.environment
        environment["PGK_SHARED_DIR"] = shared
        let result = try CommandRunner.pgk(["dev", "run", "--", RepositoryPaths.path("scripts/demo-steps")],
                                           environment: environment, timeoutSeconds: 300)
        #expect(result.status == 0, "\(result.stderr.suffix(3_000))")
        let output = result.stdout
        let parts = output.components(separatedBy: "Load the second CSVs")
        #expect(parts.count == 2, "\(output.suffix(3_000))")
        for value in ["0.65194", "0.79512"] { #expect(parts.first?.contains(value) == true, "before: \(value)") }
        for value in ["0.63491", "0.78996"] { #expect(parts.last?.contains(value) == true, "after: \(value)") }
    }
}
