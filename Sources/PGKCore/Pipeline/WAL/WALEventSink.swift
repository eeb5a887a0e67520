/// What WAL streaming needs from the Kafka side: hand events over, learn
/// which positions every earlier event's acknowledgement now covers, and
/// wait for room or for the acknowledgements. `CDCEventSink` is the real
/// one; tests use a fake whose acknowledgements they control.
protocol WALEventSink: AnyObject {
    /// The highest LSN safe to confirm to PostgreSQL: Kafka acknowledged
    /// every event handed over before it.
    var flushed: LSN { get }
    /// Events handed over and not yet acknowledged.
    var inFlight: Int { get }
    /// Nothing in flight and no position waiting for acknowledgements.
    var isIdle: Bool { get }
    /// False while so much is in flight that reading more WAL must wait.
    var hasRoom: Bool { get }

    /// Starts from `flushed` (where streaming starts); nothing may be in flight.
    func resetPosition(_ flushed: LSN)
    /// A position (transaction end, idle keepalive, heartbeat) after the
    /// events handed over so far: confirmable once they are acknowledged.
    func reached(_ lsn: LSN)
    /// Hands one event over; the bytes are copied, so buffers may be reused.
    func send(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) throws
    /// Serves acknowledgements for up to `timeoutMilliseconds`.
    func poll(timeoutMilliseconds: Int) throws
    /// Blocks (polling, running `whileWaiting`) until there is room or a stop.
    func waitForRoom(stop: StopToken, whileWaiting: () throws -> Void) throws
    /// Waits until everything is acknowledged (true) or the time or `stop` ran out.
    @discardableResult
    func drain(timeoutMilliseconds: Int, stop: StopToken?) throws -> Bool
    /// Gives up on events still in flight, after a drain ran out of time.
    func abandonDeliveries()
}

extension WALEventSink {
    func poll() throws { try poll(timeoutMilliseconds: 0) }
    func waitForRoom(stop: StopToken) throws { try waitForRoom(stop: stop, whileWaiting: {}) }
    @discardableResult
    func drain(timeoutMilliseconds: Int) throws -> Bool { try drain(timeoutMilliseconds: timeoutMilliseconds, stop: nil) }
}
