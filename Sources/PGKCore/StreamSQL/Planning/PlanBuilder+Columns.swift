/// Name resolution for a query: which input a column reference reads,
/// its declared type, and the result columns a SELECT list names.
extension PlanBuilder {
    /// ksqlDB's pseudo columns for a record's partition and offset, and
    /// the staging (or join buffer) columns that hold them.
    static let recordPositions = ["ROWPARTITION": "_part", "ROWOFFSET": "_off"]

    /// The input a pseudo column (ROWTIME, ROWPARTITION, ROWOFFSET) reads:
    /// the one its qualifier names, else the first.
    private func pseudoColumnInput(_ qualifier: String?) throws -> QueryPlan.Input {
        guard let qualifier else { return inputs[0] }
        guard let input = inputs.first(where: { $0.qualifier.uppercased() == qualifier.uppercased() || $0.source.name == qualifier.uppercased() }) else {
            throw PlanError("unknown source or alias \(qualifier)" + didYouMean(qualifier, among: inputs.map(\.qualifier)))
        }
        return input
    }

    /// The declared type of the column `resolve` finds; nil where it finds none.
    func columnType(_ qualifier: String?, _ name: String) -> SQLType? {
        if Self.recordPositions[name.uppercased()] != nil, !inputs.contains(where: { $0.source.column(named: name) != nil }) {
            return name.uppercased() == "ROWPARTITION" ? .integer : .bigint
        }
        if shape == .streamStreamJoin, qualifier == nil, name.uppercased() == syntheticKeyName, let sides = try? streamStreamJoinSides() {
            // The synthetic key holds the join value: a STRUCT key is written as one.
            let typing = translator()
            return typing.staticType(sides.left) ?? typing.staticType(sides.right)
        }
        let matches = inputs.filter { input in
            qualifier.map { $0.uppercased() == input.qualifier.uppercased() || $0.uppercased() == input.source.name } ?? true
        }.compactMap { $0.source.column(named: name) }
        return matches.count == 1 ? matches[0].type : nil
    }

    /// `i0."col"` for a column of one input; unknown and ambiguous names
    /// are errors with a suggestion.
    func resolve(_ qualifier: String?, _ name: String) throws -> String {
        if ["WINDOWSTART", "WINDOWEND"].contains(name.uppercased()), !inputs.contains(where: \.source.isWindowed) {
            guard select.window != nil else { throw PlanError("\(name.uppercased()) exists only in a windowed aggregation") }
            // Replaced by the accumulator's window columns (PlanDraft+Accumulating).
            return "CAST(NULL AS bigint)"
        }
        // The synthetic key's name is no source column's (see syntheticKeyName).
        if shape == .streamStreamJoin, qualifier == nil, name.uppercased() == syntheticKeyName {
            // Named in ON itself, it would be defined by itself (a source's own ROWKEY column is another name).
            if let condition = select.joins.first?.condition, Self.mentions(condition, unqualified: syntheticKeyName) {
                throw PlanError("ROWKEY is the join's result key: name the joined columns in ON")
            }
            // ksqlDB's synthetic key of a join: the join value of whichever side is there.
            let values = try windowJoinValues(isWindowJoinChain ? select.joins.count - 1 : 0)
            return "coalesce(\(values.left), \(values.right))"
        }
        if shape == .tableJoin, tableJoinIsOuter, qualifier == nil, name.uppercased() == syntheticKeyName {
            // An outer table join's key: the key of whichever side is there.
            return "coalesce(\(try inputs.map { "\($0.alias).\(try quote($0.keyColumns[0]))" }.joined(separator: ", ")))"
        }
        if name.uppercased() == "ROWTIME" {
            return "\(try pseudoColumnInput(qualifier).alias)._ts"
        }
        if let position = Self.recordPositions[name.uppercased()], !inputs.contains(where: { $0.source.column(named: name) != nil }) {
            let input = try pseudoColumnInput(qualifier)
            // A table's rows are kept by key in pgk, not by the record that last set them.
            guard !input.source.isTable else {
                throw PlanError("\(name.uppercased()) is not supported over a table (\(input.source.name)) in pgk: only a stream's records have one")
            }
            return "\(input.alias).\(position)"
        }
        let candidates = inputs.filter { input in
            qualifier.map { $0.uppercased() == input.qualifier.uppercased() || $0.uppercased() == input.source.name } ?? true
        }
        if let qualifier, candidates.isEmpty {
            throw PlanError("unknown source or alias \(qualifier)" + didYouMean(qualifier, among: inputs.map(\.qualifier)))
        }
        let matches = candidates.filter { $0.source.column(named: name) != nil }
        guard let input = matches.first, let column = input.source.column(named: name) else {
            let known = candidates.flatMap { $0.source.columns.map(\.name) }
            throw PlanError("unknown column \(qualifier.map { "\($0)." } ?? "")\(name)" + didYouMean(name, among: known))
        }
        guard matches.count == 1 else { throw PlanError("column \(name) is ambiguous: qualify it with a source alias") }
        return "\(input.alias).\(try quote(postgresName(column.name)))"
    }

    func outputItems() throws -> [Item] {
        var items: [Item] = []
        var fieldAliases = structFieldAliases()
        for item in select.items {
            switch item {
            case .all(let qualifier):
                let chosen = inputs.filter { input in
                    qualifier.map { $0.uppercased() == input.qualifier.uppercased() || $0.uppercased() == input.source.name } ?? true
                }
                if chosen.isEmpty { throw PlanError("unknown source or alias \(qualifier ?? "")") }
                for input in chosen {
                    // Re-partitioned, a stream's old key columns follow its
                    // value columns, as ksqlDB's repartition lays them out.
                    var names = input.source.columns.map(\.name)
                    if !select.partitionBy.isEmpty && !input.source.isTable {
                        names = names.filter { !input.source.keyColumns.contains($0) }
                            + names.filter { input.source.keyColumns.contains($0) }
                        if shape == .streamStreamJoin {
                            // ksqlDB's join result carries each side's pseudo columns as
                            // values, and a repartition after the join keeps them under `*`.
                            let keys = names.count - input.source.keyColumns.count
                            names.insert(contentsOf: ["ROWTIME", "ROWPARTITION", "ROWOFFSET"], at: keys)
                        }
                    }
                    for name in names {
                        // ksqlDB prefixes columns of a joined `*` with the source alias.
                        let prefixed = inputs.count > 1 ? "\(input.qualifier.uppercased())_\(name)" : name
                        items.append(Item(name: prefixed, expression: .column(qualifier: input.qualifier, name: name)))
                    }
                }
            case .expression(.field(let base, "*"), _):
                items += try structFields(of: base).map { Item(name: $0, expression: .field(base, $0)) }
            case .expression(let expression, let alias):
                var name = alias
                if name == nil, case .column(let qualifier, let column) = expression {
                    // A column two or more sources of a join have is named after its source, as in ksqlDB.
                    // Every source has ROWTIME, ROWPARTITION and ROWOFFSET.
                    let shared = inputs.count > 1 && (["ROWTIME", "ROWPARTITION", "ROWOFFSET"].contains(column.uppercased())
                        || inputs.filter { $0.source.column(named: column) != nil }.count > 1)
                    name = shared && qualifier != nil ? "\(qualifier!.uppercased())_\(column)" : column
                }
                // A struct field is named after the field, as in ksqlDB (S->TOWN is TOWN, or TOWN_1 …).
                if name == nil, case .field(_, let field) = expression {
                    name = fieldAliases.name(for: field.uppercased())
                }
                items.append(Item(name: name ?? generatedName(avoiding: items), expression: expression))
            }
        }
        var seen: Set<String> = []
        for item in items where !seen.insert(postgresName(item.name)).inserted {
            throw PlanError("the SELECT names column \(item.name) twice: give one an alias (AS)")
        }
        return items
    }

    /// The name of a join's synthetic key column: ROWKEY, or else ROWKEY_n
    /// for the first n that no source column has, as ksqlDB names it.
    var syntheticKeyName: String {
        let taken = Set(inputs.flatMap { $0.source.columns.map { $0.name.uppercased() } })
        guard taken.contains("ROWKEY") else { return "ROWKEY" }
        return (1...).lazy.map { "ROWKEY_\($0)" }.first { !taken.contains($0) }!
    }

    /// Whether `expression` refers to the column `name` without a qualifier.
    static func mentions(_ expression: Expression, unqualified name: String) -> Bool {
        func walk(_ expression: Expression) -> Bool {
            switch expression {
            case .literal: return false
            case .column(let qualifier, let column): return qualifier == nil && column.uppercased() == name
            case .unary(_, let operand), .cast(let operand, _), .isNull(let operand, _), .field(let operand, _): return walk(operand)
            case .binary(_, let a, let b), .element(let a, let b): return walk(a) || walk(b)
            case .call(_, let arguments, _, _): return arguments.contains(where: walk)
            case .like(let value, let pattern, _, _): return walk(value) || walk(pattern)
            case .between(let value, let low, let high, _): return walk(value) || walk(low) || walk(high)
            case .inList(let value, let list, _): return walk(value) || list.contains(where: walk)
            case .caseWhen(let operand, let branches, let otherwise):
                return operand.map(walk) ?? false || branches.contains { walk($0.0) || walk($0.1) } || otherwise.map(walk) ?? false
            case .lambda(_, let body): return walk(body)
            }
        }
        return walk(expression)
    }

    /// The field names `base->*` expands to, in declared order.
    func structFields(of base: Expression) throws -> [String] {
        guard case .struct(let fields)? = translator().staticType(base) else {
            throw PlanError("->* selects the fields of a STRUCT, and \(base.sqlText) is not one")
        }
        return fields.map(\.0)
    }

    /// Names for unaliased struct fields, clear of the sources' columns.
    func structFieldAliases() -> StructFieldAliases {
        StructFieldAliases(sourceColumns: inputs.flatMap { $0.source.columns.map { $0.name.uppercased() } })
    }

    /// ksqlDB's name for an unnamed expression: KSQL_COL_0, KSQL_COL_1, …,
    /// the first that no source column or earlier item has.
    func generatedName(avoiding items: [Item]) -> String {
        var index = 0
        while true {
            let name = "KSQL_COL_\(index)"
            if !items.contains(where: { $0.name == name }) && !inputs.contains(where: { $0.source.column(named: name) != nil }) {
                return name
            }
            index += 1
        }
    }

    /// Whether two expressions name the same column (qualifiers may differ in spelling).
    func sameColumn(_ a: Expression, _ b: Expression) -> Bool {
        if a == b { return true }
        guard let left = try? resolveExpression(a), let right = try? resolveExpression(b) else { return false }
        return left == right
    }

    func resolveExpression(_ expression: Expression) throws -> String? {
        guard case .column(let qualifier, let name) = expression else { return nil }
        return try resolve(qualifier, name)
    }
}
