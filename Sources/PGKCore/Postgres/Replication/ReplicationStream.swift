/// What WAL streaming needs from a replication connection once
/// START_REPLICATION switched it to CopyBoth. `ReplicationConnection` is
/// the real one; tests script fakes to drive keepalives and lost connections.
protocol ReplicationStream: AnyObject {
    /// The next CopyData message without blocking.
    func readCopyData() throws -> ReplicationConnection.CopyRead
    /// Waits up to `timeoutMilliseconds` for more to read; false on a
    /// timeout or a stop.
    func waitForData(timeoutMilliseconds: Int, stop: StopToken) -> Bool
    /// Queues a standby status update and tries to send it.
    func sendStandbyStatus(write: LSN, flush: LSN, apply: LSN) throws
    /// Sends queued output; true when everything went out.
    @discardableResult
    func flushOutput() throws -> Bool
    /// Ends streaming from our side and waits, bounded, for the server.
    func endStreaming(timeoutMilliseconds: Int) throws
}

extension ReplicationStream {
    func endStreaming() throws { try endStreaming(timeoutMilliseconds: 10_000) }
}

extension ReplicationConnection: ReplicationStream {
    func waitForData(timeoutMilliseconds: Int, stop: StopToken) -> Bool {
        stop.wait(fd: socket, timeoutMilliseconds: timeoutMilliseconds)
    }
}
