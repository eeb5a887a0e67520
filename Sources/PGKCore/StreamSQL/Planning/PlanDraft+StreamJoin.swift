/// Stream-stream joins (`JOIN … WITHIN`), as ksqlDB defines them.
///
/// Each input's state table is its window buffer. A left record l and a
/// right record r match when the condition holds and
/// `l.ts - before <= r.ts <= l.ts + after`. Records are processed in
/// arrival order (`_seq`, which the timestamp alignment makes time
/// order), and each matching pair is emitted once, when the later of the
/// two arrives, with the larger timestamp.
///
/// Outer joins pad a record that found no match with NULLs, at its own
/// timestamp. Without GRACE PERIOD that happens at once, when nothing
/// that arrived before matches it (a later match is emitted too). With
/// GRACE PERIOD the record waits until the window closes, when stream
/// time (the largest timestamp seen) passes `ts + after + grace`; a
/// record already that late when it arrives is padded at once.
/// Records whose join value is NULL never join and are never padded.
extension Draft {
    /// `projection` replaces the SELECT's items in the pairs' rows.
    func streamStreamJoin(_ join: Join, queryID: String, filter: String?, projection: String? = nil)
        throws -> (select: String, setup: [QueryPlan.SQL], batch: [QueryPlan.SQL], afterOutput: [QueryPlan.SQL]) {
        guard let leftState = inputs[0].state, let rightState = inputs[1].state else {
            throw PlanError("internal: a stream-stream join without state")
        }
        let setup = try paddedSetup(queryID)
        let left = try WindowJoinSide.stream(inputs[0], state: leftState, quote: quote)
        let right = try WindowJoinSide.stream(inputs[1], state: rightState, quote: quote)
        var translator = builder.joinTranslator()
        let condition = try translator.sql(join.condition) + (try builder.sameWindow().map { " AND \($0)" } ?? "")
        // Tables joined after the window join: each pair looks its row up as
        // of the pair's time (the later record's), as a stream-table join does.
        let lookups = try select.joins.indices.dropFirst().map { index in
            try tableVersionJoin(select.joins[index], inputs[index + 1], time: "greatest(i0._ts, i1._ts)")
        }.joined()
        let parts = try windowJoin(level: 0, join, left: left, right: right, values: builder.windowJoinValues(0), condition: condition,
                                   queryID: queryID, projected: projection ?? self.projection.joined(separator: ", "),
                                   filter: filter, lookups: lookups)
        return (parts.arms.joined(separator: " UNION ALL "), setup, parts.batch, parts.afterOutput)
    }

    /// Streams joined within windows, and tables joined between them, each
    /// join taking the pairs of the joins before it, as ksqlDB nests them:
    /// `(a ⋈ b) ⋈ c`. The pairs of each inner join are a stream of their
    /// own, buffered like one, at the time and arrival of their later
    /// record; a table's row is looked up as of that time.
    /// `projection` replaces the SELECT's items in the last join's rows.
    func windowJoinChain(queryID: String, filter: String?, projection: String? = nil)
        throws -> (select: String, setup: [QueryPlan.SQL], batch: [QueryPlan.SQL], afterOutput: [QueryPlan.SQL]) {
        guard let firstState = inputs[0].state else { throw PlanError("internal: a stream-stream join without state") }
        if select.joins.count > 1, select.joins.contains(where: { $0.graceMilliseconds != nil }) {
            throw PlanError("GRACE PERIOD in a join of more than two streams is not supported yet")
        }
        var setup = try paddedSetup(queryID)
        var batch: [QueryPlan.SQL] = [], afterOutput: [QueryPlan.SQL] = []
        var left = try WindowJoinSide.stream(inputs[0], state: firstState, quote: quote)
        let prefix = queryID.lowercased()
        for (level, join) in select.joins.enumerated() {
            let last = level == select.joins.count - 1
            let joined = inputs[...(level + 1)]
            let projected = last ? projection ?? self.projection.joined(separator: ", ") : try pairFields(joined)
            let arms: [String]
            if inputs[level + 1].source.isTable {
                // Each new left record (a pair) takes the table's row as of its time; the table's
                // changes fold in after the batch (Draft.stream), and nothing else is buffered.
                let l = left.alias
                let lookup = try tableVersionJoin(join, inputs[level + 1], time: "\(l)._ts")
                arms = ["SELECT \(projected), NULL::bytea AS _pgk_raw_key, \(l)._seq AS _pgk_seq, \(l)._ts AS _pgk_ts, \(l)._ord AS _pgk_ord "
                    + "FROM \(left.bind(left.batch))\(lookup) WHERE true\((last ? filter : nil).map { " AND (\($0))" } ?? "")"]
            } else {
                guard let rightState = inputs[level + 1].state else { throw PlanError("internal: a stream-stream join without state") }
                let right = try WindowJoinSide.stream(inputs[level + 1], state: rightState, quote: quote)
                let values = try builder.windowJoinValues(level)
                // Past the first join, the left value may be the pairs' key (see windowJoinValues).
                let condition = "(\(values.left)) = (\(values.right))"
                let parts = try windowJoin(level: level, join, left: left, right: right, values: values, condition: condition,
                                           queryID: queryID, projected: projected, filter: last ? filter : nil, lookups: "")
                batch += parts.batch
                afterOutput += parts.afterOutput
                arms = parts.arms
            }
            if last { return (arms.joined(separator: " UNION ALL "), setup, batch, afterOutput) }
            // This join's pairs, numbered after those buffered, become the next join's left side.
            let pairColumns = WindowJoinSide.pairColumns(joined)
            let state = planner.store.table(try quote("\(prefix)_j\(level + 1)"))
            let batchTable = try quote("\(prefix)_pairs\(level + 1)")
            let typed = (pairColumns.map { "\($0.name) \($0.type)" } + ["_ts bigint", "_seq bigint", "_ord bigint[]", "_id bigint",
                                                                      "_part integer", "_off bigint"]).joined(separator: ", ")
            let index = try quote("\(prefix)_j\(level + 1)_time")
            for statement in [
                "CREATE TABLE IF NOT EXISTS \(state) (\(typed), _padded boolean NOT NULL DEFAULT false)",
                "CREATE INDEX IF NOT EXISTS \(index) ON \(state) (_part, _ts)",
                "CREATE TEMP TABLE IF NOT EXISTS \(batchTable) (\(typed)) ON COMMIT DELETE ROWS",
            ] {
                _ = try planner.connection.execute(statement)
                setup.append(.init(text: statement))
            }
            let names = pairColumns.map { "a.\($0.name)" }.joined(separator: ", ")
            batch.append(.init(text: """
                INSERT INTO \(batchTable) (\((pairColumns.map(\.name) + WindowJoinSide.bookkeeping).joined(separator: ", ")))
                SELECT \(names), a._pgk_ts, a._pgk_seq, a._pgk_ord,
                  (SELECT coalesce(max(_id), 0) FROM \(state)) + row_number() OVER (ORDER BY a._pgk_seq, a._pgk_ord), a._pgk_part, a._pgk_off
                FROM (\(arms.joined(separator: " UNION ALL "))) AS a
                """))
            left = try WindowJoinSide.pairs(level: level + 1, streams: joined, state: state, batchTable: batchTable, quote: quote)
        }
        throw PlanError("internal: a window join chain without joins")
    }

    /// The columns of a pair of `joined` (see WindowJoinSide.pairColumns),
    /// then the pair's partition and offset (`_pgk_part`, `_pgk_off`).
    func pairFields(_ joined: ArraySlice<QueryPlan.Input>) throws -> String {
        let fields = try joined.flatMap { input in
            let stream = input.alias.dropFirst()
            return try input.columns.enumerated().map { index, column in
                "\(input.alias).\(try quote(column.name)) AS _pgk_\(stream)_\(index)"
            } + (input.source.isTable
                ? ["\(input.alias)._ts AS _pgk_\(stream)_ts", "NULL::integer AS _pgk_\(stream)_part", "NULL::bigint AS _pgk_\(stream)_off"]
                : WindowJoinSide.recordPositions.map { "\(input.alias).\($0) AS _pgk_\(stream)\($0)" })
        }
        // A pair's partition number is its streams' (co-partitioned), or a padded one's.
        let streams = joined.filter { !$0.source.isTable }
        let positions = ["_part", "_off"].map { column in
            "coalesce(\(streams.map { "\($0.alias).\(column)" }.joined(separator: ", "))) AS _pgk\(column)"
        }
        return (fields + positions).joined(separator: ", ")
    }

    /// The records each batch pads with NULLs: (side, id), two sides per
    /// join; and the stream time each record of the batch arrived at.
    private func paddedSetup(_ queryID: String) throws -> [QueryPlan.SQL] {
        let setup = [
            QueryPlan.SQL(text: "CREATE TEMP TABLE IF NOT EXISTS \(try quote("\(queryID.lowercased())_padded")) (side smallint, id bigint) ON COMMIT DELETE ROWS"),
            QueryPlan.SQL(text: "CREATE TEMP TABLE IF NOT EXISTS \(try streamTimes(queryID)) (seq bigint PRIMARY KEY, st bigint) ON COMMIT DELETE ROWS"),
        ]
        for statement in setup { _ = try planner.connection.execute(statement.text) }
        return setup
    }

    private func streamTimes(_ queryID: String) throws -> String { try quote("\(queryID.lowercased())_stream_times") }

    /// One window join: its output rows (`arms`, UNION ALL), the statements
    /// that pick the records to pad first, and those that buffer the batch.
    private func windowJoin(level: Int, _ join: Join, left: WindowJoinSide, right: WindowJoinSide,
                            values: (left: String, right: String), condition: String, queryID: String,
                            projected: String, filter: String?, lookups: String)
        throws -> (arms: [String], batch: [QueryPlan.SQL], afterOutput: [QueryPlan.SQL]) {
        guard let (before, after) = join.window else { throw PlanError("internal: a stream-stream join without WITHIN") }
        guard before >= 0, after >= 0 else { throw PlanError("WITHIN takes durations of zero or more") }
        let (l, r) = (left.alias, right.alias)
        var matches = "\(condition) AND \(r)._ts BETWEEN \(l)._ts - \(before) AND \(l)._ts + \(after)"
        // Kafka Streams keeps a window buffer for `before + after + grace`
        // in segments of half that (a minute at least), and drops a whole
        // segment once stream time leaves it behind: a record is no longer
        // found, or never stored, once its segment is gone when the later
        // record of a pair arrives. Stream time is per partition number.
        let retention = before + after + (join.graceMilliseconds ?? 86_400_000)
        let segment = max(retention / 2, 60_000)
        let segmented = join.graceMilliseconds != nil && left.isStream && right.isStream
        let times = try streamTimes(queryID)
        var batch: [QueryPlan.SQL] = []
        func arrivalTime(_ alias: String) -> String { "(SELECT st.st FROM \(times) AS st WHERE st.seq = \(alias)._seq)" }
        if segmented {
            batch.append(.init(text: """
                INSERT INTO \(times) (seq, st)
                SELECT n._seq, greatest(max(n._ts) OVER (PARTITION BY n._part ORDER BY n._seq), s.m)
                FROM (SELECT _seq, _ts, _part FROM \(left.batch) AS a UNION ALL SELECT _seq, _ts, _part FROM \(right.batch) AS b) AS n
                LEFT JOIN (SELECT _part, max(_ts) AS m FROM (SELECT _ts, _part FROM \(left.state) UNION ALL
                           SELECT _ts, _part FROM \(right.state)) AS t GROUP BY _part) AS s ON s._part = n._part
                """))
            // Pairs whose later record is of an earlier batch were live then.
            matches += " AND coalesce((SELECT div(CASE WHEN \(l)._seq > \(r)._seq THEN \(r)._ts ELSE \(l)._ts END, \(segment)) "
                + ">= div(st.st - \(retention - 1), \(segment)) FROM \(times) AS st WHERE st.seq = greatest(\(l)._seq, \(r)._seq)), true)"
        }
        let padded = try quote("\(queryID.lowercased())_padded")
        let sides = [left, right]
        func paddedIDs(_ side: Int) -> String { "SELECT id FROM \(padded) WHERE side = \(2 * level + side)" }

        let outer = (left: join.kind == .left || join.kind == .full, right: join.kind == .right || join.kind == .full)
        for (side, wanted) in [(0, outer.left), (1, outer.right)] where wanted {
            // The record being padded is always `me`; the other side is searched under its own aliases.
            let me = sides[side], other = sides[1 - side]
            let ownValue = side == 0 ? values.left : values.right
            let ownAfter = side == 0 ? after : before
            let earlier = "NOT EXISTS (SELECT 1 FROM \(other.bind(other.all)) WHERE \(matches) AND \(other.alias)._seq < \(me.alias)._seq)"
            if let grace = join.graceMilliseconds, me.isStream, other.isStream {
                // Stream time per partition number, the unit Kafka Streams keeps it for.
                let buffered = "(SELECT _ts, _part FROM \(left.state) UNION ALL SELECT _ts, _part FROM \(right.state))"
                let streamTimeAfter = "(SELECT max(_ts) FROM (SELECT _ts, _part FROM \(buffered) AS t UNION ALL "
                    + "SELECT _ts, _part FROM \(left.batch) AS n0 UNION ALL SELECT _ts, _part FROM \(right.batch) AS n1) AS t "
                    + "WHERE t._part = \(me.alias)._part)"
                let ever = "NOT EXISTS (SELECT 1 FROM \(other.bind(other.all)) WHERE \(matches))"
                batch.append(.init(text: """
                    INSERT INTO \(padded) SELECT \(2 * level + side), \(me.alias)._id FROM (
                      SELECT *, false AS _new FROM \(me.buffered) AS b WHERE NOT b._padded
                      UNION ALL SELECT *, false, true FROM \(me.batch) AS n) AS \(me.alias)
                    WHERE \(ownValue) IS NOT NULL AND (
                      (\(me.alias)._new AND \(me.alias)._ts + \(ownAfter) < \(arrivalTime(me.alias)) AND \(earlier))
                      OR (\(me.alias)._ts + \(ownAfter) + \(grace) < \(streamTimeAfter) AND \(ever)))
                    """))
            } else {
                batch.append(.init(text: """
                    INSERT INTO \(padded) SELECT \(2 * level + side), \(me.alias)._id FROM \(me.bind(me.batch))
                    WHERE \(ownValue) IS NOT NULL AND \(earlier)
                    """))
            }
        }

        let filter = filter.map { " AND (\($0))" } ?? ""
        // A pair comes with its later record; the pairs of one record come in
        // the order the records they matched came, as Kafka Streams walks its
        // window store (a pair's own order first, when it is the later one).
        let order = "CASE WHEN \(l)._seq > \(r)._seq THEN \(l)._ord || \(r)._seq || \(r)._ord ELSE \(r)._ord || \(l)._seq || \(l)._ord END"
        let pair = "NULL::bytea AS _pgk_raw_key, greatest(\(l)._seq, \(r)._seq) AS _pgk_seq, greatest(\(l)._ts, \(r)._ts) AS _pgk_ts, \(order) AS _pgk_ord"
        var arms = [
            // Pairs whose left record is new, with any right one ...
            "SELECT \(projected), \(pair) FROM \(left.bind(left.batch)) JOIN \(right.bind(right.all)) ON \(matches)\(lookups) WHERE true\(filter)",
            // ... and an older left record with a new right one.
            "SELECT \(projected), \(pair) FROM \(left.bind(left.buffered)) JOIN \(right.bind(right.batch)) ON \(matches)\(lookups) WHERE true\(filter)",
        ]
        for (side, wanted) in [(0, outer.left), (1, outer.right)] where wanted {
            let me = sides[side], other = sides[1 - side]
            arms.append("SELECT \(projected), NULL::bytea, \(me.alias)._seq, \(me.alias)._ts, \(me.alias)._ord "
                + "FROM \(me.bind(me.all)) LEFT JOIN \(other.bind(other.buffered)) ON false\(lookups) "
                + "WHERE \(me.alias)._id IN (\(paddedIDs(side)))\(filter)")
        }

        // Then the batch joins the window buffers, which keep what a late
        // record may still match (the grace period, 24 hours by default).
        var afterOutput: [QueryPlan.SQL] = []
        for (side, buffer) in sides.enumerated() {
            afterOutput.append(.init(text: "UPDATE \(buffer.state) SET _padded = true WHERE \(buffer.idColumn) IN (\(paddedIDs(side)))"))
            afterOutput.append(.init(text: buffer.bufferBatch(paddedIDs(side))))
        }
        let newest = "(SELECT _part, max(_ts) AS newest FROM (SELECT _ts, _part FROM \(left.state) UNION ALL "
            + "SELECT _ts, _part FROM \(right.state)) AS t GROUP BY _part)"
        for state in [left.state, right.state] {
            afterOutput.append(.init(text: "DELETE FROM \(state) AS s USING \(newest) AS m WHERE s._part = m._part AND "
                + (segmented ? "div(s._ts, \(segment)) < div(m.newest - \(retention - 1), \(segment))" : "s._ts < m.newest - \(retention)")))
            // A record without a timestamp can never match: it stays no longer than its batch.
            afterOutput.append(.init(text: "DELETE FROM \(state) WHERE _ts IS NULL"))
        }
        return (arms, batch, afterOutput)
    }

    /// A window join's rows of this batch (two streams, or a chain) as the
    /// records an aggregation reads, as ksqlDB aggregates a join's output:
    /// `i0`, `i1`, … are the inputs (NULLs where padded or not found), each
    /// carrying the row's arrival number and time.
    func windowJoinPairs(_ join: Join, queryID: String)
        throws -> (from: String, setup: [QueryPlan.SQL], batch: [QueryPlan.SQL], afterOutput: [QueryPlan.SQL]) {
        let joined = inputs[...]
        let fields = try pairFields(joined)
        let parts = builder.isWindowJoinChain ? try windowJoinChain(queryID: queryID, filter: nil, projection: fields)
            : try streamStreamJoin(join, queryID: queryID, filter: nil, projection: fields)
        // Each input's columns under its own alias again, with the pair's arrival and time.
        let record = "_pgk_pair._pgk_seq AS _seq, _pgk_pair._pgk_ts AS _ts, _pgk_pair._pgk_part AS _part, "
            + "_pgk_pair._pgk_off AS _off, false AS _deleted, NULL::bytea AS _key"
        let from = try "(\(parts.select)) AS _pgk_pair" + joined.map { input in
            let columns = try input.columns.enumerated().map { index, column in
                "_pgk_pair._pgk_\(input.alias.dropFirst())_\(index) AS \(try quote(column.name))"
            }
            return " CROSS JOIN LATERAL (SELECT \((columns + [record]).joined(separator: ", "))) AS \(input.alias)"
        }.joined()
        return (from, parts.setup, parts.batch, parts.afterOutput)
    }
}
