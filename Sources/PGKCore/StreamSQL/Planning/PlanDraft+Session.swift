/// SESSION windows over the accumulator of PlanDraft+Accumulating: a
/// batch's records become one-point sessions; every stored session
/// within the gap of one of them is taken out; and the lot is merged
/// back as islands (a new island starts where a start lies more than the
/// gap past every earlier end). The result is the same whatever order
/// records arrive in, as Kafka Streams' merging is for kept records.
extension Draft {
    struct SessionTables {
        /// One row per session: groups, start (the last group column), partials, `we` (end, inclusive).
        var accumulator: String
        /// Same columns; the batch's points and the sessions they touch.
        var points: String
        /// Result keys to rewrite: groups, WINDOWSTART, WINDOWEND; nil
        /// under EMIT FINAL, where only closing a session writes results.
        var affected: String?
    }

    func sessionMerge(_ tables: SessionTables, partials: [Partial], types: [(name: String, type: String)], groups: Int,
                      gapMilliseconds: Int64, graceMilliseconds: Int64, selectPoints: QueryPlan.SQL) -> [QueryPlan.SQL] {
        let groupColumns = (0..<groups).map { "g\($0)" }
        let start = "g\(groups)"
        let groupList = groupColumns.joined(separator: ", ")
        let partition = groupColumns.isEmpty ? "" : "PARTITION BY \(groupList) "
        let sameGroup = (groupColumns.map { "p.\($0) = a.\($0)" }).joined(separator: " AND ")
        let keyColumns = (groupColumns + [start, "we"]).joined(separator: ", ")
        let combined = partials.map { partial in
            let type = types.first { $0.name == partial.column }?.type ?? "bigint"
            // sum() widens (bigint to numeric): the column keeps its type.
            return "CAST(\(partial.combine?(partial.column) ?? "NULL") AS \(type))"
        }
        let columns = (groupColumns + [start] + partials.map(\.column) + ["we"]).joined(separator: ", ")
        let gap = "\(gapMilliseconds)::bigint", kept = "\(gapMilliseconds + graceMilliseconds)::bigint"
        // The largest end before a row (in start order): a row starts a new
        // island past the gap, or once that session had expired when the
        // row's record arrived.
        let before = "max(we) OVER (\(partition)ORDER BY \(start), we ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
        let noteMoved = tables.affected.map { ", noted AS (INSERT INTO \($0) SELECT \(keyColumns) FROM moved)" } ?? ""
        let merge = """
            INSERT INTO \(tables.accumulator) (\(columns))
            SELECT \((groupColumns + ["min(\(start))"] + combined + ["max(we)"]).joined(separator: ", "))
            FROM (SELECT *, sum(brk) OVER (\(partition)ORDER BY \(start), we ROWS UNBOUNDED PRECEDING) AS island
                  FROM (SELECT *, \(start) AS pgk_start, CASE WHEN \(start) > \(before) + \(gap) OR \(before) + \(kept) < st
                                       THEN 1 ELSE 0 END AS brk
                        FROM \(tables.points)) AS x) AS y
            GROUP BY \((groupColumns + ["island"]).joined(separator: ", "))
            """
        return [
            .init(text: "INSERT INTO \(tables.points) (\(types.map(\.name).joined(separator: ", "))) \(selectPoints.text)",
                  parameters: selectPoints.parameters),
            // Sessions a point reaches: end + gap ≥ point and start ≤ point + gap,
            // and not yet expired when it arrived: Kafka Streams keeps a
            // session for the gap plus the grace period past its end.
            .init(text: """
                WITH moved AS (
                  DELETE FROM \(tables.accumulator) AS a USING \(tables.points) AS p
                  WHERE \(sameGroup.isEmpty ? "" : sameGroup + " AND ")a.we + \(gap) >= p.\(start) AND a.\(start) <= p.we + \(gap)
                    AND a.we + \(kept) >= coalesce(p.st, a.we)
                  RETURNING a.*)\(noteMoved)
                INSERT INTO \(tables.points) SELECT * FROM moved
                """),
            .init(text: tables.affected.map { "WITH merged AS (\(merge) RETURNING \(keyColumns)) INSERT INTO \($0) SELECT * FROM merged" }
                ?? merge),
        ]
    }
}
