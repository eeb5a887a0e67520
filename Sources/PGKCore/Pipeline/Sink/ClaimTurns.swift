#if canImport(Glibc)
import Glibc
#endif

/// Keeps the offset claims of parallel writers in batch order. Batch k+1
/// may stage its rows while batch k is still running, but must not claim
/// its offsets before batch k has: its claim expects batch k's result, and
/// would otherwise find the old value and be fenced off for nothing.
/// Once batch k holds the offset rows, PostgreSQL's row locks make batch
/// k+1 wait for k's commit.
final class ClaimTurns: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    /// Batches below this sequence number have claimed (or given up).
    private var done: UInt64 = 0

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Blocks until every batch before `sequence` has claimed.
    func wait(for sequence: UInt64) {
        pthread_mutex_lock(&mutex)
        while done < sequence { pthread_cond_wait(&condition, &mutex) }
        pthread_mutex_unlock(&mutex)
    }

    /// Batch `sequence` has claimed, failed or been dropped. Idempotent.
    func finished(_ sequence: UInt64) {
        pthread_mutex_lock(&mutex)
        done = max(done, sequence + 1)
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }
}
