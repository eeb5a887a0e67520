/// The statements of one plan, written by shape (see PlanBuilder).
struct Draft {
    let builder: PlanBuilder
    let items: [PlanBuilder.Item]
    /// `expr AS "name"` per output column.
    let projection: [String]
    /// The literals `projection` binds, numbered from $1; later
    /// translations continue after them.
    let projectionParameters: [String?]
    /// PostgreSQL names of the output key columns.
    let keyNames: [String]
    /// How many rows each table function of the projection gives a record.
    var tableFunctionRows: [String] = []

    private func translator() -> ExpressionTranslator { builder.translator(offset: projectionParameters.count) }

    var planner: QueryPlanner { builder.planner }
    var inputs: [QueryPlan.Input] { builder.inputs }
    var select: Select { builder.select }
    func quote(_ name: String) throws -> String { try planner.connection.quoteIdentifier(name) }

    // MARK: streams

    func stream(queryID: String, sink: CatalogSource, setup inputSetup: [QueryPlan.SQL]) throws -> QueryPlan {
        var setup = inputSetup
        var from = "\(inputs[0].staging) AS i0"
        var quietFrom: String?
        var batch: [QueryPlan.SQL] = [], afterOutput: [QueryPlan.SQL] = []
        var translator = translator()
        let condition = try select.filter.map { try translator.sql($0) }
        let filter = condition.map { " AND \($0)" } ?? ""
        // A null record of the stream goes on with a null value through a
        // projection without WHERE, re-keyed by PARTITION BY, as ksqlDB
        // passes it; a WHERE, a join or an aggregation drops it.
        let forwardsNulls = builder.shape == .streamProjection && select.filter == nil
        // A record's exploded rows keep their order: numbered alongside, in lockstep.
        let ordinal = tableFunctionRows.isEmpty ? ""
            : ", generate_series(1, greatest(\(tableFunctionRows.joined(separator: ", ")))) AS _pgk_ord"
        // A stream-stream join's matches of one record come in the order of the records matched (_pgk_ord).
        let order = tableFunctionRows.isEmpty && builder.shape != .streamStreamJoin ? "o._pgk_seq, o._pgk_ts" : "o._pgk_seq, o._pgk_ord, o._pgk_ts"
        // A result without key columns has a null key, as in ksqlDB,
        // unless it left out its stream's key columns: then the key goes on.
        let keepsInputKey = builder.shape == .streamProjection && select.partitionBy.isEmpty && !inputs[0].source.keyColumns.isEmpty
        func selecting(from: String) -> String {
            "SELECT \(projection.joined(separator: ", "))\(ordinal), \(keyNames.isEmpty && !keepsInputKey ? "NULL::bytea" : "i0._key") AS _pgk_raw_key, "
                + "i0._seq AS _pgk_seq, i0._ts AS _pgk_ts, "
                + "i0._deleted AS _pgk_null FROM \(from) WHERE \(forwardsNulls ? "true" : "NOT i0._deleted")\(filter)"
        }
        var inner = ""
        if builder.shape == .streamStreamJoin, let join = select.joins.first {
            let parts = builder.isWindowJoinChain ? try windowJoinChain(queryID: queryID, filter: condition)
                : try streamStreamJoin(join, queryID: queryID, filter: condition)
            (inner, afterOutput) = (parts.select, parts.afterOutput)
            // Tables joined to the pairs fold their changes in after the pairs saw their versions.
            for table in inputs.dropFirst() where table.source.isTable { afterOutput += try applyTableChanges(table) }
            batch += parts.batch
            setup += parts.setup
        } else {
            if inputs.count >= 2 {
                (quietFrom, from) = try tableJoins(from)
                // The tables' changes fold into their state only after the
                // stream records of the batch have seen their own versions.
                for table in inputs.dropFirst() { afterOutput += try applyTableChanges(table) }
            }
            inner = selecting(from: from)
        }
        // Describing binds the same literals the real statement does.
        let projected = projectionParameters
        let described = try planner.describe(.init(text: inner, parameters: projected + translator.parameters))
            .filter { !$0.name.hasPrefix("_pgk_") }
        let parameters = projected + translator.parameters
        let typedSink = try typed(sink, described)
        let isNull = forwardsNulls ? "o._pgk_null" : "false"
        var emit = QueryPlan.SQL(
            text: "SELECT to_jsonb(o.*) - '_pgk_raw_key' - '_pgk_seq' - '_pgk_ts' - '_pgk_null' - '_pgk_ord', o._pgk_raw_key, NULL, o._pgk_ts, \(isNull) "
                + "FROM (\(inner)) AS o ORDER BY \(order)",
            parameters: parameters)
        var emitsValueText = false
        // JSON values without DOUBLE columns are built by PostgreSQL as
        // the final text (upper-case names as parameters), skipping a parse
        // and a render per row; doubles go through pgk, which keeps 1.0 a double.
        let valueColumns = described.filter { column in
            !keyNames.contains(column.name) || typedSink.valueColumns.contains { postgresName($0.name) == column.name }
        }
        // jsonb (structs, maps) renders with spaces, and times and bytes as
        // PostgreSQL text: pgk writes those as ksqlDB does.
        let renderedByPGK = ["double precision", "real", "numeric", "jsonb", "timestamp without time zone", "date",
                             "time without time zone", "bytea"]
        // Arrays of those too (a double[] would lose its ".0", a jsonb[] gain spaces).
        let needsPGK = { (type: String) in renderedByPGK.contains(type.hasSuffix("[]") ? String(type.dropLast(2)) : type) }
        if typedSink.valueFormat == "JSON", typedSink.wrapSingleValue, !valueColumns.contains(where: { needsPGK($0.type) }) {
            // Compact, as ksqlDB writes it: `{"NAME":value,…}`, each name
            // (with its quote, colon and comma) a parameter.
            var fields: [String] = [], names: [String?] = []
            for (index, column) in valueColumns.enumerated() {
                let name = typedSink.columns.first { postgresName($0.name) == column.name }?.name ?? column.name
                names.append((index == 0 ? "{" : ",") + JSON.encode(.string(name)) + ":")
                // An integer's text is its JSON already; to_json costs a conversion per row.
                let columnSQL = "o.\(try quote(column.name))"
                let json = ["integer", "bigint", "smallint"].contains(column.type) ? "\(columnSQL)::text" : "to_json(\(columnSQL))::text"
                fields.append("$\(parameters.count + names.count)::text || coalesce(\(json), 'null')")
            }
            let valueText = fields.isEmpty ? "'{}'" : fields.joined(separator: " || ") + " || '}'"
            var rawKey = "o._pgk_raw_key", keyObject = "NULL"
            if let encoded = try kafkaKeyBytes(typedSink, described) {
                rawKey = encoded
            } else if !keyNames.isEmpty {
                let keys = try keyNames.map { key -> String in
                    names.append(key)
                    return "$\(parameters.count + names.count)::text, o.\(try quote(key))"
                }
                keyObject = "json_build_object(\(keys.joined(separator: ", ")))::text"
            }
            emit = QueryPlan.SQL(
                text: "SELECT \(valueText), \(rawKey), \(keyObject), o._pgk_ts, \(isNull) "
                    + "FROM (\(inner)) AS o ORDER BY \(order)",
                parameters: parameters + names)
            emitsValueText = true
        }
        var plan = QueryPlan(queryID: queryID, inputs: inputs, output: .stream(emit: emit, valueText: emitsValueText), setup: setup,
                             batch: batch, sink: typedSink, outputColumns: described, outputKeys: keyNames, afterOutput: afterOutput)
        if let quietFrom {
            plan.emitWithoutTableChanges = QueryPlan.SQL(text: emit.text.replacingOccurrences(of: inner, with: selecting(from: quietFrom)),
                                                         parameters: emit.parameters)
        }
        return plan
    }

    /// A single KAFKA-format key column encoded by PostgreSQL: its send
    /// functions write the same big-endian bytes (UTF-8 for text) as
    /// ksqlDB, sparing pgk a JSON round trip per row.
    private func kafkaKeyBytes(_ sink: CatalogSource, _ described: [(name: String, type: String)]) throws -> String? {
        guard sink.keyFormat == "KAFKA", keyNames.count == 1, let key = keyNames.first,
              let type = described.first(where: { $0.name == key })?.type else { return nil }
        let column = "o.\(try quote(key))"
        switch type {
        case "text", "character varying": return "convert_to(\(column), 'UTF8')"
        case "integer": return "int4send(\(column))"
        case "bigint": return "int8send(\(column))"
        case "double precision": return "float8send(\(column))"
        default: return nil
        }
    }

    /// A stream-table join two ways: against the table's state, for a
    /// batch without table changes, and record by record (see below).
    func tableJoins(_ stream: String) throws -> (quiet: String, versioned: String) {
        var quiet = stream, versioned = stream
        for (index, join) in select.joins.enumerated() {
            let table = inputs[index + 1]
            guard let state = table.state else { throw PlanError("internal: no state table for \(table.source.name)") }
            var translator = builder.joinTranslator()
            let condition = try translator.sql(join.condition)
            quiet += " \(join.kind == .inner ? "JOIN" : "LEFT JOIN") \(state) AS \(table.alias) ON \(condition)"
            versioned += try tableVersionJoin(join, table)
        }
        return (quiet, versioned)
    }

    /// A stream-table join where each stream record sees the table as it
    /// stood at that record: the batch's latest change to the row at or
    /// before the record's timestamp (a tie goes to the table, as when
    /// the table record came first), else the state before the batch.
    /// A tombstone there means no row.
    func tableVersionJoin(_ join: Join, _ table: QueryPlan.Input, time: String = "i0._ts") throws -> String {
        guard let state = table.state else { throw PlanError("internal: no state table for \(table.source.name)") }
        var translator = builder.joinTranslator()
        let condition = try translator.sql(join.condition)
        let columns = try (table.columns.map { try quote($0.name) } + ["_ts", "_seq"]).joined(separator: ", ")
        let alias = table.alias
        let version = """
            SELECT * FROM (
              SELECT \(columns), _deleted FROM \(table.staging) AS \(alias) WHERE \(condition) AND coalesce(\(alias)._ts <= \(time), true)
              UNION ALL SELECT \(columns), false FROM \(state) AS \(alias) WHERE \(condition)) AS v
            ORDER BY v._seq DESC LIMIT 1
            """
        return " \(join.kind == .inner ? "JOIN" : "LEFT JOIN") LATERAL (\(version)) AS \(alias) ON NOT \(alias)._deleted"
    }

    // MARK: tables

    func table(queryID: String, sink: CatalogSource, setup inputSetup: [QueryPlan.SQL]) throws -> QueryPlan {
        if builder.shape == .aggregate && !inputs[0].source.isTable,
           let plan = try accumulatingAggregate(queryID: queryID, sink: sink, setup: inputSetup) {
            return plan
        }
        if builder.shape == .aggregate && inputs.count > 1 && !inputs[0].source.isTable {
            throw PlanError("GROUP BY over a join supports COUNT, COUNT_DISTINCT, SUM, AVG, MIN, MAX, "
                + "LATEST_BY_OFFSET, EARLIEST_BY_OFFSET, COLLECT_LIST and COLLECT_SET")
        }
        if select.window != nil {
            throw PlanError(inputs[0].source.isTable ? "WINDOW aggregates a stream, not a table"
                : "this windowed aggregation cannot be planned")
        }
        let from = try recomputeSource().from
        var translator = translator()
        var conditions: [String] = []
        if let filter = select.filter { conditions.append(try translator.sql(filter)) }
        var groupBy = ""
        if builder.shape == .aggregate {
            let groups = try select.groupBy.map { try translator.sql($0) }
            // ksqlDB drops records whose grouping key is NULL.
            conditions += groups.map { "\($0) IS NOT NULL" }
            // By the SELECT's position where the group is an item: its
            // literals are other parameters than the GROUP BY's, and
            // PostgreSQL would not see the two as one expression.
            let positions = zip(select.groupBy, groups).map { group, sql in
                items.firstIndex { builder.sameColumn($0.expression, group) }.map { String($0 + 1) } ?? sql
            }
            groupBy = " GROUP BY " + positions.joined(separator: ", ")
            if let having = select.having { groupBy += " HAVING \(try translator.sql(having))" }
        }
        let parameters = projectionParameters + translator.parameters
        func recompute(_ extra: [String]) -> String {
            let all = conditions + extra
            return "SELECT \(projection.joined(separator: ", ")) FROM \(from)"
                + (all.isEmpty ? "" : " WHERE " + all.joined(separator: " AND ")) + groupBy
        }
        let described = try planner.describe(.init(text: recompute([]), parameters: parameters))
        let resultTable = try resultTableName(sink.name)
        let affected = try quote("\(queryID.lowercased())_affected")
        let keyList = try keyNames.map { try quote($0) }.joined(separator: ", ")
        let keyTypes = try keyNames.map { key in
            "\(try quote(key)) \(described.first { $0.name == key }?.type ?? "text")"
        }.joined(separator: ", ")
        let definitions = try described.map { "\(try quote($0.name)) \(resultColumnType($0))" }.joined(separator: ", ")
        var setup = inputSetup
        setup.append(.init(text: "CREATE TEMP TABLE IF NOT EXISTS \(affected) (\(keyTypes)) ON COMMIT DELETE ROWS"))
        setup.append(.init(text: "CREATE TABLE IF NOT EXISTS \(resultTable) (\(definitions), PRIMARY KEY (\(keyList)))"
            + QueryPlan.rewrittenTableStorage))
        for statement in setup.suffix(2) { _ = try planner.connection.execute(statement.text) }

        var batch = try collectAffected(into: affected)
        let columnList = try described.map { try quote($0.name) }.joined(separator: ", ")
        batch.append(.init(text: "DELETE FROM \(resultTable) WHERE (\(keyList)) IN (SELECT \(keyList) FROM \(affected))"))
        // The grouping expressions' literals number on after each statement's own.
        let inRecompute = try recomputeSource(parameterOffset: parameters.count)
        batch.append(.init(text: "INSERT INTO \(resultTable) (\(columnList)) "
            + recompute(["(\(inRecompute.affected)) IN (SELECT \(keyList) FROM \(affected))"]),
                           parameters: parameters + inRecompute.parameters))
        if builder.shape == .aggregate && inputs[0].source.isTable {
            batch.append(try emptyGroups(resultTable: resultTable, affected: affected, columns: described))
        }
        // The latest event time among the rows behind the key, else (a
        // deleted key) the batch's latest.
        let rowTimes = inputs.map { "\($0.alias)._ts" }
        let latestRow = rowTimes.count == 1 ? rowTimes[0] : "greatest(\(rowTimes.joined(separator: ", ")))"
        let batchLatest = inputs.map { "(SELECT max(_ts) FROM \($0.staging))" }
        let affectedKeys = try keyNames.map { "a.\(try quote($0))" }.joined(separator: ", ")
        let inChangelog = try recomputeSource(parameterOffset: 2)
        let timestamp = "coalesce((SELECT max(\(latestRow)) FROM \(from) WHERE (\(inChangelog.affected)) = (\(affectedKeys))), "
            + (batchLatest.count == 1 ? batchLatest[0] : "greatest(\(batchLatest.joined(separator: ", ")))") + ")"
        var queued = try changelog(queryID: queryID, topic: sink.topic, resultTable: resultTable, affected: affected, timestamp: timestamp)
        queued.parameters += inChangelog.parameters
        batch.append(queued)
        var typedSink = try typed(sink, described)
        typedSink.resultTable = resultTable
        return QueryPlan(queryID: queryID, inputs: inputs, output: .table(table: resultTable), setup: setup,
                         batch: batch, sink: typedSink, outputColumns: described, outputKeys: keyNames)
    }

    /// The FROM clause over state tables, the expression(s) matched against
    /// the affected keys, and the literals those bind (numbered from
    /// `parameterOffset` + 1).
    func recomputeSource(parameterOffset: Int = 0) throws -> (from: String, affected: String, parameters: [String?]) {
        guard let state0 = inputs[0].state else { throw PlanError("internal: no state table for \(inputs[0].source.name)") }
        switch builder.shape {
        case .aggregate:
            var translator = builder.translator(offset: parameterOffset)
            let groups = try select.groupBy.map { try translator.sql($0) }
            // Tables joined, then grouped: the join of their states.
            let from = inputs.count > 1 ? try tableJoinOfStates().from : "\(state0) AS i0"
            return (from, groups.joined(separator: ", "), translator.parameters)
        case .tableProjection:
            return ("\(state0) AS i0", try inputs[0].keyColumns.map { "i0.\(try quote($0))" }.joined(separator: ", "), [])
        case .tableJoin:
            let join = try tableJoinOfStates()
            return (join.from, join.key, [])
        case .streamProjection, .streamTableJoin, .streamStreamJoin:
            throw PlanError("internal: a stream shape has no table result")
        }
    }

    /// Tables joined on keys (or a foreign key): the FROM over their
    /// states, and the result's key there.
    private func tableJoinOfStates() throws -> (from: String, key: String) {
        guard let state0 = inputs[0].state else { throw PlanError("internal: no state table for \(inputs[0].source.name)") }
        guard let join = select.joins.first, let state1 = inputs[1].state else { throw PlanError("internal: join without state") }
        let right = "i1.\(try quote(inputs[1].keyColumns[0]))"
        if let foreign = try builder.tableJoinForeignKey() {
            return ("\(state0) AS i0 \(join.kind == .inner ? "JOIN" : "LEFT JOIN") \(state1) AS i1 ON \(foreign) = \(right)",
                    "i0.\(try quote(inputs[0].keyColumns[0]))")
        }
        if inputs.count > 2 {
            let chain = try tableChain()
            return (chain.from, chain.affected)
        }
        let left = "i0.\(try quote(inputs[0].keyColumns[0]))"
        let (keyword, key): (String, String) = switch join.kind {
        case .inner: ("JOIN", left)
        case .left: ("LEFT JOIN", left)
        case .right: ("RIGHT JOIN", right)
        case .full: ("FULL JOIN", "coalesce(\(left), \(right))")
        }
        return ("\(state0) AS i0 \(keyword) \(state1) AS i1 ON \(left) = \(right)", key)
    }

    /// Several tables joined on their keys (PlanBuilder.checkTableChain):
    /// the result's key is the first key present, as all are equal.
    private func tableChain() throws -> (from: String, affected: String) {
        var from = "", keys: [String] = []
        for (index, input) in inputs.enumerated() {
            guard let state = input.state else { throw PlanError("internal: join without state") }
            keys.append("\(input.alias).\(try quote(input.keyColumns[0]))")
            guard index > 0 else {
                from = "\(state) AS \(input.alias)"
                continue
            }
            let join = select.joins[index - 1]
            var translator = builder.joinTranslator()
            let condition = try translator.sql(join.condition)
            from += " \(join.kind == .inner ? "" : join.kind.rawValue + " ")JOIN \(state) AS \(input.alias) ON \(condition)"
        }
        let outer = select.joins.contains { $0.kind == .right || $0.kind == .full }
        return (from, outer ? "coalesce(\(keys.joined(separator: ", ")))" : keys[0])
    }

    /// Statements that fill the affected-keys table and fold the batch into state.
    private func collectAffected(into affected: String) throws -> [QueryPlan.SQL] {
        var batch: [QueryPlan.SQL] = []
        let foreignKey = builder.shape == .tableJoin ? try builder.tableJoinForeignKey() : nil
        switch builder.shape {
        case .aggregate:
            let input = inputs[0]
            guard let state = input.state else { return [] }
            var translator = builder.translator()
            let groups = try select.groupBy.map { try translator.sql($0) }
            let columns = try (input.columns.map { try quote($0.name) } + ["_seq", "_ts"]).joined(separator: ", ")
            // Rows WHERE turns down belong to no group.
            let notNull = (groups.map { "\($0) IS NOT NULL" } + [try select.filter.map { try translator.sql($0) }].compactMap { $0 })
                .joined(separator: " AND ")
            if inputs.count > 1 && input.source.isTable {
                // Joined tables: the groups of joined rows a changed key
                // touches, before the batch's changes and after them.
                let from = try tableJoinOfStates().from
                let changed = try inputs.map { input in
                    let keys = try input.keyColumns.map { try quote($0) }
                    return "(\(keys.map { "\(input.alias).\($0)" }.joined(separator: ", "))) IN "
                        + "(SELECT \(keys.joined(separator: ", ")) FROM \(input.staging))"
                }.joined(separator: " OR ")
                let collect = QueryPlan.SQL(text: "INSERT INTO \(affected) SELECT DISTINCT \(groups.joined(separator: ", ")) "
                    + "FROM \(from) WHERE (\(changed)) AND \(notNull)", parameters: translator.parameters)
                batch.append(collect)
                batch += try inputs.map { try dedupe($0) }
                for input in inputs { batch += try applyTableChanges(input, deduped: true) }
                batch.append(collect)
            } else if input.source.isTable {
                let keys = try input.keyColumns.map { try quote($0) }.joined(separator: ", ")
                // Both the groups rows leave and the groups they enter change,
                // counting every change in the batch, not only each key's
                // last: a group a row passed through is affected too (and
                // ends at its starting values, as in ksqlDB).
                batch.append(.init(text: """
                    INSERT INTO \(affected) SELECT DISTINCT \(groups.joined(separator: ", ")) FROM (
                      SELECT \(columns) FROM \(state) WHERE (\(keys)) IN (SELECT \(keys) FROM \(input.staging))
                      UNION ALL SELECT \(columns) FROM \(input.staging) WHERE NOT _deleted) AS i0 WHERE \(notNull)
                    """, parameters: translator.parameters))
                batch.append(try dedupe(input))
                batch += try applyTableChanges(input, deduped: true)
            } else {
                batch.append(.init(text: "INSERT INTO \(affected) SELECT DISTINCT \(groups.joined(separator: ", ")) "
                    + "FROM \(input.staging) AS i0 WHERE NOT i0._deleted AND \(notNull)", parameters: translator.parameters))
                batch.append(.init(text: "INSERT INTO \(state) (\(columns)) SELECT \(columns) FROM \(input.staging) WHERE NOT _deleted"))
            }
        case .tableJoin where foreignKey != nil:
            // Left rows changed, and left rows pointing at a changed right
            // row (after the batch, so a changed foreign key counts too).
            let foreign = foreignKey ?? ""
            guard let leftState = inputs[0].state else { throw PlanError("internal: join without state") }
            let leftKey = try quote(inputs[0].keyColumns[0]), rightKey = try quote(inputs[1].keyColumns[0])
            batch += try inputs.map { try dedupe($0) }
            for input in inputs { batch += try applyTableChanges(input, deduped: true) }
            batch.append(.init(text: "INSERT INTO \(affected) SELECT \(leftKey) FROM \(inputs[0].staging) UNION "
                + "SELECT i0.\(leftKey) FROM \(leftState) AS i0 WHERE \(foreign) IN (SELECT \(rightKey) FROM \(inputs[1].staging))"))
        case .tableProjection, .tableJoin:
            let parts = try inputs.map { input in
                "SELECT \(try input.keyColumns.map { try quote($0) }.joined(separator: ", ")) FROM \(input.staging)"
            }
            batch += try inputs.map { try dedupe($0) }
            batch.append(.init(text: "INSERT INTO \(affected) \(parts.joined(separator: " UNION "))"))
            for input in inputs { batch += try applyTableChanges(input, deduped: true) }
        case .streamProjection, .streamTableJoin, .streamStreamJoin:
            break
        }
        return batch
    }

    /// Keeps only the last change per key in a table input's staging.
    private func dedupe(_ input: QueryPlan.Input) throws -> QueryPlan.SQL {
        // A hashed NOT IN, not a self-join: the staging table has no
        // statistics and a nested loop over a big batch is quadratic.
        let keys = try input.keyColumns.map { try quote($0) }.joined(separator: ", ")
        return .init(text: "DELETE FROM \(input.staging) WHERE _seq NOT IN (SELECT max(_seq) FROM \(input.staging) GROUP BY \(keys))")
    }

    /// Replaces state rows by the batch's last change per key (a tombstone deletes).
    func applyTableChanges(_ input: QueryPlan.Input, deduped: Bool = false) throws -> [QueryPlan.SQL] {
        guard let state = input.state else { return [] }
        let keys = try input.keyColumns.map { try quote($0) }.joined(separator: ", ")
        let columns = try (input.columns.map { try quote($0.name) } + ["_seq", "_ts"]).joined(separator: ", ")
        return (deduped ? [] : [try dedupe(input)]) + [
            .init(text: "DELETE FROM \(state) WHERE (\(keys)) IN (SELECT \(keys) FROM \(input.staging))"),
            .init(text: "INSERT INTO \(state) (\(columns)) SELECT \(columns) FROM \(input.staging) WHERE NOT _deleted"),
        ]
    }

    /// The CREATE TABLE AS SELECT's table in the current schema; one that
    /// exists and is not pgk's own is never taken over.
    func resultTableName(_ name: String) throws -> String {
        let schema = try planner.connection.query("SELECT current_schema()").scalar ?? "public"
        let qualified = "\(try quote(schema)).\(try quote(postgresName(name)))"
        let comment = try planner.connection.query(
            "SELECT c.oid IS NOT NULL, obj_description(c.oid, 'pg_class') FROM (SELECT to_regclass($1) AS oid) AS c", [qualified])
        if comment.rows.first?[0] == "t" && comment.rows.first?[1] != PlanBuilder.resultComment {
            throw PlanError("PostgreSQL already has a table \(qualified) that pgk sql does not maintain")
        }
        return qualified
    }

    /// A result table column's type: a DECIMAL item's own precision and
    /// scale, as ksqlDB types it, so that a value past them (a SUM that
    /// outgrows its DECIMAL(4,1)) is PostgreSQL's "numeric field overflow",
    /// whose records go to the dead letters, not a row the sink's format
    /// cannot hold.
    func resultColumnType(_ column: (name: String, type: String)) -> String {
        guard column.type == "numeric", let item = items.first(where: { postgresName($0.name) == column.name }),
              case .decimal(let precision, let scale)? = builder.translator().staticType(item.expression),
              (1...1000).contains(precision), (0...precision).contains(scale) else { return column.type }
        return "numeric(\(precision), \(scale))"
    }

    /// The sink's columns with the types PostgreSQL described, checked
    /// against what the sink's formats can hold.
    func typed(_ sink: CatalogSource, _ described: [(name: String, type: String)]) throws -> CatalogSource {
        var sink = sink
        var declared: [(name: String, type: SQLType, isKey: Bool)] = []
        let translator = builder.translator()
        for index in sink.columns.indices {
            let name = postgresName(sink.columns[index].name)
            let postgresType = described.first { $0.name == name }?.type ?? "text"
            sink.columns[index].type = SQLTypeMapping.sqlType(postgres: postgresType)
            // jsonb holds a MAP or a STRUCT, numeric a DECIMAL: the expression's own type says more.
            let known = items.first { $0.name == sink.columns[index].name }.flatMap { translator.staticType($0.expression) }
            var type = sink.columns[index].type
            switch (postgresType, known) {
            case ("jsonb", .map?), ("jsonb", .struct?), ("jsonb", .array?):
                // Kept as declared, so readers (pull queries, `->*`, later queries) know its fields.
                type = known!
                sink.columns[index].type = type
            case ("numeric", .decimal?), ("numeric[]", .array(.decimal)?):
                // Written as a DECIMAL (exact in Avro), not as a double.
                type = known!
                sink.columns[index].type = type
            case ("jsonb[]", .array(let element)?) where element.isComplex:
                // An array of ARRAYs, MAPs or STRUCTs (COLLECT_LIST's, say) as
                // one, not as an array of strings. (Other jsonb elements, a
                // MAP's BYTES values say, are already as JSON writes them.)
                type = known!
                sink.columns[index].type = type
            case ("jsonb", _):
                type = .struct([])
                // An AVRO schema needs the ARRAY, MAP or STRUCT inside: refused now, not when the first row fails.
                let format = sink.keyColumns.contains(sink.columns[index].name) ? sink.keyFormat : sink.valueFormat
                if format == "AVRO" && !planner.printsRows {
                    throw PlanError("the type of \(sink.columns[index].name) cannot be told for its AVRO schema: "
                        + "CAST it, e.g. CAST(… AS MAP<STRING, INT>)")
                }
            case ("numeric", _): type = .decimal(precision: 38, scale: 0)
            default: break
            }
            declared.append((sink.columns[index].name, type, sink.keyColumns.contains(sink.columns[index].name)))
        }
        if !planner.printsRows {
            try SourceFormats.checkTypes(keyFormat: sink.keyFormat, valueFormat: sink.valueFormat, columns: declared)
        }
        return sink
    }
}

/// PostgreSQL result types back to ksqlDB types, for output schemas.
enum SQLTypeMapping {
    static func sqlType(postgres type: String) -> SQLType {
        if type.hasSuffix("[]") { return .array(sqlType(postgres: String(type.dropLast(2)))) }
        switch type {
        case "boolean": return .boolean
        case "integer", "smallint": return .integer
        case "bigint": return .bigint
        case "double precision", "real", "numeric": return .double
        case "bytea": return .bytes
        case "date": return .date
        case "time without time zone": return .time
        case "timestamp without time zone", "timestamp with time zone": return .timestamp
        default: return .string
        }
    }
}
