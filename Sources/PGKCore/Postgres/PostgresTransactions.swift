import CLibPQ

extension PostgresConnection {
    func begin() throws { try execute("BEGIN") }
    func commit() throws { try execute("COMMIT") }
    func rollback() throws { try execute("ROLLBACK") }

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when
    /// it throws (the body's error is rethrown). Called inside an open
    /// transaction it nests as a savepoint instead.
    ///
    /// `throws` rather than `rethrows`: BEGIN and COMMIT can fail too.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        if transactionStatus == .inTransaction || transactionStatus == .inFailedTransaction {
            return try savepoint("pgk_nested_transaction", body)
        }
        try begin()
        let value: T
        do {
            value = try body()
        } catch {
            rollbackQuietly()
            throw error
        }
        do {
            try commit()
        } catch {
            rollbackQuietly()
            throw error
        }
        return value
    }

    /// Runs `body` under `SAVEPOINT name` inside the current transaction:
    /// RELEASE when it returns, ROLLBACK TO when it throws, leaving the
    /// outer transaction usable.
    func savepoint<T>(_ name: String, _ body: () throws -> T) throws -> T {
        let quoted = try quoteIdentifier(name)
        try execute("SAVEPOINT \(quoted)")
        let value: T
        do {
            value = try body()
        } catch {
            if isConnected {
                _ = try? execute("ROLLBACK TO SAVEPOINT \(quoted)")
                _ = try? execute("RELEASE SAVEPOINT \(quoted)")
            }
            throw error
        }
        try execute("RELEASE SAVEPOINT \(quoted)")
        return value
    }

    /// Ends whatever transaction is open, ignoring errors: used on paths
    /// that are already throwing a more useful error.
    func rollbackQuietly() {
        guard isConnected, transactionStatus != .idle else { return }
        _ = try? execute("ROLLBACK")
    }
}
