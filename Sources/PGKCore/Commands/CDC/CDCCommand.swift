/// `pgk cdc`: change data capture out of PostgreSQL into Kafka, through
/// triggers (outbox) or logical replication (wal).
public enum CDCCommand {
    public static let spec = CommandSpec(
        name: "cdc", summary: "stream table changes to Kafka",
        subcommands: [OutboxCommands.spec, WALCommands.spec])
}
