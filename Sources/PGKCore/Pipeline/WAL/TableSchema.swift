/// A captured table as the pipeline needs it: columns with their value
/// mapping, the Kafka key columns and the topic.
public struct TableSchema: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var name: String
        public var typeOID: UInt32
        public var typeModifier: Int32
        /// `format_type` without the modifier, e.g. "character varying".
        public var typeName: String
        public var kind: PgValueKind
        /// Part of the replica identity: sent in old-key tuples.
        public var isReplicaIdentity: Bool
    }

    /// The table's OID (pgoutput's relation id).
    public var relationID: UInt32
    public var schema: String
    public var name: String
    public var columns: [Column]
    /// `d` default, `n` nothing, `f` full, `i` index.
    public var replicaIdentity: UInt8
    /// Columns whose values form the Kafka key, in key order; empty means
    /// a null key (no primary key and no --key-columns).
    public var keyColumnIndexes: [Int]
    public var topic: String

    /// `schema.table`, unquoted, as pg_to_brokers names tables.
    public var qualifiedName: String { schema + "." + name }
    public var displayName: String { QualifiedName(schema: schema, name: name).description }
}

/// How Kafka topics are named: `<prefix>.<schema>.<table>`, with
/// characters Kafka does not allow replaced by `_` (as Debezium does).
public enum CDCTopicNaming {
    public static func topic(prefix: String, schema: String, table: String) -> String {
        sanitize(prefix + "." + schema + "." + table)
    }

    public static func sanitize(_ name: String) -> String {
        String(String.UnicodeScalarView(name.unicodeScalars.map { scalar in
            let allowed = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                || scalar == "." || scalar == "_" || scalar == "-")
            return allowed ? scalar : "_"
        }))
    }
}
