import Foundation
import Synchronization
import Testing
@testable import PGKCore

/// ConditionLock and the two primitives built on it, under real threads.
@Suite struct ThreadPrimitiveTests {
    @Test func claimTurnsReleaseBatchesInOrder() {
        let turns = ClaimTurns()
        let order = Mutex<[UInt64]>([])
        // Batches 4…1 start waiting first; each claims once its turn comes.
        let threads = (1...4).reversed().map { sequence in
            TestThread.start {
                turns.wait(for: UInt64(sequence))
                order.withLock { $0.append(UInt64(sequence)) }
                turns.finished(UInt64(sequence))
            }
        }
        usleep(50_000)
        #expect(order.withLock { $0 }.isEmpty, "nobody may claim before batch 0")
        turns.finished(0)
        threads.forEach { $0.join() }
        #expect(order.withLock { $0 } == [1, 2, 3, 4])
    }

    @Test func backgroundWorkerRunsOneJobAtATimeAndHandsBackEachOutput() {
        let running = Mutex(0)
        let worker = BackgroundWorker<Int, Int>(name: "test") { job in
            let concurrent = running.withLock { $0 += 1; return $0 }
            usleep(1_000)
            running.withLock { $0 -= 1 }
            return concurrent == 1 ? job * 2 : -1
        }
        var outputs: [Int] = []
        for job in 1...200 {
            if let done = worker.wait() { outputs.append(done) }
            worker.start(job)
        }
        if let last = worker.wait() { outputs.append(last) }
        worker.shutdown()
        #expect(outputs == (1...200).map { $0 * 2 })
        #expect(worker.poll() == nil)
    }

    @Test func conditionLockWakesAWaiterOnlyWhenItsPredicateHolds() {
        let lock = ConditionLock()
        let counter = Mutex(0)
        let box = Mutex(false)
        let waiter = TestThread.start {
            lock.withLock(when: { counter.withLock { $0 } >= 3 }) { box.withLock { $0 = true } }
        }
        for _ in 1...3 {
            usleep(10_000)
            #expect(box.withLock { $0 } == false)
            lock.withLock {
                counter.withLock { $0 += 1 }
                lock.broadcast()
            }
        }
        waiter.join()
        #expect(box.withLock { $0 })
    }
}
