/// Failures of the WAL pipeline that need their own explanation.
enum WALError: Error, CustomStringConvertible, Sendable {
    case slotMissing(slot: String)
    case slotInvalidated(slot: String, detail: String)
    case publicationMissing(publication: String)
    case slotInUse(slot: String, pid: String)
    case encoding(table: String, String)
    case delivery(String)
    case protocolViolation(String)

    var description: String {
        switch self {
        case .slotMissing(let slot):
            return "replication slot \(slot) does not exist (hint: run 'pgk cdc wal setup --slot \(slot)', "
                + "or 'pgk cdc wal run --snapshot initial' to create it with a fresh snapshot)"
        case .slotInvalidated(let slot, let detail):
            return "replication slot \(slot) can no longer stream: \(detail) (hint: the WAL it needed was removed, "
                + "usually by max_slot_wal_keep_size; changes were lost. Drop it with 'pgk cdc wal teardown' and "
                + "start over with 'pgk cdc wal run --snapshot initial')"
        case .publicationMissing(let publication):
            return "publication \(publication) does not exist (hint: run 'pgk cdc wal setup --publication \(publication) --tables …')"
        case .slotInUse(let slot, let pid):
            return "replication slot \(slot) is in use by process \(pid) (hint: another 'pgk cdc wal run' or consumer is streaming it)"
        case .encoding(let table, let reason):
            return "cannot encode a change of \(table): \(reason)"
        case .delivery(let reason):
            return reason
        case .protocolViolation(let reason):
            return "unexpected replication stream: \(reason)"
        }
    }
}
