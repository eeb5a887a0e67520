/// Whether a stream aggregation is plain enough for pgk to pre-aggregate
/// each batch itself (QueryPlan.Combined, BatchCombiner): one stream, no
/// WHERE, window or join, GROUP BY plain columns whose text identifies
/// their value, and only COUNT, SUM, AVG, MIN and MAX over whole numbers.
/// Anything else is folded by SQL from the staged records, as before.
extension Draft {
    func combinable(_ partials: [Partial], groups: [Expression], types: [(name: String, type: String)],
                    table: String) throws -> QueryPlan.Combined? {
        guard inputs.count == 1, !groups.isEmpty, select.joins.isEmpty, select.window == nil, !select.emitFinal,
              !inputs[0].source.isTable, types.count == groups.count + partials.count else { return nil }
        let columns = inputs[0].source.columns
        // The staged row: the source's columns, then _key, _deleted, _ts.
        let fieldNames = try columns.map { "\(inputs[0].alias).\(try quote(postgresName($0.name)))" }
        func field(_ expression: Expression, typedAs allowed: [SQLType]?) throws -> Int? {
            guard let resolved = try? builder.resolveExpression(expression),
                  let index = fieldNames.firstIndex(of: resolved) else { return nil }
            return allowed.map { $0.contains(columns[index].type) } ?? true ? index : nil
        }
        // A WHERE only where the records read can be filtered exactly as SQL would.
        var filter: FlatFilter?
        if let condition = select.filter {
            filter = FlatFilter(condition) { expression in
                (try? field(expression, typedAs: nil)).flatMap { $0 }.map { ($0, columns[$0].type) }
            }
            guard filter != nil else { return nil }
        }
        // Equal text, equal value: no DOUBLE (1.0 and 1), no nested types.
        var groupFields: [Int] = []
        for group in groups {
            guard let index = try field(group, typedAs: [.integer, .bigint, .string, .boolean]) else { return nil }
            groupFields.append(index)
        }
        var reductions: [(QueryPlan.Combined.Reduction, field: Int)] = []
        for partial in partials {
            guard let reduction = partial.reduction else { return nil }
            switch reduction {
            case .count, .latestRowtime:
                reductions.append((reduction, field: columns.count + 2))
            case .countValues:
                guard let argument = partial.partial, let index = try field(argument, typedAs: nil) else { return nil }
                reductions.append((reduction, field: index))
            case .sum, .sumAsDouble, .min, .max:
                guard let argument = partial.partial, let index = try field(argument, typedAs: [.integer, .bigint, .double]) else { return nil }
                reductions.append((reduction, field: index))
            }
        }
        let doubleFields = Set(reductions.map(\.field).filter { $0 < columns.count && columns[$0].type == .double })
        return QueryPlan.Combined(table: table, columns: types.map(\.name), groupFields: groupFields, reductions: reductions,
                                  deletedField: columns.count + 1, rowtimeField: columns.count + 2, batch: [], doubleFields: doubleFields,
                                  filter: filter)
    }
}
