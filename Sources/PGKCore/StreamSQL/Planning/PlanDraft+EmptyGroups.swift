/// A table aggregate whose group loses its last row: ksqlDB undoes the
/// row's contribution and keeps the group at its aggregates' starting
/// values (COUNT 0, SUM 0, an empty COLLECT_LIST), unless HAVING turns it
/// down. Recomputing from the remaining rows finds no group at all, so
/// this statement writes those rows for the affected keys left without one.
extension Draft {
    func emptyGroups(resultTable: String, affected: String, columns: [(name: String, type: String)]) throws -> QueryPlan.SQL {
        var translator = ExpressionTranslator(parameterOffset: 0) { qualifier, name in
            throw PlanError("\(qualifier.map { "\($0)." } ?? "")\(name) has no value in an empty group")
        }
        translator.override = { expression in
            if let index = select.groupBy.firstIndex(where: { builder.sameColumn($0, expression) }) {
                return "a.\(try quote(keyNames[index]))"
            }
            guard case .call(let name, _, _, _) = expression, let aggregate = AggregateFunction(rawValue: name) else { return nil }
            switch aggregate {
            case .count, .countDistinct, .sum, .sumList: return "0"
            case .stddevSamp, .stddevSample: return "0.0"
            case .correlation: return "CAST('NaN' AS double precision)"
            case .collectList, .collectSet, .topK, .topKDistinct, .histogram: return "'{}'"
            case .avg, .min, .max, .latestByOffset, .earliestByOffset: return "NULL"
            }
        }
        // An item that needs a row's column (not a group key) has no value: NULL.
        var values: [String] = []
        for (item, column) in zip(items, columns) {
            var attempt = translator
            if let sql = try? attempt.sql(item.expression) {
                translator = attempt  // its literals are numbered on from here
                values.append("CAST(\(sql) AS \(column.type))")
            } else {
                values.append("CAST(NULL AS \(column.type))")
            }
        }
        let condition = try select.having.map { try translator.sql($0) }
        let keys = try keyNames.map { try quote($0) }
        let missing = keys.map { "r.\($0) = a.\($0)" }.joined(separator: " AND ")
        // Only a group no row (WHERE allowing) belongs to any more: HAVING
        // may turn down a group that still has rows.
        let state = try recomputeSource(parameterOffset: translator.parameters.count)
        var rowFilter = builder.translator(offset: translator.parameters.count + state.parameters.count)
        let filter = try select.filter.map { " AND \(try rowFilter.sql($0))" } ?? ""
        let affectedKeys = keys.map { "a.\($0)" }.joined(separator: ", ")
        return .init(text: """
            INSERT INTO \(resultTable) (\(try columns.map { try quote($0.name) }.joined(separator: ", ")))
            SELECT \(values.joined(separator: ", ")) FROM (SELECT DISTINCT * FROM \(affected)) AS a
            WHERE NOT EXISTS (SELECT 1 FROM \(resultTable) AS r WHERE \(missing))\(condition.map { " AND (\($0))" } ?? "")
              AND NOT EXISTS (SELECT 1 FROM \(state.from) WHERE (\(state.affected)) = (\(affectedKeys))\(filter))
            """, parameters: translator.parameters + state.parameters + rowFilter.parameters)
    }
}
