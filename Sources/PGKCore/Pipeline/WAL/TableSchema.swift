/// A captured table as the pipeline needs it: columns with their value
/// mapping, the Kafka key columns and the topic. Immutable and shared by
/// reference: every event of the table points at it.
final class TableSchema: Sendable, Equatable {
    struct Column: Sendable, Equatable {
        let name: String
        var typeOID: UInt32
        var typeModifier: Int32
        /// `format_type` without the modifier, e.g. "character varying".
        var typeName: String
        var kind: PgValueKind
        /// Part of the replica identity: sent in old-key tuples.
        var isReplicaIdentity: Bool
    }

    /// The table's OID (pgoutput's relation id).
    let relationID: UInt32
    let schema: String
    let name: String
    let columns: [Column]
    /// `d` default, `n` nothing, `f` full, `i` index.
    let replicaIdentity: UInt8
    /// Columns whose values form the Kafka key, in key order; empty means
    /// a null key (no primary key and no --key-columns).
    let keyColumnIndexes: [Int]
    let topic: String

    init(relationID: UInt32, schema: String, name: String, columns: [Column], replicaIdentity: UInt8,
                keyColumnIndexes: [Int], topic: String) {
        self.relationID = relationID
        self.schema = schema
        self.name = name
        self.columns = columns
        self.replicaIdentity = replicaIdentity
        self.keyColumnIndexes = keyColumnIndexes
        self.topic = topic
    }

    static func == (lhs: TableSchema, rhs: TableSchema) -> Bool {
        lhs === rhs || (lhs.relationID == rhs.relationID && lhs.schema == rhs.schema && lhs.name == rhs.name
            && lhs.columns == rhs.columns && lhs.replicaIdentity == rhs.replicaIdentity
            && lhs.keyColumnIndexes == rhs.keyColumnIndexes && lhs.topic == rhs.topic)
    }

    /// `schema.table`, unquoted, as pg_to_brokers names tables.
    var qualifiedName: String { schema + "." + name }
    var displayName: String { QualifiedName(schema: schema, name: name).description }
}

/// How Kafka topics are named: `<prefix>.<schema>.<table>`, with
/// characters Kafka does not allow replaced by `_` (as Debezium does).
enum CDCTopicNaming {
    static func topic(prefix: String, schema: String, table: String) -> String {
        TopicName.sanitize(prefix + "." + schema + "." + table)
    }
}
