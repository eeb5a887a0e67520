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
        throws -> (select: String, setup: QueryPlan.SQL, batch: [QueryPlan.SQL], afterOutput: [QueryPlan.SQL]) {
        guard let (before, after) = join.window, let leftState = inputs[0].state, let rightState = inputs[1].state else {
            throw PlanError("internal: a stream-stream join without WITHIN or state")
        }
        guard before >= 0, after >= 0 else { throw PlanError("WITHIN takes durations of zero or more") }
        let sides = try builder.streamStreamJoinSides()
        var translator = builder.joinTranslator()
        let condition = try translator.sql(join.condition)
        let leftValue = try translator.sql(sides.left), rightValue = try translator.sql(sides.right)
        let window = "i1._ts BETWEEN i0._ts - \(before) AND i0._ts + \(after)"
        let matches = "\(condition) AND \(window)"
        let padded = try quote("\(queryID.lowercased())_padded")
        let columns = try inputs.map { input in try (input.columns.map { try quote($0.name) } + ["_ts", "_seq", "_part", "_off"]).joined(separator: ", ") }
        // Every record of a side: the window buffer, then this batch.
        let all = (0...1).map { index in
            let state = index == 0 ? leftState : rightState
            return "(SELECT \(columns[index]), _padded FROM \(state) UNION ALL "
                + "SELECT \(columns[index]), false FROM \(inputs[index].staging) WHERE NOT _deleted)"
        }
        let newRecords = (0...1).map { "(SELECT \(columns[$0]) FROM \(inputs[$0].staging) WHERE NOT _deleted)" }

        let setup = QueryPlan.SQL(text: "CREATE TEMP TABLE IF NOT EXISTS \(padded) (side smallint, seq bigint) ON COMMIT DELETE ROWS")
        _ = try planner.connection.execute(setup.text)
        var batch: [QueryPlan.SQL] = []
        let outer = (left: join.kind == .left || join.kind == .full, right: join.kind == .right || join.kind == .full)
        for (side, wanted) in [(0, outer.left), (1, outer.right)] where wanted {
            // The record being padded is always `me`; the other side is searched as i0/i1.
            let me = "i\(side)", other = "i\(1 - side)"
            let ownValue = side == 0 ? leftValue : rightValue
            let ownAfter = side == 0 ? after : before
            let earlier = "NOT EXISTS (SELECT 1 FROM \(all[1 - side]) AS \(other) WHERE \(matches) AND \(other)._seq < \(me)._seq)"
            if let grace = join.graceMilliseconds {
                // Stream time per partition number, the unit Kafka Streams keeps it for.
                let times = "(SELECT _ts, _part FROM \(leftState) UNION ALL SELECT _ts, _part FROM \(rightState))"
                let streamTimeBefore = "(SELECT max(_ts) FROM \(times) AS t WHERE t._part = \(me)._part)"
                let streamTimeAfter = "(SELECT max(_ts) FROM (SELECT _ts, _part FROM \(times) AS t UNION ALL "
                    + "SELECT _ts, _part FROM \(newRecords[0]) AS n0 UNION ALL SELECT _ts, _part FROM \(newRecords[1]) AS n1) AS t "
                    + "WHERE t._part = \(me)._part)"
                let ever = "NOT EXISTS (SELECT 1 FROM \(all[1 - side]) AS \(other) WHERE \(matches))"
                batch.append(.init(text: """
                    INSERT INTO \(padded) SELECT \(side), \(me)._seq FROM (
                      SELECT \(columns[side]), _padded, false AS _new FROM \((side == 0 ? leftState : rightState)) WHERE NOT _padded
                      UNION ALL SELECT \(columns[side]), false, true FROM \(inputs[side].staging) WHERE NOT _deleted) AS \(me)
                    WHERE \(ownValue) IS NOT NULL AND (
                      (\(me)._new AND \(me)._ts + \(ownAfter) < \(streamTimeBefore) AND \(earlier))
                      OR (\(me)._ts + \(ownAfter) + \(grace) < \(streamTimeAfter) AND \(ever)))
                    """))
            } else {
                batch.append(.init(text: """
                    INSERT INTO \(padded) SELECT \(side), \(me)._seq FROM \(newRecords[side]) AS \(me)
                    WHERE \(ownValue) IS NOT NULL AND \(earlier)
                    """))
            }
        }

        // Tables joined after the window join: each pair looks its row up as
        // of the pair's time (the later record's), as a stream-table join does.
        let lookups = try select.joins.indices.dropFirst().map { index in
            try tableVersionJoin(select.joins[index], inputs[index + 1], time: "greatest(i0._ts, i1._ts)")
        }.joined()
        let projected = projection ?? self.projection.joined(separator: ", ")
        let filter = filter.map { " AND (\($0))" } ?? ""
        var arms = [
            // Pairs whose later record is new: a new left record with any right one ...
            // Each record's matches in the order the matched records came, as
            // Kafka Streams walks its window store.
            "SELECT \(projected), NULL::bytea AS _pgk_raw_key, greatest(i0._seq, i1._seq) AS _pgk_seq, greatest(i0._ts, i1._ts) AS _pgk_ts, "
                + "least(i0._seq, i1._seq) AS _pgk_ord FROM \(newRecords[0]) AS i0 JOIN \(all[1]) AS i1 ON \(matches)\(lookups) WHERE true\(filter)",
            // ... and an older left record with a new right one.
            "SELECT \(projected), NULL::bytea, i1._seq, greatest(i0._ts, i1._ts), i0._seq "
                + "FROM \(leftState) AS i0 JOIN \(newRecords[1]) AS i1 ON \(matches)\(lookups) WHERE true\(filter)",
        ]
        if outer.left {
            arms.append("SELECT \(projected), NULL::bytea, i0._seq, i0._ts, i0._seq FROM \(all[0]) AS i0 LEFT JOIN \(rightState) AS i1 ON false\(lookups) "
                + "WHERE i0._seq IN (SELECT seq FROM \(padded) WHERE side = 0)\(filter)")
        }
        if outer.right {
            arms.append("SELECT \(projected), NULL::bytea, i1._seq, i1._ts, i1._seq FROM \(all[1]) AS i1 LEFT JOIN \(leftState) AS i0 ON false\(lookups) "
                + "WHERE i1._seq IN (SELECT seq FROM \(padded) WHERE side = 1)\(filter)")
        }

        // Then the batch joins the window buffers, which keep what a late
        // record may still match (the grace period, 24 hours by default).
        let retention = before + after + (join.graceMilliseconds ?? 86_400_000)
        var afterOutput: [QueryPlan.SQL] = []
        for side in 0...1 {
            let state = side == 0 ? leftState : rightState
            afterOutput.append(.init(text: "UPDATE \(state) SET _padded = true WHERE _seq IN (SELECT seq FROM \(padded) WHERE side = \(side))"))
            afterOutput.append(.init(text: "INSERT INTO \(state) (\(columns[side]), _padded) SELECT \(columns[side]), "
                + "_seq IN (SELECT seq FROM \(padded) WHERE side = \(side)) FROM \(inputs[side].staging) WHERE NOT _deleted"))
        }
        let newest = "(SELECT _part, max(_ts) AS newest FROM (SELECT _ts, _part FROM \(leftState) UNION ALL "
            + "SELECT _ts, _part FROM \(rightState)) AS t GROUP BY _part)"
        for state in [leftState, rightState] {
            afterOutput.append(.init(text: "DELETE FROM \(state) AS s USING \(newest) AS m "
                + "WHERE s._part = m._part AND s._ts < m.newest - \(retention)"))
            // A record without a timestamp can never match: it stays no longer than its batch.
            afterOutput.append(.init(text: "DELETE FROM \(state) WHERE _ts IS NULL"))
        }
        return (arms.joined(separator: " UNION ALL "), setup, batch, afterOutput)
    }

    /// A stream-stream join's pairs of this batch as the records an
    /// aggregation reads, as ksqlDB aggregates a join's output: `i0` and
    /// `i1` are the two sides (NULLs where padded), each carrying the
    /// pair's arrival number and time.
    func windowJoinPairs(_ join: Join, queryID: String)
        throws -> (from: String, setup: QueryPlan.SQL, batch: [QueryPlan.SQL], afterOutput: [QueryPlan.SQL]) {
        var pairColumns: [String] = [], sides: [[String]] = [[], []]
        for side in 0...1 {
            for (index, column) in inputs[side].columns.enumerated() {
                let name = try quote(column.name)
                pairColumns.append("i\(side).\(name) AS _pgk_\(side)_\(index)")
                sides[side].append("_pgk_pair._pgk_\(side)_\(index) AS \(name)")
            }
        }
        // A pair's partition number is both records' (co-partitioned), or the padded one's.
        pairColumns += ["coalesce(i0._part, i1._part) AS _pgk_part", "coalesce(i0._off, i1._off) AS _pgk_off"]
        let parts = try streamStreamJoin(join, queryID: queryID, filter: nil, projection: pairColumns.joined(separator: ", "))
        let record = "_pgk_pair._pgk_seq AS _seq, _pgk_pair._pgk_ts AS _ts, _pgk_pair._pgk_part AS _part, "
            + "_pgk_pair._pgk_off AS _off, false AS _deleted, NULL::bytea AS _key"
        let from = "(\(parts.select)) AS _pgk_pair" + (0...1).map { side in
            " CROSS JOIN LATERAL (SELECT \((sides[side] + [record]).joined(separator: ", "))) AS i\(side)"
        }.joined()
        return (from, parts.setup, parts.batch, parts.afterOutput)
    }
}
