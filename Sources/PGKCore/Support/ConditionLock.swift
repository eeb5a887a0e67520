#if canImport(Glibc)
import Glibc
#endif

/// A mutex with a condition variable, for threads that wait for each
/// other. The pthread objects live in memory this class allocates: their
/// address must never change, which a class's stored property passed with
/// `&` does not promise. (`Synchronization.Mutex` has no condition.)
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        mutex.initialize(to: pthread_mutex_t())
        condition.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` holding the lock.
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// With the lock held: releases it until `broadcast`, then holds it again.
    /// Callers loop on their own predicate (wakeups may be spurious).
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Like `wait`, but gives up after `milliseconds`; false on timeout.
    @discardableResult
    func wait(milliseconds: Int) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let total = Int(now.tv_nsec) + (milliseconds % 1000) * 1_000_000
        var deadline = timespec(tv_sec: now.tv_sec + milliseconds / 1000 + total / 1_000_000_000,
                                tv_nsec: total % 1_000_000_000)
        return pthread_cond_timedwait(condition, mutex, &deadline) == 0
    }

    /// Holding the lock or not: wakes every waiter.
    func broadcast() { pthread_cond_broadcast(condition) }

    /// Holds the lock until `predicate` is true, then runs `body` with it.
    func withLock<T>(when predicate: () -> Bool, _ body: () throws -> T) rethrows -> T {
        try withLock {
            while !predicate() { wait() }
            return try body()
        }
    }
}
