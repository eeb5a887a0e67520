import Foundation
import Testing
@testable import PGKCore

@Suite struct OSThreadTests {
    /// A thread carries its name, cut to the 15 bytes Linux keeps, as
    /// /proc (and so top -H, perf and gdb) shows it.
    @Test func threadsAreNamed() throws {
        final class Seen: @unchecked Sendable { var names: [String] = [] }
        let seen = Seen()
        for name in ["pgk-sql-writer", "pgk sink writer 12"] {
            let thread = try OSThread(name: name) {
                let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "(unreadable)"
                seen.names.append(comm.trimmingCharacters(in: .newlines))
            }
            thread.join()
        }
        #expect(seen.names == ["pgk-sql-writer", "pgk sink writer"])
    }
}
