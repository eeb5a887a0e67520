/// `pgk cdc`: change data capture out of PostgreSQL into Kafka, through
/// triggers (outbox) or logical replication (wal).
enum CDCCommand {
    static let spec = CommandSpec(
        name: "cdc", summary: "stream table changes to Kafka",
        subcommands: [OutboxCommands.spec, WALCommands.spec])
}
