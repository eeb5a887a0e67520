import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import PGKCore

@Suite struct PostgresNotificationTests {
    private let clock = SystemClock.shared

    @Test func notifyFromAnotherConnectionWakesTheWaiter() throws {
        let url = try TestPostgres.freshDatabase("notify")
        let listener = try PostgresConnection(conninfo: url)
        let channel = "Orders ü.v1"
        try listener.listen(channel)
        let notifier = try PostgresConnection(conninfo: url)
        let notifierPID = notifier.backendPID
        let failure = ThreadResult()
        let thread = TestThread.start {
            usleep(300_000)
            do { try notifier.notify(channel, payload: "{\"id\": 1}") } catch {
                failure.value = "\(error)"
            }
        }
        defer { thread.join() }
        let started = clock.nowMilliseconds
        let received = try listener.waitForNotifications(timeoutMilliseconds: 20_000, stop: StopToken())
        let elapsed = clock.nowMilliseconds - started
        thread.join()
        #expect(failure.value == nil)
        #expect(received == [PostgresNotification(channel: channel, payload: "{\"id\": 1}", senderPID: notifierPID)])
        #expect(elapsed >= 250 && elapsed < 5_000, "woke after \(elapsed) ms")
    }

    @Test func stopWakesTheWaiter() throws {
        let listener = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("notifystop"))
        try listener.listen("never")
        let stop = StopToken()
        let thread = TestThread.start {
            usleep(300_000)
            stop.stop()
        }
        defer { thread.join() }
        let started = clock.nowMilliseconds
        let received = try listener.waitForNotifications(timeoutMilliseconds: 20_000, stop: stop)
        let elapsed = clock.nowMilliseconds - started
        #expect(received.isEmpty)
        #expect(elapsed >= 250 && elapsed < 5_000, "woke after \(elapsed) ms")
        // An already stopped token returns at once.
        #expect(try listener.waitForNotifications(timeoutMilliseconds: 20_000, stop: stop).isEmpty)
        #expect(clock.nowMilliseconds - started < 6_000)
    }

    @Test func timesOutWithNothing() throws {
        let listener = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("notifytimeout"))
        try listener.listen("quiet")
        let started = clock.nowMilliseconds
        #expect(try listener.waitForNotifications(timeoutMilliseconds: 300, stop: StopToken()).isEmpty)
        let elapsed = clock.nowMilliseconds - started
        #expect(elapsed >= 290 && elapsed < 3_000, "returned after \(elapsed) ms")
    }

    @Test func notificationsReceivedDuringQueriesAreReturnedAtOnce() throws {
        let url = try TestPostgres.freshDatabase("notifybuffered")
        let listener = try PostgresConnection(conninfo: url)
        try listener.listen("a")
        try listener.listen("b")
        let notifier = try PostgresConnection(conninfo: url)
        try notifier.transaction {
            try notifier.notify("a", payload: "1")
            try notifier.notify("b", payload: "2")
            try notifier.notify("ignored-channel", payload: "3")
        }
        // Any round trip lets libpq read the queued notifications.
        _ = try listener.query("SELECT pg_sleep(0.2)")
        let started = clock.nowMilliseconds
        let received = try listener.waitForNotifications(timeoutMilliseconds: 10_000, stop: StopToken())
        #expect(received.map(\.channel) == ["a", "b"])
        #expect(received.map(\.payload) == ["1", "2"])
        #expect(clock.nowMilliseconds - started < 1_000)
        try listener.unlisten("a")
        try notifier.notify("a", payload: "after unlisten")
        try notifier.notify("b", payload: "still listening")
        let later = try listener.waitForNotifications(timeoutMilliseconds: 10_000, stop: StopToken())
        #expect(later.map(\.payload) == ["still listening"])
        try listener.unlistenAll()
    }

    @Test func brokenConnectionThrowsWhileWaiting() throws {
        let url = try TestPostgres.freshDatabase("notifybroken")
        let listener = try PostgresConnection(conninfo: url)
        try listener.listen("x")
        let killer = try PostgresConnection(conninfo: url)
        let pid = String(listener.backendPID)
        let thread = TestThread.start {
            usleep(300_000)
            _ = try? killer.execute("SELECT pg_terminate_backend($1)", [pid])
        }
        defer { thread.join() }
        let started = clock.nowMilliseconds
        do {
            _ = try listener.waitForNotifications(timeoutMilliseconds: 20_000, stop: StopToken())
            Issue.record("waiting on a terminated connection returned normally")
        } catch let error as PostgresError {
            #expect(error.isTransient, "\(error)")
        }
        #expect(clock.nowMilliseconds - started < 5_000)
    }
}

/// Written by a TestThread, read after join() (which orders the accesses).
private final class ThreadResult: @unchecked Sendable {
    var value: String?
}
