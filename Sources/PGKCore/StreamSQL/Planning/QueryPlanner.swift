/// Compiles CREATE STREAM|TABLE … AS SELECT into a QueryPlan: checks
/// every name and type when the statement is created (PostgreSQL itself
/// describes the translated SELECT, so a type error surfaces here, never
/// at run time), and writes the per-batch statements.
///
/// Supported shapes: a stream filtered/projected/re-keyed (PARTITION BY),
/// a stream enriched from a table (stream-table join), a table
/// projected, two tables joined on their primary keys, and a stream or
/// table aggregated with GROUP BY. Others are rejected with the reason.
struct QueryPlanner {
    let store: CatalogStore
    let sources: [CatalogSource]
    /// The query's COLLECT_LIST/COLLECT_SET limits.
    var limits = FunctionLimits()
    /// A push query's: its rows are printed, never written in its sink's
    /// formats, so those formats' limits do not apply.
    var printsRows = false
    /// `ksql.persistence.wrap.single.values` (see SourceFormats.wrapSingleValue).
    var wrapsSingleValues = true
    static let wrapSingleValuesProperty = "ksql.persistence.wrap.single.values"

    static func wrapsSingleValues(_ properties: [String: String]) -> Bool {
        properties[wrapSingleValuesProperty]?.lowercased() != "false"
    }

    /// `ksql.persistence.default.format.key`: the key format of a source
    /// created without one, and of a keyless source's result once a join,
    /// GROUP BY or PARTITION BY gives it a key (KAFKA unless set).
    var defaultKeyFormat = "KAFKA"
    static let defaultKeyFormatProperty = "ksql.persistence.default.format.key"
    static let defaultValueFormatProperty = "ksql.persistence.default.format.value"

    static func defaultKeyFormat(_ properties: [String: String]) -> String {
        properties[defaultKeyFormatProperty]?.uppercased() ?? "KAFKA"
    }
    var connection: PostgresConnection { store.connection }


    func plan(_ create: CreateAsSelect, queryID: String, statement: String) throws -> QueryPlan {
        try store.prepareAggregates()
        let select = create.select
        if select.emitFinal && (select.window == nil || select.groupBy.isEmpty) {
            throw PlanError("EMIT FINAL needs a windowed aggregation (WINDOW … GROUP BY): only a window closes")
        }
        if let window = select.window {
            guard !select.groupBy.isEmpty else { throw PlanError("WINDOW needs GROUP BY") }
            guard window.sizeMilliseconds > 0, (window.advanceMilliseconds ?? 1) > 0,
                  (window.advanceMilliseconds ?? 0) <= window.sizeMilliseconds else {
                throw PlanError("a window's SIZE must be positive and ADVANCE BY at most its SIZE")
            }
        }
        let relations = [select.from] + select.joins.map(\.relation)
        if let repeated = relations.map(\.name).first(where: { name in relations.filter { $0.name == name }.count > 1 }) {
            throw PlanError("cannot join \(repeated) to \(repeated): self joins are not supported yet")
        }
        var inputs: [QueryPlan.Input] = []
        let prefix = queryID.lowercased()
        for (index, relation) in relations.enumerated() {
            guard let source = sources.first(where: { $0.name == relation.name }) else {
                throw PlanError("unknown stream or table \(relation.name)" + didYouMean(relation.name, among: sources.map(\.name)))
            }
            let columns = try source.columns.map { (postgresName($0.name), try PostgresType.of($0.type)) }
            inputs.append(QueryPlan.Input(
                source: source, qualifier: relation.qualifier, alias: "i\(index)",
                staging: try connection.quoteIdentifier("\(prefix)_stage_i\(index)"), state: nil,
                columns: columns, keyColumns: source.keyColumns.map(postgresName)))
        }
        if select.window != nil, inputs[0].source.isTable || inputs.dropFirst().contains(where: { !$0.source.isTable }) {
            throw PlanError("WINDOW aggregates one stream, alone or joined to tables")
        }
        let shape = try classify(select, inputs)
        let producesTable = shape == .aggregate || shape == .tableProjection || shape == .tableJoin
        if producesTable != (create.kind == .table) {
            throw PlanError("this SELECT produces a \(producesTable ? "TABLE" : "STREAM"): use CREATE "
                + "\(producesTable ? "TABLE" : "STREAM") … AS SELECT")
        }
        // Two streams joined within a window keep window buffers, aggregated or not.
        let windowJoin = shape == .streamStreamJoin || inputs.count == 2 && !inputs[1].source.isTable || Self.chainsWindowJoins(select, inputs)
        for index in inputs.indices where inputs[index].source.isTable || shape == .aggregate || shape == .streamStreamJoin {
            inputs[index].state = store.table(try connection.quoteIdentifier("\(prefix)_i\(index)"))
        }
        var setup: [QueryPlan.SQL] = []
        for input in inputs {
            let definitions = try input.columns.map { "\(try connection.quoteIdentifier($0.name)) \($0.type)" }.joined(separator: ", ")
            setup.append(.init(text: """
                CREATE TEMP TABLE IF NOT EXISTS \(input.staging) (\(definitions)\(definitions.isEmpty ? "" : ","
                ) _key bytea, _deleted boolean NOT NULL, _ts bigint, _seq bigint NOT NULL, _part integer, _off bigint) ON COMMIT DELETE ROWS
                """))
            if input.source.isTable && !input.keyColumns.isEmpty {
                // Stream-table joins look each record's table version up here.
                let index = try connection.quoteIdentifier("\(prefix)_stage_\(input.alias)_key")
                let keys = try input.keyColumns.map { try connection.quoteIdentifier($0) }.joined(separator: ", ")
                setup.append(.init(text: "CREATE INDEX IF NOT EXISTS \(index) ON \(input.staging) (\(keys))"))
            }
            if let state = input.state {
                let primaryKey = input.source.isTable
                    ? ", PRIMARY KEY (\(try input.keyColumns.map { try connection.quoteIdentifier($0) }.joined(separator: ", ")))" : ""
                // A stream-stream join's window buffer notes the records padded with NULLs.
                // Stream time is kept per partition, as Kafka Streams keeps it per task.
                let padded = windowJoin ? ", _padded boolean NOT NULL DEFAULT false, _part integer, _off bigint" : ""
                // A table's state is upserted by key: it gets room for HOT updates.
                setup.append(.init(text: "CREATE TABLE IF NOT EXISTS \(state) (\(definitions), _seq bigint NOT NULL, _ts bigint\(padded)\(primaryKey))"
                    + (input.source.isTable ? QueryPlan.rewrittenTableStorage : "")))
                if windowJoin {
                    // Buffers created before ROWOFFSET was kept lack its column.
                    setup.append(.init(text: "ALTER TABLE \(state) ADD COLUMN IF NOT EXISTS _off bigint"))
                    // The window buffer is pruned by time and marked by arrival number.
                    for (suffix, columns) in [("time", "_part, _ts"), ("seq", "_seq")] {
                        let index = try connection.quoteIdentifier("\(prefix)_i\(input.alias.dropFirst())_\(suffix)")
                        setup.append(.init(text: "CREATE INDEX IF NOT EXISTS \(index) ON \(state) (\(columns))"))
                    }
                }
            }
        }
        for statement in setup { _ = try connection.execute(statement.text) }
        let builder = PlanBuilder(planner: self, select: select, inputs: inputs, shape: shape)
        var plan = try builder.build(create: create, queryID: queryID, statement: statement, setup: setup)
        plan.joinConstants = builder.joinConstants.values
        return plan
    }

    private func classify(_ select: Select, _ inputs: [QueryPlan.Input]) throws -> QueryShape {
        if !select.groupBy.isEmpty {
            // A stream enriched from tables, tables joined, or two streams
            // joined within a window may be aggregated in the same query.
            if inputs.count == 2, !inputs[0].source.isTable, !inputs[1].source.isTable {
                guard select.joins.first?.withinMilliseconds != nil else {
                    throw PlanError("a stream-stream join needs a WITHIN clause, e.g. JOIN r WITHIN 10 SECONDS ON …")
                }
                return .aggregate
            }
            // Streams and tables joined one into the next (see Draft.windowJoinChain): their output is aggregated.
            if Self.chainsWindowJoins(select, inputs) { return .aggregate }
            guard inputs.count == 1 || inputs.dropFirst().allSatisfy(\.source.isTable) else {
                throw PlanError("GROUP BY over a JOIN is supported for a stream joined to tables and streams (within windows), or tables only")
            }
            return .aggregate
        }
        if select.having != nil { throw PlanError("HAVING needs GROUP BY") }
        if inputs.count > 2 {
            // Tables joined on their primary keys, or a stream enriched from
            // several tables, each lookup as of the record.
            if inputs.allSatisfy(\.source.isTable) { return .tableJoin }
            // A stream joined to streams within windows and to tables, each join
            // taking the pairs of those before it (two streams then tables, say).
            if Self.chainsWindowJoins(select, inputs) { return .streamStreamJoin }
            guard !inputs[0].source.isTable, inputs.dropFirst().allSatisfy(\.source.isTable) else {
                throw PlanError("several joins in one query are supported for tables, or a stream joined to tables and to streams within windows")
            }
            return .streamTableJoin
        }
        guard inputs.count == 2 else { return inputs[0].source.isTable ? .tableProjection : .streamProjection }
        switch (inputs[0].source.isTable, inputs[1].source.isTable) {
        case (true, true): return .tableJoin
        case (false, true): return .streamTableJoin
        case (true, false): throw PlanError("a table cannot be joined to a stream: put the stream on the left")
        case (false, false):
            guard select.joins.first?.withinMilliseconds != nil else {
                throw PlanError("a stream-stream join needs a WITHIN clause, e.g. JOIN r WITHIN 10 SECONDS ON …")
            }
            return .streamStreamJoin
        }
    }

    /// A stream joined to more than one source, streams among them, each
    /// stream joined WITHIN a window.
    static func chainsWindowJoins(_ select: Select, _ inputs: [QueryPlan.Input]) -> Bool {
        inputs.count > 2 && !inputs[0].source.isTable && inputs.dropFirst().contains(where: { !$0.source.isTable })
            && zip(select.joins, inputs.dropFirst()).allSatisfy({ join, input in input.source.isTable || join.withinMilliseconds != nil })
    }

    /// Output column types as PostgreSQL reports them for the SELECT.
    func describe(_ sql: QueryPlan.SQL) throws -> [(name: String, type: String)] {
        let result = try connection.query("SELECT * FROM (\(sql.text)) AS described LIMIT 0", sql.parameters)
        return try zip(result.columnNames, result.columnTypes).map { name, oid in
            let type = try connection.query("SELECT format_type($1::oid, NULL)", [String(oid)]).scalar ?? "text"
            // Literal-only columns come back as "unknown": store them as text.
            return (name, type == "unknown" ? "text" : type)
        }
    }
}

enum QueryShape { case streamProjection, streamTableJoin, streamStreamJoin, tableProjection, tableJoin, aggregate }
