/// Aggregating a stream: every aggregate merges from partial results
/// (numbers, or arrays for COUNT_DISTINCT, COLLECT_*, TOPK and the n-value
/// *_BY_OFFSET), so the state is one accumulator row per group (and
/// window), and a batch is folded in by a
/// single INSERT … GROUP BY … ON CONFLICT DO UPDATE, instead of keeping
/// every event and recomputing the touched groups from history.
extension Draft {
    /// One partial result column (or two, for AVG and the *_BY_OFFSET pair).
    struct Partial {
        var column: String
        /// The aggregate's argument over the staged batch (alias i0); nil for COUNT(*).
        var partial: Expression?
        var partialSQL: (String) -> String
        /// Merges the stored value `acc.col` with the batch's `EXCLUDED.col`.
        var merge: (String, String) -> String
        /// Merges a column of partial results as an aggregate (session
        /// windows); nil where the partials cannot say the merged value
        /// (distinct or top values, the n latest by offset).
        var combine: ((String) -> String)?
        /// Collects its argument's values: an ARRAY argument is kept as
        /// jsonb, since PostgreSQL's arrays of arrays must be rectangular.
        var collects = false
        /// How pgk itself reduces it, where it can (QueryPlan.Combined).
        var reduction: QueryPlan.Combined.Reduction?
    }

    func accumulatingAggregate(queryID: String, sink: CatalogSource, setup inputSetup: [QueryPlan.SQL]) throws -> QueryPlan? {
        var partials: [Partial] = []
        var finals: [String: String] = [:]
        var decomposable = true
        let groups = select.groupBy
        func groupColumn(_ index: Int) -> String { "g\(index)" }

        // Final expressions read the accumulator (alias a); the group
        // expressions read its group columns.
        var final = ExpressionTranslator(parameterOffset: 0) { qualifier, name in
            throw PlanError("column \(qualifier.map { "\($0)." } ?? "")\(name) is neither in GROUP BY nor inside an aggregate")
        }
        // Types are the inputs' own, so HAVING SUM(x) > 'a' is a type error as in ksqlDB.
        final.columnType = { qualifier, name in builder.columnType(qualifier, name) }
        let windowGroup = groups.count  // the window start's group column, when windowed
        final.override = { expression in
            if case .column(_, let name) = expression, select.window != nil {
                if name.uppercased() == "WINDOWSTART" { return "a.\(groupColumn(windowGroup))" }
                if name.uppercased() == "WINDOWEND" { return "a.we" }
            }
            if let index = groups.firstIndex(where: { builder.sameColumn($0, expression) }) {
                return "a.\(groupColumn(index))"
            }
            guard case .call(let name, let arguments, let distinct, let star) = expression,
                  let aggregate = AggregateFunction(rawValue: name) else { return nil }
            let key = String(describing: expression)
            if let known = finals[key] { return known }
            // COUNT(DISTINCT x) is COUNT_DISTINCT(x).
            let counted = distinct && aggregate == .count ? AggregateFunction.countDistinct : aggregate
            guard !distinct || counted == .countDistinct,
                  let sql = try Self.register(counted, arguments, star: star, number: partials.count,
                                                   limit: planner.limits.limit(counted), into: &partials) else {
                decomposable = false
                return "NULL"
            }
            finals[key] = sql
            return sql
        }
        final.comparisonsAsValues = true
        let projection = try zip(items, items.map { try final.sql($0.expression) }).map { item, sql in
            "\(sql) AS \(try quote(postgresName(item.name)))"
        }
        final.comparisonsAsValues = false
        // HAVING's literals number after the projection's: describe with those only.
        let selectParameters = final.parameters
        let having = try select.having.map { try final.sql($0) }
        guard decomposable, select.window?.kind != .session || partials.allSatisfy({ $0.combine != nil }) else { return nil }
        // The latest event time per group: its changelog records' timestamp.
        partials.append(Partial(column: "pts", partial: nil, partialSQL: { _ in "max(i0._ts)" },
                                merge: { "greatest(\($0), \($1))" }, combine: { "max(\($0))" }, reduction: .latestRowtime))
        if select.emitFinal {
            // The partition whose stream time closes the window.
            partials.append(Partial(column: "fp", partial: nil, partialSQL: { _ in "max(i0._part)" },
                                    merge: { "greatest(\($0), \($1))" }, combine: { "max(\($0))" }))
        }
        let finalParameters = final.parameters

        // The partials, per group, over the batch.
        let input = inputs[0]
        var translator = builder.translator()
        var groupSQL = try groups.map { try translator.sql($0) }
        let prefix = queryID.lowercased()
        var from = "\(input.staging) AS i0"
        var windowConditions: [String] = []
        var windowEnd: [String] = []
        var clockUpdates: [QueryPlan.SQL] = []
        var clock = ""
        var setup = inputSetup
        if let window = select.window {
            // Stream time: the largest ROWTIME seen in the record's
            // partition (Kafka Streams keeps it per task), before this batch
            // and up to each record in it. A window closes once stream time
            // reaches its end plus the grace period (24 hours unless set,
            // as in ksqlDB), and a record for a closed window is dropped.
            clock = planner.store.table(try quote("\(prefix)_clock"))
            setup.append(.init(text: "CREATE TABLE IF NOT EXISTS \(clock) (part integer PRIMARY KEY, stream_time bigint NOT NULL)"))
            _ = try planner.connection.execute(setup[setup.count - 1].text)
            from = "(SELECT s.*, greatest(max(s._ts) OVER (PARTITION BY s._part ORDER BY s._seq), "
                + "(SELECT c.stream_time FROM \(clock) AS c WHERE c.part = s._part)) AS _stream_time "
                + "FROM \(input.staging) AS s WHERE NOT s._deleted) AS i0"
            clockUpdates = [.init(text: """
                INSERT INTO \(clock) AS c SELECT _part, max(_ts) FROM \(input.staging) WHERE _ts IS NOT NULL AND NOT _deleted GROUP BY _part
                ON CONFLICT (part) DO UPDATE SET stream_time = greatest(c.stream_time, EXCLUDED.stream_time)
                """)]
            let size = try translator.sql(.literal(.integer(window.sizeMilliseconds)))
            let grace = try translator.sql(.literal(.integer(window.graceMilliseconds ?? 86_400_000)))
            if window.kind == .session {
                // A session's partials start per record time; batch
                // statements merge them into sessions (PlanDraft+Session).
                // Kafka Streams drops a record once stream time is past
                // its time plus the gap and the grace period.
                windowConditions = ["i0._ts IS NOT NULL", "i0._ts + \(size) + \(grace) >= i0._stream_time"]
                // `st`: stream time when the point arrived, which bounds the
                // sessions it may still join (see PlanDraft+Session).
                windowEnd = ["max(i0._ts) AS we", "max(i0._stream_time) AS st"]
                groupSQL.append("i0._ts")
            } else {
                // Every window [ws, ws + size) holding the record's ROWTIME,
                // ws a multiple of the advance (the size for TUMBLING), and
                // none before 0, as Kafka Streams makes them.
                let advance = try translator.sql(.literal(.integer(window.advanceMilliseconds ?? window.sizeMilliseconds)))
                from += " CROSS JOIN LATERAL (SELECT (i0._ts - i0._ts % \(advance)) - k * \(advance) AS ws "
                    + "FROM generate_series(0, (\(size) - 1) / \(advance)) AS k) AS w"
                windowConditions = ["i0._ts IS NOT NULL", "w.ws >= 0", "w.ws + \(size) > i0._ts", "w.ws + \(size) + \(grace) > i0._stream_time"]
                windowEnd = ["min(w.ws + \(size)) AS we"]
                groupSQL.append("w.ws")
            }
        }
        var tableChanges: [QueryPlan.SQL] = [], joinBatch: [QueryPlan.SQL] = [], afterOutput: [QueryPlan.SQL] = []
        if builder.isWindowJoinChain || inputs.count == 2 && !inputs[1].source.isTable, let join = select.joins.first {
            // Streams joined within windows (tables maybe between): the batch's joined rows are aggregated.
            let pairs = try windowJoinPairs(join, queryID: queryID)
            (from, joinBatch, afterOutput) = (pairs.from, pairs.batch, pairs.afterOutput)
            setup += pairs.setup
            for table in inputs.dropFirst() where table.source.isTable { tableChanges += try applyTableChanges(table) }
        } else if inputs.count > 1 {
            // A stream enriched from tables: each record with the tables as
            // of its time; their changes fold in after the batch is aggregated.
            from = try tableJoins(from).versioned
            for table in inputs.dropFirst() { tableChanges += try applyTableChanges(table) }
        }
        let partialSQL = try partials.map { partial in
            partial.partialSQL(try partial.partial.map { argument in
                let sql = try translator.sql(argument)
                if partial.collects, case .array? = translator.staticType(argument) { return "to_jsonb(\(sql))" }
                return sql
            } ?? "*")
        }
        var conditions = ["NOT i0._deleted"] + windowConditions + groupSQL.map { "\($0) IS NOT NULL" }
        // Literals of the groups and aggregates (not of the WHERE, which FlatFilter reads itself) keep a query off pre-aggregation.
        let literalsOutsideWhere = translator.parameters.count
        if let filter = select.filter { conditions.append(try translator.sql(filter)) }
        let groupAliases = groupSQL.indices.map(groupColumn)
        let selectPartials = "SELECT " + (zip(groupSQL, groupAliases).map { "\($0) AS \($1)" }
            + zip(partialSQL, partials).map { "\($0) AS \($1.column)" } + windowEnd).joined(separator: ", ")
            + " FROM \(from) WHERE \(conditions.joined(separator: " AND ")) GROUP BY \(groupSQL.joined(separator: ", "))"
        let partialTypes = try planner.describe(.init(text: selectPartials, parameters: translator.parameters))

        let accumulator = planner.store.table(try quote("\(prefix)_acc"))
        let affected = try quote("\(prefix)_affected")
        let resultTable = try resultTableName(sink.name)
        let groupList = groupAliases.joined(separator: ", ")
        setup.append(.init(text: "CREATE TABLE IF NOT EXISTS \(accumulator) ("
            + partialTypes.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
            + (select.emitFinal ? ", emitted boolean NOT NULL DEFAULT false" : "") + ", PRIMARY KEY (\(groupList)))"
            + QueryPlan.rewrittenTableStorage))
        _ = try planner.connection.execute(setup[setup.count - 1].text)
        // Accumulators made before changelog timestamps lack this column.
        setup.append(.init(text: "ALTER TABLE \(accumulator) ADD COLUMN IF NOT EXISTS pts bigint"))
        _ = try planner.connection.execute(setup[setup.count - 1].text)
        if select.emitFinal {
            setup.append(.init(text: "CREATE INDEX IF NOT EXISTS \(try quote("\(prefix)_acc_open")) ON \(accumulator) (we) WHERE NOT emitted"))
            _ = try planner.connection.execute(setup[setup.count - 1].text)
        }

        let finalSelect = "SELECT \(projection.joined(separator: ", ")) FROM \(accumulator) AS a"
        let described = try planner.describe(.init(text: finalSelect, parameters: selectParameters))
        let keyList = try keyNames.map { try quote($0) }.joined(separator: ", ")
        let keyTypes = try keyNames.map { key in "\(try quote(key)) \(described.first { $0.name == key }?.type ?? "text")" }
        let definitions = try described.map { "\(try quote($0.name)) \(resultColumnType($0))" }.joined(separator: ", ")
        setup.append(.init(text: "CREATE TEMP TABLE IF NOT EXISTS \(affected) (\(keyTypes.joined(separator: ", "))) ON COMMIT DELETE ROWS"))
        setup.append(.init(text: "CREATE TABLE IF NOT EXISTS \(resultTable) (\(definitions), PRIMARY KEY (\(keyList)))"
            + QueryPlan.rewrittenTableStorage))
        for statement in setup.suffix(2) { _ = try planner.connection.execute(statement.text) }

        // Result key columns in group order, matched to the accumulator's
        // groups (a session's end is its own column).
        let keyGroups = keyNames.indices.map { keyNames[$0].uppercased() == "WINDOWEND" ? "a.we" : "a.\(groupColumn($0))" }
        let updates = partials.map { "\($0.column) = \($0.merge("acc.\($0.column)", "EXCLUDED.\($0.column)"))" }
            + (windowEnd.isEmpty ? [] : ["we = EXCLUDED.we"])
        var batch: [QueryPlan.SQL]
        var foldInsert: String?
        if let window = select.window, window.kind == .session {
            let points = try quote("\(prefix)_points")
            setup.append(.init(text: "CREATE TEMP TABLE IF NOT EXISTS \(points) (LIKE \(accumulator) INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"))
            _ = try planner.connection.execute(setup[setup.count - 1].text)
            batch = sessionMerge(SessionTables(accumulator: accumulator, points: points, affected: select.emitFinal ? nil : affected),
                                 partials: partials, types: partialTypes, groups: groups.count, gapMilliseconds: window.sizeMilliseconds,
                                 graceMilliseconds: window.graceMilliseconds ?? 86_400_000,
                                 selectPoints: .init(text: selectPartials, parameters: translator.parameters))
        } else {
            // The batch's partials, one row per group (window), fold into
            // the accumulator and, unless EMIT FINAL, name the groups whose
            // results change; computed once for both.
            let noted = select.emitFinal ? "" : ", noted AS (INSERT INTO \(affected) SELECT \(groupList) FROM p)"
            // A GROUP BY without aggregates only records its groups.
            // Named columns: an accumulator from an earlier version has them in another order.
            let partialColumns = partialTypes.map(\.name).joined(separator: ", ")
            let insert = "INSERT INTO \(accumulator) AS acc (\(partialColumns)) SELECT * FROM p "
                + "ON CONFLICT (\(groupList)) " + (updates.isEmpty ? "DO NOTHING" : "DO UPDATE SET " + updates.joined(separator: ", "))
            foldInsert = insert
            batch = [.init(text: "WITH p AS (\(selectPartials))\(noted) \(insert)", parameters: translator.parameters)]
        }
        if let window = select.window, select.emitFinal {
            // EMIT FINAL: results are the windows that closed at the new
            // stream time of their partition, each once (Kafka Streams'
            // suppression until the window closes).
            let grace = window.graceMilliseconds ?? 86_400_000
            let closes = window.kind == .session
                ? "a.we + \(window.sizeMilliseconds + grace)::bigint < c.stream_time" : "a.we + \(grace)::bigint <= c.stream_time"
            let returned = (groupAliases + (window.kind == .session ? ["we"] : [])).map { "a.\($0)" }.joined(separator: ", ")
            batch += clockUpdates
            clockUpdates = []
            batch.append(.init(text: """
                WITH closed AS (UPDATE \(accumulator) AS a SET emitted = true FROM \(clock) AS c
                                WHERE NOT a.emitted AND c.part = a.fp AND \(closes) RETURNING \(returned))
                INSERT INTO \(affected) SELECT * FROM closed
                """))
        }
        // A result row leaves only when HAVING turns it down or a session
        // merges away; otherwise the changed rows are upserted in place.
        let rowsLeave = having != nil || select.window?.kind == .session
        if rowsLeave {
            batch.append(.init(text: "DELETE FROM \(resultTable) WHERE (\(keyList)) IN (SELECT \(keyList) FROM \(affected))"))
        }
        let columnList = try described.map { try quote($0.name) }.joined(separator: ", ")
        let valueNames = try described.filter { !keyNames.contains($0.name) }.map { try quote($0.name) }
        let valueUpdates = valueNames.map { "\($0) = EXCLUDED.\($0)" }
        let upsert = rowsLeave ? "" : " ON CONFLICT (\(keyList)) "
            + (valueUpdates.isEmpty ? "DO NOTHING" : "DO UPDATE SET " + valueUpdates.joined(separator: ", "))
        let resultUpsert = "INSERT INTO \(resultTable) (\(columnList)) \(finalSelect) WHERE (\(keyGroups.joined(separator: ", "))) IN "
            + "(SELECT \(keyList) FROM \(affected))" + (having.map { " AND (\($0))" } ?? "") + upsert
        let sameGroup = try keyNames.indices.map { index in
            "\(keyGroups[index].replacingOccurrences(of: "a.", with: "x.")) = a.\(try quote(keyNames[index]))"
        }.joined(separator: " AND ")
        let timestamp = "(SELECT x.pts FROM \(accumulator) AS x WHERE \(sameGroup))"
        if rowsLeave || valueUpdates.isEmpty {
            batch.append(.init(text: resultUpsert, parameters: finalParameters))
            batch.append(try changelog(queryID: queryID, topic: sink.topic, resultTable: resultTable, affected: affected, timestamp: timestamp))
        } else {
            // Every affected row is upserted (DO UPDATE): its new value comes back from the upsert itself.
            batch.append(try changelog(queryID: queryID, topic: sink.topic, upserted: .init(text: resultUpsert + " RETURNING *", parameters: finalParameters),
                                       timestamp: timestamp))
        }
        batch += clockUpdates + tableChanges
        var typedSink = try typed(sink, described)
        typedSink.resultTable = resultTable
        var combined: QueryPlan.Combined?
        if let foldInsert, joinBatch.isEmpty, literalsOutsideWhere == 0,
           var plain = try combinable(partials, groups: groups, types: partialTypes, table: try quote("\(prefix)_partials")) {
            setup.append(.init(text: "CREATE TEMP TABLE IF NOT EXISTS \(plain.table) ("
                + partialTypes.map { "\($0.name) \($0.type)" }.joined(separator: ", ") + ") ON COMMIT DELETE ROWS"))
            _ = try planner.connection.execute(setup[setup.count - 1].text)
            let partialRows = "p AS (SELECT * FROM \(plain.table))"
            if rowsLeave || valueUpdates.isEmpty {
                plain.batch = [.init(text: "WITH \(partialRows), noted AS (INSERT INTO \(affected) SELECT \(groupList) FROM p) \(foldInsert)")]
                    + batch.dropFirst()
            } else {
                // One statement: the accumulator rows the fold returns are
                // the changed groups, so no affected keys, no lookups.
                // Groups seen before are updated through a join, the rest
                // inserted (ON CONFLICT: another process may insert one
                // meanwhile). On 10k groups per batch this took 61–74 ms
                // where upserting every row took 68–101 ms: an upsert probes
                // the index and locks each row before updating it.
                let sameKeys = { (left: String, right: String, columns: [String]) in
                    columns.map { "\(left).\($0) = \(right).\($0)" }.joined(separator: " AND ")
                }
                let merged = partials.map { "\($0.column) = \($0.merge("acc.\($0.column)", "p.\($0.column)"))" }.joined(separator: ", ")
                let newGroups = "INSERT INTO \(accumulator) AS acc (\(partialTypes.map(\.name).joined(separator: ", "))) SELECT * FROM p "
                    + "WHERE NOT EXISTS (SELECT FROM u WHERE \(sameKeys("u", "p", groupAliases))) "
                    + "ON CONFLICT (\(groupList)) DO UPDATE SET \(updates.joined(separator: ", ")) RETURNING acc.*"
                let folded = "\(partialRows), u AS (UPDATE \(accumulator) AS acc SET \(merged) FROM p WHERE \(sameKeys("acc", "p", groupAliases)) "
                    + "RETURNING acc.*), i AS (\(newGroups)), x AS (SELECT * FROM u UNION ALL SELECT * FROM i)"
                // The same for the result rows of the changed groups.
                let quotedKeys = try keyNames.map { try quote($0) }
                let newRows = "INSERT INTO \(resultTable) (\(columnList)) SELECT * FROM f "
                    + "WHERE NOT EXISTS (SELECT FROM ru WHERE \(sameKeys("ru", "f", quotedKeys)))\(upsert) RETURNING *"
                let results = "f AS (SELECT \(projection.joined(separator: ", ")) FROM x AS a), "
                    + "ru AS (UPDATE \(resultTable) AS r SET \(try valueNames.map { "\($0) = f.\($0)" }.joined(separator: ", ")) FROM f "
                    + "WHERE \(sameKeys("r", "f", quotedKeys)) RETURNING r.*), ri AS (\(newRows))"
                plain.batch = [try changelog(queryID: queryID, topic: sink.topic,
                                             upserted: .init(text: "SELECT * FROM ru UNION ALL SELECT * FROM ri", parameters: finalParameters),
                                             timestamp: "x.pts", leading: folded + ", " + results, joining: "JOIN x ON \(sameGroup)")]
            }
            combined = plain
        }
        var plan = QueryPlan(queryID: queryID, inputs: inputs, output: .table(table: resultTable), setup: setup,
                             batch: joinBatch + batch, sink: typedSink, outputColumns: described, outputKeys: keyNames,
                             afterOutput: afterOutput)
        plan.combined = combined
        return plan
    }

    /// Adds the partial column(s) of one aggregate call; returns its final
    /// expression over the accumulator, or nil when it does not merge.
    private static func register(_ aggregate: AggregateFunction, _ arguments: [Expression], star: Bool, number: Int, limit: Int,
                                 into partials: inout [Partial]) throws -> String? {
        let column = "p\(number)"
        let argument = star ? nil : arguments.first
        let options = try AggregateOptions(aggregate, arguments)
        func add(_ name: String, _ partial: @escaping (String) -> String, _ merge: @escaping (String, String) -> String,
                 combine: ((String) -> String)?, reduction: QueryPlan.Combined.Reduction? = nil) {
            partials.append(Partial(column: name, partial: argument, partialSQL: partial, merge: merge, combine: combine,
                                    collects: [.collectList, .collectSet].contains(aggregate), reduction: reduction))
        }
        let plus: (String, String) -> String = { old, new in
            "CASE WHEN \(old) IS NULL THEN \(new) WHEN \(new) IS NULL THEN \(old) ELSE \(old) + \(new) END"
        }
        switch aggregate {
        case .count:
            add(column, { argument == nil ? "count(*)" : "count(\($0))" }, { "\($0) + \($1)" }, combine: { "sum(\($0))" },
                reduction: argument == nil ? .count : .countValues)
            return "a.\(column)"
        case .sum:
            // ksqlDB's SUM starts at 0 and skips NULLs: a group without values sums to 0, not NULL.
            add(column, { "pg_temp.ksum(\($0))" }, plus, combine: { "pg_temp.ksum(\($0))" }, reduction: .sum)
            return "coalesce(a.\(column), 0)"
        case .sumList:
            add(column, { "pg_temp.ksum(\(AggregateFunction.listSum($0)))" }, plus, combine: { "pg_temp.ksum(\($0))" })
            return "a.\(column)"
        case .avg:
            add(column + "s", { "sum(CAST(\($0) AS double precision))" }, plus, combine: { "sum(\($0))" }, reduction: .sumAsDouble)
            add(column + "c", { "count(\($0))" }, { "\($0) + \($1)" }, combine: { "sum(\($0))" }, reduction: .countValues)
            // And its AVG of no values is 0.0.
            return "CASE WHEN a.\(column)c = 0 THEN 0.0 ELSE a.\(column)s / a.\(column)c END"
        case .stddevSamp, .stddevSample:
            // Count, sum and sum of squared deviations; a batch's from
            // PostgreSQL's own (Youngs-Cramer) sums, merged as its
            // float8_combine merges two partial states.
            let n = column + "n", s = column + "s", q = column + "q"
            add(n, { "count(\($0))" }, { "\($0) + \($1)" }, combine: nil)
            add(s, { "sum(CAST(\($0) AS double precision))" }, plus, combine: nil)
            add(q, { "coalesce(regr_syy(CAST(\($0) AS double precision), CAST(\($0) AS double precision)), 0.0)" }, { old, new in
                let (oldN, newN) = (old.replacingOccurrences(of: q, with: n), new.replacingOccurrences(of: q, with: n))
                let (oldS, newS) = (old.replacingOccurrences(of: q, with: s), new.replacingOccurrences(of: q, with: s))
                return "CASE WHEN \(oldN) = 0 THEN \(new) WHEN \(newN) = 0 THEN \(old) ELSE \(old) + \(new) + "
                    + "CAST(\(oldN) AS double precision) * \(newN) * power(\(oldS) / \(oldN) - \(newS) / \(newN), 2) / (\(oldN) + \(newN)) END"
            }, combine: nil)
            let variance = "CASE WHEN a.\(n) < 2 THEN 0.0 ELSE a.\(q) / (a.\(n) - 1) END"
            return aggregate == .stddevSamp ? variance : "sqrt(\(variance))"
        case .correlation:
            // Count and sums over the rows where both columns are set, each
            // merged by adding, as ksqlDB's own struct of sums is.
            let x = Expression.cast(arguments[0], .double), y = Expression.cast(arguments[1], .double)
            let both = Expression.binary(op: .and, .isNull(arguments[0], negated: true), .isNull(arguments[1], negated: true))
            func paired(_ value: Expression) -> Expression { .caseWhen(operand: nil, branches: [(both, value)], otherwise: nil) }
            let terms: [(String, Expression, String)] = [
                ("n", paired(.literal(.integer(1))), "count"), ("x", paired(x), "sum"), ("y", paired(y), "sum"),
                ("xx", paired(.binary(op: .multiply, x, x)), "sum"), ("yy", paired(.binary(op: .multiply, y, y)), "sum"),
                ("xy", paired(.binary(op: .multiply, x, y)), "sum"),
            ]
            for (suffix, term, function) in terms {
                partials.append(Partial(column: column + suffix, partial: term, partialSQL: { "coalesce(\(function)(\($0)), 0)" },
                                        merge: { "\($0) + \($1)" }, combine: { "sum(\($0))" }))
            }
            return AggregateFunction.correlation(n: "a.\(column)n", sx: "a.\(column)x", sy: "a.\(column)y",
                                                 sxx: "a.\(column)xx", syy: "a.\(column)yy", sxy: "a.\(column)xy")
        case .histogram:
            add(column, { "pg_temp.khist(CAST(\($0) AS text))" }, { "pg_temp.khist_merge(\($0), \($1))" }, combine: nil)
            return "coalesce(a.\(column), '{}')"
        case .min:
            add(column, { "min(\($0))" }, { "least(\($0), \($1))" }, combine: { "min(\($0))" }, reduction: .min)
            return "a.\(column)"
        case .max:
            add(column, { "max(\($0))" }, { "greatest(\($0), \($1))" }, combine: { "max(\($0))" }, reduction: .max)
            return "a.\(column)"
        case .latestByOffset, .earliestByOffset:
            let latest = aggregate == .latestByOffset
            let nonNull = options.ignoreNulls ? " FILTER (WHERE $X IS NOT NULL)" : ""
            if let n = options.count {
                // The latest (earliest) n values, oldest first.
                let keep: (String) -> String = { latest ? AggregateOptions.last(n, of: $0) : "(\($0))[1:\(n)]" }
                // Each value's arrival number alongside (column + "o"), so
                // merged sessions interleave their values by offset.
                let seqs = column + "o"
                func merged(_ values: String) -> String {
                    keep("(SELECT array_agg(u.v ORDER BY u.s) FROM unnest(pg_temp.kconcat(\(values) ORDER BY pgk_start, we), "
                        + "pg_temp.kconcat(\(seqs) ORDER BY pgk_start, we)) AS u(v, s))")
                }
                add(column, { keep("array_agg(\($0) ORDER BY i0._seq)" + nonNull.replacingOccurrences(of: "$X", with: $0)) },
                    { keep("\($0) || \($1)") }, combine: { merged($0) })
                add(seqs, { keep("array_agg(i0._seq ORDER BY i0._seq)" + nonNull.replacingOccurrences(of: "$X", with: $0)) },
                    { keep("\($0) || \($1)") }, combine: { _ in keep("(SELECT array_agg(s ORDER BY s) FROM unnest(pg_temp.kconcat(\(seqs))) AS s)") })
                return "coalesce(a.\(column), '{}')"
            }
            // klast: the last value in the given order, of any type (arrays too).
            let order = latest ? "ASC" : "DESC", pick = latest ? "max" : "min", beats = latest ? ">" : "<"
            let seq = column + "q"
            add(column, { "pg_temp.klast(\($0) ORDER BY i0._seq \(order))\(nonNull.replacingOccurrences(of: "$X", with: $0))" }, { old, new in
                let oldSeq = old.replacingOccurrences(of: column, with: seq), newSeq = new.replacingOccurrences(of: column, with: seq)
                return "CASE WHEN \(newSeq) IS NOT NULL AND (\(oldSeq) IS NULL OR \(newSeq) \(beats) \(oldSeq)) THEN \(new) ELSE \(old) END"
            }, combine: { "pg_temp.klast(\($0) ORDER BY \(seq) \(order)) FILTER (WHERE \(seq) IS NOT NULL)" })
            add(seq, { "\(pick)(i0._seq)\(nonNull.replacingOccurrences(of: "$X", with: $0))" },
                { latest ? "greatest(\($0), \($1))" : "least(\($0), \($1))" }, combine: { "\(pick)(\($0))" })
            return "a.\(column)"
        case .topK, .topKDistinct:
            let k = options.count ?? 1, distinct = aggregate == .topKDistinct
            add(column, { AggregateOptions.top(k, of: "array_agg(\($0))", distinct: distinct) },
                { AggregateOptions.top(k, of: "\($0) || \($1)", distinct: distinct) },
                combine: { AggregateOptions.top(k, of: "pg_temp.kconcat(\($0))", distinct: distinct) })
            return "a.\(column)"
        case .collectList:
            // ksqlDB keeps the first `limit` values (ksql.functions.collect_list.limit, 1000 by default).
            add(column, { "(array_agg(\($0) ORDER BY i0._seq))[1:\(limit)]" }, { "(\($0) || \($1))[1:\(limit)]" },
                combine: { "(pg_temp.kconcat(\($0) ORDER BY pgk_start))[1:\(limit)]" })
            return "a.\(column)"
        case .collectSet:
            // The distinct values so far in order of first arrival, as ksqlDB lists them; at most `limit`.
            add(column, { "(\(ExpressionTranslator.firstOccurrences("array_agg(\($0) ORDER BY i0._seq)")))[1:\(limit)]" },
                { "(\(ExpressionTranslator.firstOccurrences("\($0) || \($1)")))[1:\(limit)]" },
                combine: { "(\(ExpressionTranslator.firstOccurrences("pg_temp.kconcat(\($0) ORDER BY pgk_start, we)")))[1:\(limit)]" })
            return "a.\(column)"
        case .countDistinct:
            // The distinct non-null values so far, counted at the end.
            add(column, { "array_agg(DISTINCT \($0)) FILTER (WHERE \($0) IS NOT NULL)" },
                { "ARRAY(SELECT DISTINCT e FROM unnest(\($0) || \($1)) AS e)" },
                combine: { "ARRAY(SELECT DISTINCT e FROM unnest(pg_temp.kconcat(\($0))) AS e)" })
            return "CAST(coalesce(cardinality(a.\(column)), 0) AS bigint)"
        }
    }

    /// Queues the result rows a statement wrote and returned (`upserted`:
    /// an `INSERT … ON CONFLICT DO UPDATE … RETURNING *`, or rows updated
    /// and inserted), as the other `changelog` queues affected rows, but
    /// with each row's new value as returned, not read from the result
    /// table again.
    /// `leading` names more common table expressions before the upsert;
    /// `joining` joins the returned rows (alias a) to one of them.
    func changelog(queryID: String, topic: String, upserted: QueryPlan.SQL, timestamp: String,
                   leading: String? = nil, joining: String = "") throws -> QueryPlan.SQL {
        let key = try changelogKey()
        let (query, topicParameter) = (upserted.parameters.count + 1, upserted.parameters.count + 2)
        let with = "WITH \(leading.map { $0 + ", " } ?? "")a AS (\(upserted.text))\n"
        let rows = "SELECT $\(query), $\(topicParameter), \(key), to_json(a.*), \(timestamp) FROM a \(joining)"
        return .init(text: with + queueing + rows, parameters: upserted.parameters + [queryID, topic],
                     changelogRows: changelogFansOut ? nil : with + rows)
    }

    /// What turns a statement's changelog rows into outbox rows.
    private var queueing: String { "INSERT INTO \(planner.store.table("changelog")) (query_id, topic, key, value, ts)\n" }

    /// Whether a batch's changelog may hold many more rows than the batch
    /// has records: a HOPPING window more than four advances long puts
    /// each record in as many windows. Such a changelog is queued in the
    /// outbox, whose rounds send 100k rows at a time, rather than held in
    /// memory until the batch commits.
    private var changelogFansOut: Bool {
        guard let window = select.window, window.kind == .hopping, let advance = window.advanceMilliseconds, advance > 0 else { return false }
        return window.sizeMilliseconds > 4 * advance
    }

    /// Queues the new value (or a tombstone) of every affected key, with
    /// its record timestamp: `timestamp`, over the affected row `a`, is
    /// the latest event time behind the row (Kafka Streams stamps an
    /// aggregate or join result with the largest input timestamp).
    func changelog(queryID: String, topic: String, resultTable: String, affected: String, timestamp: String) throws -> QueryPlan.SQL {
        let matchKeys = try keyNames.map { "r.\(try quote($0)) = a.\(try quote($0))" }.joined(separator: " AND ")
        let rows = """
            SELECT $1, $2, \(try changelogKey()), (SELECT to_json(r.*) FROM \(resultTable) AS r WHERE \(matchKeys)), \(timestamp)
            FROM (SELECT DISTINCT * FROM \(affected)) AS a
            """
        return .init(text: queueing + rows, parameters: [queryID, topic], changelogRows: changelogFansOut ? nil : rows)
    }

    /// The key columns of row `a` as JSON, spelled the same by both
    /// queues: the publisher keeps the latest row per key by its text.
    private func changelogKey() throws -> String {
        "json_build_object(" + (try keyNames.map { "'\($0.replacingOccurrences(of: "'", with: "''"))', a.\(try quote($0))" }
            .joined(separator: ", ")) + ")"
    }
}
