import Foundation

/// The target table as the writers see it: set up (or checked) at start,
/// and for the columns map created from the first batch and evolved. It
/// turns the map into a `SinkPlan` against the table's real column types.
/// Shared by the writer threads; a lock guards the plan.
final class SinkTarget: @unchecked Sendable {
    let settings: SinkSettings
    let registry: SchemaRegistryClient?
    private let lock = NSLock()
    private(set) var info: TableInfo?
    private var plannedStatements: SinkStatements?
    /// The statements for the current plan (nil until the table exists).
    var statements: SinkStatements? { lock.withLock { plannedStatements } }
    /// DDL run so far (printed by --dry-run).
    private(set) var ddl: [String] = []
    /// The table and plan as they were before the open transaction's
    /// `prepare`: the state to return to if that transaction rolls back.
    private var beforeTransaction: (info: TableInfo?, statements: SinkStatements?)?
    private var nullsNotDistinct = true

    init(settings: SinkSettings, registry: SchemaRegistryClient?) {
        self.settings = settings
        self.registry = registry
    }

    private var table: QualifiedName { settings.table }

    /// Runs DDL, noting it first so --dry-run can show a statement that fails.
    private func run(_ connection: PostgresConnection, _ sql: String) throws {
        ddl.append(sql)
        try connection.execute(sql)
    }

    /// Startup work, in the caller's transaction: pgk's offsets table,
    /// --drop/--truncate, the schema, the table (declared maps) and the
    /// dead-letter table.
    func setup(_ connection: PostgresConnection) throws {
        lock.lock()
        defer { lock.unlock() }
        nullsNotDistinct = connection.serverVersion >= 150_000
        try connection.execute(SinkOffsetStore.setupLock)
        if try connection.query("SELECT to_regclass('pgk.sink_offsets')").scalar == nil {
            for statement in SinkOffsetStore.setupStatements { try run(connection, statement) }
        }
        let tableSQL = try table.sql(on: connection)
        if settings.drop {
            try run(connection, "DROP TABLE IF EXISTS \(tableSQL)")
            try SinkOffsetStore.reset(connection, group: settings.group)
        }
        if let schema = table.schema, try !schemaExists(connection, schema) {
            try run(connection, TableDDL.createSchema(schema, quote: connection.quoteIdentifier))
        }
        info = try TableIntrospection.inspect(connection, table)
        if settings.truncate, info != nil {
            try run(connection, "TRUNCATE \(tableSQL)")
            try SinkOffsetStore.reset(connection, group: settings.group)
        }
        if info == nil {
            guard settings.create else {
                throw RuntimeError("table \(table) does not exist, and --no-create forbids creating it")
            }
            if settings.map.layout == .declared {
                for statement in try TableDDL.createTable(tableSQL, map: settings.map, conflict: settings.conflictColumns,
                                                          nullsNotDistinct: nullsNotDistinct,
                                                          quote: connection.quoteIdentifier) {
                    try run(connection, statement)
                }
                info = try TableIntrospection.inspect(connection, table)
            }
        }
        if case .table(let errors) = settings.deadLetter, settings.onError == .deadLetter {
            if let schema = errors.schema, try !schemaExists(connection, schema) {
                try run(connection, TableDDL.createSchema(schema, quote: connection.quoteIdentifier))
            }
            if try TableIntrospection.inspect(connection, errors) == nil {
                try run(connection, TableDDL.createErrors(try errors.sql(on: connection)))
            }
        }
        if let info { try plan(connection, info) }
    }

    private func schemaExists(_ connection: PostgresConnection, _ schema: String) throws -> Bool {
        try connection.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]).count > 0
    }

    /// Called in each batch's transaction once the batch is staged: creates
    /// or evolves a columns-map table, and counts fields without a column.
    func prepare(_ connection: PostgresConnection, batch: StagedBatch) throws -> [String: Int] {
        guard settings.map.layout == .columns else { return [:] }
        lock.lock()
        defer { lock.unlock() }
        if beforeTransaction == nil { beforeTransaction = (info, plannedStatements) }
        if info == nil { try createColumnsTable(connection, batch: batch) }
        guard let current = info else { return [:] }
        var unknown = try unknownFields(connection, known: current.columns.map(\.name))
        if settings.evolve && !unknown.isEmpty {
            let tableSQL = try table.sql(on: connection)
            for (name, type) in try inferColumns(connection) where unknown[name] != nil {
                try run(connection, "ALTER TABLE \(tableSQL) ADD COLUMN IF NOT EXISTS \(try connection.quoteIdentifier(name)) \(type)")
                Log.info("sink: added column \(name) \(type) to \(table) (--evolve)")
            }
            info = try TableIntrospection.inspect(connection, table)
            try plan(connection, info!)
            unknown = try unknownFields(connection, known: info!.columns.map(\.name))
        }
        return unknown
    }

    /// The batch's transaction ended. After a rollback, DDL that `prepare`
    /// ran is gone, so the table and plan it recorded are forgotten too:
    /// the retry creates or evolves the table again.
    func transactionEnded(committed: Bool) {
        lock.withLock {
            if !committed, let saved = beforeTransaction {
                info = saved.info
                plannedStatements = saved.statements
            }
            beforeTransaction = nil
        }
    }

    private func unknownFields(_ connection: PostgresConnection, known: [String]) throws -> [String: Int] {
        var result: [String: Int] = [:]
        for row in try connection.query(ColumnsLayout.unknownFieldsQuery, [PostgresTextArray.literal(known)]).rows {
            if let name = row[0], let count = row[1].flatMap({ Int($0) }) { result[name] = count }
        }
        return result
    }

    private func inferColumns(_ connection: PostgresConnection) throws -> [(name: String, type: String)] {
        try connection.query(ColumnsLayout.inferenceQuery).rows.compactMap { row in
            guard let name = row[0] else { return nil }
            let kinds = Set((row[1] ?? "").split(separator: ",").map(String.init))
            return (name, ColumnsLayout.inferredType(kinds: kinds, integral: row[2] != "f"))
        }
    }

    private func createColumnsTable(_ connection: PostgresConnection, batch: StagedBatch) throws {
        try connection.execute(SinkOffsetStore.setupLock)
        if let existing = try TableIntrospection.inspect(connection, table) {
            info = existing
            return try plan(connection, existing)
        }
        var columns: [MapColumn] = []
        if let id = batch.avroSchemaID, let registry, let schema = try? registry.schema(id: id),
           let fromSchema = ColumnsLayout.avroColumns(schemaJSON: schema.text) {
            columns = fromSchema
        } else {
            columns = try inferColumns(connection).map { MapColumn(name: $0.name, type: $0.type, expression: "") }
        }
        guard !columns.isEmpty else {
            throw RuntimeError("cannot create \(table) for the columns map: the first batch has no JSON object "
                + "fields to make columns of; create the table first or use a YAML map")
        }
        for key in settings.conflictColumns where !columns.contains(where: { $0.name == key }) {
            throw RuntimeError("--key-columns names '\(key)', which the first batch's values do not have")
        }
        var map = settings.map
        map.columns = columns
        let tableSQL = try table.sql(on: connection)
        for statement in try TableDDL.createTable(tableSQL, map: map, conflict: settings.conflictColumns,
                                                  nullsNotDistinct: nullsNotDistinct, quote: connection.quoteIdentifier) {
            try run(connection, statement)
        }
        info = try TableIntrospection.inspect(connection, table)
        try plan(connection, info!)
    }

    /// Binds the map to the table's actual columns.
    private func plan(_ connection: PostgresConnection, _ info: TableInfo) throws {
        let map = settings.map.layout == .columns ? ColumnsLayout.resolve(settings.map, table: info) : settings.map
        let written = try map.writtenColumns.map { column -> SinkPlan.Written in
            guard let actual = info.column(named: column.name) else {
                throw RuntimeError("table \(table) has no column \"\(column.name)\", which map \(map.name) writes; "
                    + "fix the map, or recreate the table with --drop")
            }
            return SinkPlan.Written(column: column.name, type: actual.type, expression: column.expression!)
        }
        let keys = try settings.conflictColumns.map { name -> SinkPlan.Key in
            guard let actual = info.column(named: name) else {
                throw RuntimeError("key column \"\(name)\" is not a column of \(table)")
            }
            return SinkPlan.Key(column: name, type: actual.type)
        }
        let mode = settings.effectiveMode
        if (mode == .upsert || (mode == .ignore && !keys.isEmpty)) && !info.hasUniqueKey(keys.map(\.column)) {
            throw RuntimeError("\(mode.rawValue) needs a unique index or primary key on exactly ("
                + keys.map(\.column).joined(separator: ", ") + ") of \(table); create one, or choose other --key-columns")
        }
        let writtenNames = Set(written.map(\.column))
        if mode == .update && written.allSatisfy({ keys.map(\.column).contains($0.column) }) {
            throw RuntimeError("--mode update: map \(map.name) writes no column besides the key columns")
        }
        let direct = (map.direct ?? DirectColumn.bare(written)).flatMap { columns -> [DirectColumn]? in
            guard mode == .insert, map.checks.isEmpty, map.filter == nil,
                  columns.allSatisfy({ writtenNames.contains($0.column) }) else { return nil }
            return columns
        }
        let plan = SinkPlan(table: table, written: written, keys: keys, mode: mode, checks: map.checks,
                            filter: map.filter, tombstones: settings.effectiveTombstonePolicy, direct: direct)
        plannedStatements = try SinkStatements(plan: plan, quote: connection.quoteIdentifier)
    }
}
