/// Keeps the offset claims of parallel writers in batch order. Batch k+1
/// may stage its rows while batch k is still running, but must not claim
/// its offsets before batch k has: its claim expects batch k's result, and
/// would otherwise find the old value and be fenced off for nothing.
/// Once batch k holds the offset rows, PostgreSQL's row locks make batch
/// k+1 wait for k's commit.
final class ClaimTurns: @unchecked Sendable {
    private let lock = ConditionLock()
    /// Batches below this sequence number have claimed (or given up).
    private var done: UInt64 = 0

    /// Blocks until every batch before `sequence` has claimed.
    func wait(for sequence: UInt64) {
        lock.withLock(when: { done >= sequence }) {}
    }

    /// Batch `sequence` has claimed, failed or been dropped. Idempotent.
    func finished(_ sequence: UInt64) {
        lock.withLock {
            done = max(done, sequence + 1)
            lock.broadcast()
        }
    }
}
