/// A map bound to an existing table: what the writer executes per batch.
struct SinkPlan: Sendable, Equatable {
    struct Written: Sendable, Equatable {
        var column: String
        /// The column's type as PostgreSQL formats it (format_type).
        var type: String
        var expression: String
        init(column: String, type: String, expression: String) {
            self.column = column
            self.type = type
            self.expression = expression
        }
    }

    struct Key: Sendable, Equatable {
        var column: String
        var type: String
        init(column: String, type: String) {
            self.column = column
            self.type = type
        }
    }

    var table: QualifiedName
    var written: [Written]
    /// The conflict target, which tombstones are matched on too.
    var keys: [Key]
    var mode: SinkMode
    var checks: [MapCheck]
    var filter: String?
    var tombstones: TombstonePolicy
    /// Set when COPY can write the batch straight into the table.
    var direct: [DirectColumn]?

    init(table: QualifiedName, written: [Written], keys: [Key], mode: SinkMode, checks: [MapCheck] = [],
                filter: String? = nil, tombstones: TombstonePolicy = .skip, direct: [DirectColumn]? = nil) {
        self.table = table
        self.written = written
        self.keys = keys
        self.mode = mode
        self.checks = checks
        self.filter = filter
        self.tombstones = tombstones
        self.direct = direct
    }

    /// Whether rows need screening (filter, checks) before the write.
    var screens: Bool { filter != nil || !checks.isEmpty }
}

/// The SQL for one plan. Pure: identifiers are quoted by the function the
/// caller passes (libpq's PQescapeIdentifier in production). Statements
/// that work on a slice of the staging table take `$1` (first ord) and
/// `$2` (end ord, exclusive), so failing rows can be isolated by bisection.
struct SinkStatements: Sendable {
    let plan: SinkPlan
    let tableSQL: String
    private let quoted: [String: String]

    static let stagingTable = "pg_temp.pgk_staging"
    static let ordAlias = "pgk_ord__"

    /// Per connection. `value` is jsonb, so map expressions see jsonb; the
    /// decode stage guarantees every staged value is jsonb-valid, so the
    /// COPY itself cannot fail on data. Rows vanish at each commit. The
    /// `timestamp` column is only computed (from the Kafka milliseconds)
    /// when the map uses it.
    static func createStaging(timestamp: Bool) -> String {
        let computed = timestamp
            ? "\"timestamp\" timestamptz GENERATED ALWAYS AS (to_timestamp(ts_ms::float8 / 1000)) STORED, " : ""
        return """
            CREATE TEMP TABLE IF NOT EXISTS pgk_staging (
                ord integer NOT NULL, key text, value jsonb, topic text, partition integer, "offset" bigint,
                ts_ms bigint, \(computed)headers jsonb, key_is_object boolean NOT NULL DEFAULT false
            ) ON COMMIT DELETE ROWS
            """
    }

    static func copyStaging(_ fields: [StagingField]) -> String {
        "COPY pg_temp.pgk_staging (" + fields.map(\.column).joined(separator: ", ") + ") FROM STDIN"
    }

    /// Created only when a batch needs bisection, dropped with the batch.
    static let indexStaging = "CREATE INDEX IF NOT EXISTS pgk_staging_ord ON pg_temp.pgk_staging (ord)"
    static let dropStagingIndex = "DROP INDEX IF EXISTS pg_temp.pgk_staging_ord"

    init(plan: SinkPlan, quote: (String) throws -> String) throws {
        self.plan = plan
        var names: [String: String] = [:]
        for name in plan.written.map(\.column) + plan.keys.map(\.column) + (plan.direct?.map(\.column) ?? []) {
            names[name] = try quote(name)
        }
        quoted = names
        let name = try quote(plan.table.name)
        tableSQL = try plan.table.schema.map { try quote($0) + "." + name } ?? name
    }

    private func q(_ column: String) -> String { quoted[column]! }

    private let range = "ord >= $1 AND ord < $2"
    private func range(_ alias: String) -> String { "\(alias).ord >= $1 AND \(alias).ord < $2" }

    /// `CAST((expr) AS type)`: explicit, so `value->>'n'` fits an integer
    /// column, and a bad value fails per row (22P02), not per statement.
    private func cast(_ written: SinkPlan.Written) -> String {
        "CAST((\(written.expression)) AS \(written.type))"
    }

    // MARK: screening

    /// Deletes the slice's rows that the filter rejects (check index NULL)
    /// or that fail a check (1-based check index), returning them.
    var screen: String? {
        guard plan.screens else { return nil }
        var conditions: [String] = []
        var cases: [String] = []
        if let filter = plan.filter {
            conditions.append("coalesce((\(filter)), false)")
            cases.append("WHEN NOT coalesce((\(filter)), false) THEN NULL")
        }
        for (index, check) in plan.checks.enumerated() {
            conditions.append("coalesce((\(check.expression)), false)")
            cases.append("WHEN NOT coalesce((\(check.expression)), false) THEN \(index + 1)")
        }
        return "DELETE FROM \(Self.stagingTable) WHERE \(range) AND value IS NOT NULL AND NOT ("
            + conditions.joined(separator: " AND ") + ") RETURNING ord, CASE " + cases.joined(separator: " ")
            + " END AS failed_check"
    }

    // MARK: tombstones

    /// The key column's value a tombstone names: a field of a JSON object
    /// key, else the whole key (for a single key column).
    private func tombstoneKey(_ key: SinkPlan.Key, from alias: String) -> String {
        let field = "(\(alias).key::jsonb ->> \(Self.literal(key.column)))"
        let whole = plan.keys.count == 1 ? "\(alias).key" : "NULL"
        return "CAST((CASE WHEN \(alias).key_is_object THEN \(field) ELSE \(whole) END) AS \(key.type))"
    }

    /// Deletes the table rows that the slice's tombstones name.
    var deleteTombstoned: String? {
        guard plan.tombstones == .delete, !plan.keys.isEmpty else { return nil }
        let keys = plan.keys.map { "\(tombstoneKey($0, from: "x")) AS \(q($0.column))" }.joined(separator: ", ")
        let match = plan.keys.map { "t.\(q($0.column)) = k.\(q($0.column))" }.joined(separator: " AND ")
        return "DELETE FROM \(tableSQL) AS t USING (SELECT DISTINCT \(keys) FROM \(Self.stagingTable) x "
            + "WHERE \(range("x")) AND x.value IS NULL) k WHERE \(match)"
    }

    /// True when a later tombstone in the slice names this mapped row.
    private var deletedLater: String {
        let match = plan.keys.map { "\(tombstoneKey($0, from: "x")) = d.\(q($0.column))" }.joined(separator: " AND ")
        return "EXISTS (SELECT 1 FROM \(Self.stagingTable) x WHERE \(range("x")) AND x.value IS NULL "
            + "AND x.ord > d.\(Self.ordAlias) AND \(match))"
    }

    // MARK: writing

    /// The write for one slice. `compact` keeps only the last row per key
    /// (needed for upsert/update when a key repeats, and whenever
    /// tombstones are in the slice, whose order then matters).
    func write(compact: Bool, tombstones: Bool) -> String {
        let columns = plan.written.map { q($0.column) }.joined(separator: ", ")
        let useTombstones = tombstones && plan.tombstones == .delete && !plan.keys.isEmpty
        if !compact && !useTombstones && plan.mode != .update {
            let values = plan.written.map(cast).joined(separator: ", ")
            return "INSERT INTO \(tableSQL) (\(columns)) SELECT \(values) FROM \(Self.stagingTable) "
                + "WHERE \(range) AND value IS NOT NULL" + conflictClause
        }
        let mapped = plan.written.map { "\(cast($0)) AS \(q($0.column))" }.joined(separator: ", ")
        var sql = "WITH m AS (SELECT \(mapped), ord AS \(Self.ordAlias) FROM \(Self.stagingTable) "
            + "WHERE \(range) AND value IS NOT NULL), "
        let keyList = plan.keys.map { q($0.column) }.joined(separator: ", ")
        let deduplicate = (plan.mode == .upsert || plan.mode == .update) && !plan.keys.isEmpty
        if deduplicate {
            sql += "d AS (SELECT DISTINCT ON (\(keyList)) * FROM m ORDER BY \(keyList), \(Self.ordAlias) DESC) "
        } else {
            sql += "d AS (SELECT * FROM m) "
        }
        let keep = useTombstones ? " WHERE NOT \(deletedLater)" : ""
        if plan.mode == .update {
            let keySet = Set(plan.keys.map(\.column))
            let assignments = plan.written.filter { !keySet.contains($0.column) }
                .map { "\(q($0.column)) = d.\(q($0.column))" }.joined(separator: ", ")
            let match = plan.keys.map { "t.\(q($0.column)) = d.\(q($0.column))" }.joined(separator: " AND ")
            return sql + "UPDATE \(tableSQL) AS t SET \(assignments) FROM d WHERE \(match)"
                + (useTombstones ? " AND NOT \(deletedLater)" : "")
        }
        return sql + "INSERT INTO \(tableSQL) (\(columns)) SELECT \(columns) FROM d\(keep)"
            + conflictClause
    }

    private var conflictClause: String {
        let keySet = Set(plan.keys.map(\.column))
        let target = plan.keys.isEmpty ? "" : " (" + plan.keys.map { q($0.column) }.joined(separator: ", ") + ")"
        switch plan.mode {
        case .insert, .update:
            return ""
        case .ignore:
            return " ON CONFLICT\(target) DO NOTHING"
        case .upsert:
            let updates = plan.written.filter { !keySet.contains($0.column) }
            guard !updates.isEmpty else { return " ON CONFLICT\(target) DO NOTHING" }
            return " ON CONFLICT\(target) DO UPDATE SET "
                + updates.map { "\(q($0.column)) = EXCLUDED.\(q($0.column))" }.joined(separator: ", ")
        }
    }

    /// COPY straight into the table (built-in maps in insert mode).
    var directCopy: String? {
        guard let direct = plan.direct else { return nil }
        return "COPY \(tableSQL) (" + direct.map { q($0.column) }.joined(separator: ", ") + ") FROM STDIN"
    }

    /// For --dry-run: the mapped rows as JSON, cast to their column types.
    var preview: String {
        let mapped = plan.written.map { "\(cast($0)) AS \(q($0.column))" }.joined(separator: ", ")
        let conditions = (plan.filter.map { [$0] } ?? []) + plan.checks.map(\.expression)
        let filter = conditions.map { " AND coalesce((\($0)), false)" }.joined()
        return "SELECT row_to_json(r)::text FROM (SELECT \(mapped) FROM \(Self.stagingTable) "
            + "WHERE value IS NOT NULL\(filter) ORDER BY ord) r"
    }

    /// A SQL string literal for names that arrive in messages (field names
    /// of the columns map), quoted as PQescapeLiteral does: `'` doubled, and
    /// with a backslash present an escape string (E'') with `\` doubled,
    /// which reads the same whatever `standard_conforming_strings` says.
    static func literal(_ text: String) -> String {
        let quoted = text.replacingOccurrences(of: "'", with: "''")
        guard text.contains("\\") else { return "'" + quoted + "'" }
        return "E'" + quoted.replacingOccurrences(of: "\\", with: "\\\\") + "'"
    }
}

/// A column of the staging table that COPY fills. Only the ones a map's
/// SQL mentions are sent: every column COPY parses costs PostgreSQL time.
enum StagingField: String, Sendable, CaseIterable {
    case ord, key, value, topic, partition, offset, timestamp, headers, keyIsObject

    var column: String {
        switch self {
        case .offset: return "\"offset\""
        case .timestamp: return "ts_ms"
        case .keyIsObject: return "key_is_object"
        default: return rawValue
        }
    }

    /// The inputs `map`'s expressions, checks and filter refer to, found by
    /// a conservative word scan (a false match only sends a column more).
    static func referenced(by map: SinkMap) -> Set<StagingField> {
        guard map.layout == .declared else { return [.ord, .value] }
        let texts = map.columns.compactMap(\.expression) + map.checks.map(\.expression) + (map.filter.map { [$0] } ?? [])
        var words = Set<String>()
        for text in texts {
            var word = ""
            for character in text.lowercased() {
                if character.isLetter || character.isNumber || character == "_" {
                    word.append(character)
                } else if !word.isEmpty {
                    words.insert(word)
                    word = ""
                }
            }
            if !word.isEmpty { words.insert(word) }
        }
        // A whole-row reference to the staging table needs every column.
        if words.contains("pgk_staging") { return Set(allCases) }
        var fields: Set<StagingField> = [.ord, .value]
        for field in [StagingField.key, .topic, .partition, .offset, .timestamp, .headers] where words.contains(field.rawValue) {
            fields.insert(field)
        }
        return fields
    }

    /// The columns to COPY for a batch, in a fixed order.
    static func forBatch(_ referenced: Set<StagingField>, tombstones: Bool) -> [StagingField] {
        var fields = referenced
        if tombstones { fields.formUnion([.key, .keyIsObject]) }
        return allCases.filter { fields.contains($0) }
    }
}
