import Foundation
import Testing
@testable import PGKCore

/// Replays every seed and every once-crashing input in fuzz/corpus through
/// the entry point pgk-fuzz uses, without the sanitizers: decoders may
/// throw, but a trap here (the test process dying) is a regression.
@Suite struct FuzzCorpusTests {
    static let corpusRoot = RepositoryPaths.root.appendingPathComponent("fuzz/corpus")

    static func inputs(of target: String) throws -> [URL] {
        let directory = corpusRoot.appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test func everyTargetHasACorpusAndEveryCorpusATarget() throws {
        let directories = try FileManager.default.contentsOfDirectory(atPath: Self.corpusRoot.path)
            .filter { !$0.hasPrefix(".") }
        #expect(Set(directories) == Set(FuzzTargets.names))
    }

    @Test(arguments: FuzzTargets.names)
    func replaysCorpus(target: String) throws {
        let files = try Self.inputs(of: target)
        #expect(!files.isEmpty, "fuzz/corpus/\(target) is empty")
        for file in files {
            let bytes = try Data(contentsOf: file)
            let ran = bytes.withUnsafeBytes { FuzzTargets.run(target, $0) }
            #expect(ran, "\(target) is not a fuzz target")
        }
    }

    @Test func unknownTargetNamesAreRefused() {
        #expect(![UInt8]().withUnsafeBytes { FuzzTargets.run("no-such-target", $0) })
    }
}
