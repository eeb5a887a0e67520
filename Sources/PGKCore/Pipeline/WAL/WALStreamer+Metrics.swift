extension WALStreamer {
    /// Refreshes `--metrics` from what the loop already tracks; the slot
    /// lag costs a query on the side connection, so only every few seconds.
    func publishMetrics() {
        guard let metrics else { return }
        metrics.transactions.set(Double(summary.transactions))
        metrics.acknowledged(through: sink.flushed, events: summary.events, inFlight: sink.inFlight)
        guard let side = side, metrics.lagQueryDue(now: clock.nowMilliseconds) else { return }
        do {
            let row = try side.query("""
                SELECT pg_current_wal_lsn()::text, confirmed_flush_lsn::text
                  FROM pg_replication_slots WHERE slot_name = $1
                """, [options.slot]).rows.first
            if let row, let current = row[0].flatMap(LSN.init), let confirmed = row[1].flatMap(LSN.init) {
                metrics.slotLagBytes.set(Double(current.bytes(since: confirmed)))
            }
        } catch {
            // An outage is the stream's to report; the gauge keeps its last value.
            Log.debug("metrics: reading the slot lag failed: \(error)")
        }
    }
}
