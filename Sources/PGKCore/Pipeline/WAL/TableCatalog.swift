/// Reads what pgoutput's Relation messages do not say from the catalog,
/// on a normal connection: primary keys, type names, domains, user-defined
/// array types, and the tables a publication captures.
final class TableCatalog {
    let connection: PostgresConnection
    private let topicPrefix: String
    /// `schema.table` → key columns given with --key-columns.
    private let keyOverrides: [QualifiedName: [String]]
    private var types: [UInt32: TypeInfo] = [:]

    struct TypeInfo {
        var name: String
        var type: String      // typtype: b base, d domain, e enum, c composite, r range…
        var category: String  // typcategory: A array…
        var element: UInt32
        var delimiter: UInt8
        var baseType: UInt32
    }

    init(connection: PostgresConnection, topicPrefix: String, keyOverrides: [QualifiedName: [String]] = [:]) {
        self.connection = connection
        self.topicPrefix = topicPrefix
        self.keyOverrides = keyOverrides
    }

    /// The table behind a Relation message.
    func schema(for relation: PgOutputRelation) throws -> TableSchema {
        let namespace = relation.namespace.isEmpty ? "pg_catalog" : relation.namespace
        try loadTypes(relation.columns.map(\.typeOID))
        let columns = relation.columns.map { column in
            TableSchema.Column(name: column.name, typeOID: column.typeOID, typeModifier: column.typeModifier,
                               typeName: types[column.typeOID]?.name ?? String(column.typeOID),
                               kind: kind(of: column.typeOID), isReplicaIdentity: column.isKey)
        }
        return try finish(relationID: relation.id, schema: namespace, name: relation.name, columns: columns,
                          replicaIdentity: relation.replicaIdentity)
    }

    /// A published table, for the snapshot.
    struct PublishedTable: Sendable {
        var schema: TableSchema
        /// The publication's row filter (PostgreSQL 15), as SQL.
        var rowFilter: String?
        /// A partitioned table published through its root
        /// (publish_via_partition_root): its rows live in the partitions.
        var isPartitioned = false
    }

    /// The tables `publication` captures, with the columns it publishes.
    func publishedTables(publication: String) throws -> [PublishedTable] {
        let hasColumnLists = connection.serverVersion >= 150000
        let extra = hasColumnLists ? ", pt.attnames::text[] AS attnames, pt.rowfilter" : ""
        let tables = try connection.query("""
            SELECT c.oid::int8 AS oid, pt.schemaname, pt.tablename, c.relreplident, c.relkind\(extra)
            FROM pg_publication_tables pt
            JOIN pg_namespace n ON n.nspname = pt.schemaname
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
            WHERE pt.pubname = $1 AND pt.schemaname <> $2 ORDER BY 2, 3
            """, [publication, ChangeAssembler.ownSchema])
        var result: [PublishedTable] = []
        for row in tables.rows {
            guard let oid = row["oid"].flatMap({ UInt32($0) }), let schema = row["schemaname"], let name = row["tablename"] else { continue }
            let listed = row["attnames"].flatMap { text -> Set<String>? in
                guard case .array(let items)? = try? PgArrayText.parse(Array(text.utf8)) else { return nil }
                return Set(items.compactMap { if case .element(let name?) = $0 { return name } else { return nil } })
            }
            let attributes = try connection.query("""
                SELECT a.attname, a.atttypid::int8 AS typid, a.atttypmod,
                       COALESCE(a.attnum = ANY(i.indkey), false) AS is_identity
                FROM pg_attribute a
                LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisreplident
                WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                ORDER BY a.attnum
                """, [String(oid)])
            let identity = row["relreplident"]?.utf8.first ?? UInt8(ascii: "d")
            let primaryKey = Set(try primaryKeyColumns(oid))
            var raw: [(String, UInt32, Int32, Bool)] = []
            for attribute in attributes.rows {
                guard let column = attribute["attname"], let type = attribute["typid"].flatMap({ UInt32($0) }) else { continue }
                if let listed, !listed.contains(column) { continue }
                let isIdentity: Bool
                switch identity {
                case UInt8(ascii: "f"): isIdentity = true
                case UInt8(ascii: "i"): isIdentity = attribute["is_identity"] == "t"
                case UInt8(ascii: "d"): isIdentity = primaryKey.contains(column)
                default: isIdentity = false
                }
                raw.append((column, type, Int32(attribute["atttypmod"] ?? "-1") ?? -1, isIdentity))
            }
            try loadTypes(raw.map(\.1))
            let columns = raw.map { column in
                TableSchema.Column(name: column.0, typeOID: column.1, typeModifier: column.2,
                                   typeName: types[column.1]?.name ?? String(column.1), kind: kind(of: column.1),
                                   isReplicaIdentity: column.3)
            }
            let table = try finish(relationID: oid, schema: schema, name: name, columns: columns, replicaIdentity: identity)
            result.append(PublishedTable(schema: table, rowFilter: row["rowfilter"], isPartitioned: row["relkind"] == "p"))
        }
        return result
    }

    private func finish(relationID: UInt32, schema: String, name: String, columns: [TableSchema.Column],
                        replicaIdentity: UInt8) throws -> TableSchema {
        let keyNames = try keyOverrides[QualifiedName(schema: schema, name: name)] ?? primaryKeyColumns(relationID)
        var keyIndexes: [Int] = []
        for keyName in keyNames {
            guard let index = columns.firstIndex(where: { $0.name == keyName }) else {
                throw RuntimeError("key column \(keyName) is not a published column of \(QualifiedName(schema: schema, name: name))")
            }
            keyIndexes.append(index)
        }
        let topic = CDCTopicNaming.topic(prefix: topicPrefix, schema: schema, table: name)
        // Sanitizing leaves only the length to check: fail here, naming the table, not at the first produce.
        try TopicName.validate(topic, hint: "the topic for \(QualifiedName(schema: schema, name: name)); check --topic-prefix")
        return TableSchema(relationID: relationID, schema: schema, name: name, columns: columns,
                           replicaIdentity: replicaIdentity, keyColumnIndexes: keyIndexes, topic: topic)
    }

    /// Primary key column names in key order; empty when there is none.
    func primaryKeyColumns(_ relationID: UInt32) throws -> [String] {
        try connection.query("""
            SELECT a.attname FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = $1::oid AND i.indisprimary
            ORDER BY array_position(i.indkey::int2[], a.attnum)
            """, [String(relationID)]).column("attname").compactMap { $0 }
    }

    // MARK: types

    /// Loads (once) the catalog entries of `oids` and of the element and
    /// base types they lead to.
    private func loadTypes(_ oids: [UInt32]) throws {
        var missing = Set(oids.filter { types[$0] == nil && $0 != 0 })
        var rounds = 0
        while !missing.isEmpty && rounds < 8 {
            rounds += 1
            let list = "{" + missing.map(String.init).joined(separator: ",") + "}"
            let rows = try connection.query("""
                SELECT oid::int8 AS oid, format_type(oid, NULL) AS name, typtype, typcategory,
                       typelem::int8 AS elem, typdelim, typbasetype::int8 AS base
                FROM pg_type WHERE oid = ANY($1::oid[])
                """, [list])
            missing.removeAll()
            for row in rows.rows {
                guard let oid = row["oid"].flatMap({ UInt32($0) }) else { continue }
                let info = TypeInfo(name: row["name"] ?? String(oid), type: row["typtype"] ?? "b",
                                    category: row["typcategory"] ?? "U",
                                    element: row["elem"].flatMap { UInt32($0) } ?? 0,
                                    delimiter: row["typdelim"]?.utf8.first ?? UInt8(ascii: ","),
                                    baseType: row["base"].flatMap { UInt32($0) } ?? 0)
                types[oid] = info
                for next in [info.element, info.baseType] where next != 0 && types[next] == nil { missing.insert(next) }
            }
        }
    }

    /// The value mapping for a type: built-in, or resolved through domains
    /// to their base type and through arrays to their element type.
    func kind(of oid: UInt32, depth: Int = 0) -> PgValueKind {
        if let builtin = PgValueKind.builtin(oid: oid) { return builtin }
        guard depth < 8, let info = types[oid] else { return .text }
        if info.type == "d", info.baseType != 0 { return kind(of: info.baseType, depth: depth + 1) }
        if info.category == "A", info.element != 0 {
            let delimiter = types[info.element]?.delimiter ?? UInt8(ascii: ",")
            return .array(element: kind(of: info.element, depth: depth + 1), delimiter: delimiter)
        }
        return .text
    }
}
