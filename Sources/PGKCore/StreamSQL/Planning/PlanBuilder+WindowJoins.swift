/// Keys, sides and values of stream-stream joins, and of chains of joins
/// nested one into the next (see Draft.streamStreamJoin and windowJoinChain).
extension PlanBuilder {
    /// A stream-stream join is keyed by its first plain-column side the
    /// SELECT includes (left first); a FULL join, or one on expressions,
    /// by the synthetic ROWKEY, which the SELECT must then include.
    func streamStreamKeyNames(_ items: [Item]) throws -> [String] {
        if inputs.count > 2 && !isWindowJoinChain {
            // Enriched from tables after the window join: keyed by the last table
            // join, as a stream-table join is, or else by the window join's value.
            let candidates = try streamTableJoinColumns(skipping: 1) + streamStreamKeyCandidates()
            guard let item = firstItem(items, matchingOneOf: candidates) else {
                throw PlanError("key missing from projection: the SELECT must include the join column "
                    + candidates.map(Self.text).joined(separator: " or ") + ", the key of the result")
            }
            return [item.name]
        }
        let candidates = try streamStreamKeyCandidates()
        if let item = firstItem(items, matchingOneOf: candidates) { return [item.name] }
        if let item = items.first(where: { $0.expression == .column(qualifier: nil, name: syntheticKeyName) }) { return [item.name] }
        let wanted = candidates.isEmpty ? "\(syntheticKeyName) (the join value of whichever side is there)"
            : candidates.map(Self.text).joined(separator: " or ")
        throw PlanError("key missing from projection: the SELECT must include the join expression \(wanted), the key of the result")
    }

    /// The join columns that may key a stream-stream join's result: none
    /// for a FULL join, whose key is whichever side is there. Streams
    /// joined one after another are keyed by any of their joins' columns.
    func streamStreamKeyCandidates() throws -> [Expression] {
        let levels = isWindowJoinChain ? select.joins.indices : 0..<1
        guard !select.joins[levels].contains(where: { $0.kind == .full }) else { return [] }
        return try levels.flatMap { level -> [Expression] in
            let sides = try streamStreamJoinSides(level)
            return [sides.left, sides.right].filter { if case .column = $0 { return true } else { return false } }
        }
    }

    /// Joins nested one into the next (see Draft.windowJoinChain): more
    /// than two streams, or a stream joined after a table. Two streams then
    /// tables are planned as one window join whose pairs look tables up,
    /// unless aggregated.
    var isWindowJoinChain: Bool {
        [.streamStreamJoin, .aggregate].contains(shape) && QueryPlanner.chainsWindowJoins(select, inputs)
            && (shape == .aggregate || !inputs.dropFirst(2).allSatisfy(\.source.isTable))
    }

    /// In a chain, a table is joined INNER or LEFT, without WITHIN, ON its primary key.
    func checkChainTableJoins() throws {
        for (index, join) in select.joins.enumerated() where inputs[index + 1].source.isTable {
            let table = inputs[index + 1]
            let names = "\(inputs[index].source.name) \(join.kind.rawValue) JOIN \(table.source.name)"
            guard join.kind == .inner || join.kind == .left else {
                throw PlanError("a stream-table join is INNER or LEFT, not \(join.kind.rawValue) (\(names))")
            }
            guard join.withinMilliseconds == nil else { throw PlanError("WITHIN applies to stream-stream joins, not \(names)") }
            let sides = try streamStreamJoinSides(index)
            guard let key = table.keyColumns.first, table.keyColumns.count == 1,
                  try resolveExpression(sides.right) == "\(table.alias).\(try quote(key))" else {
                throw PlanError("a stream-table join must be ON the table's primary key "
                    + "\(table.source.keyColumns.first ?? "?") (\(names))")
            }
        }
    }

    /// Each side's join value at window join `level`, as SQL. Past the
    /// first join, a left side that names a column an earlier join matched
    /// on is that join's key, whichever of its sides is there (as ksqlDB
    /// joins on the key of a join's result, not repartitioning it).
    func windowJoinValues(_ level: Int) throws -> (left: String, right: String) {
        let sides = try streamStreamJoinSides(level)
        var translator = joinTranslator()
        var left = try translator.sql(sides.left)
        let right = try translator.sql(sides.right)
        if level > 0 {
            let earlier = try streamStreamJoinSides(level - 1)
            if sameColumn(sides.left, earlier.left) || sameColumn(sides.left, earlier.right) {
                let key = try windowJoinValues(level - 1)
                left = "coalesce(\(key.left), \(key.right))"
            }
        }
        return (left, right)
    }

    /// Whether the result is keyed by the synthetic ROWKEY: no join column is selected.
    func streamStreamKeyIsSynthetic(_ items: [Item]) throws -> Bool {
        firstItem(items, matchingOneOf: try streamStreamKeyCandidates()) == nil
    }

    /// The two sides of a stream-stream join's equality, the left one's
    /// first: the left refers to the streams joined before (`level`
    /// counts the joins), the right to the stream joined now.
    func streamStreamJoinSides(_ level: Int = 0) throws -> (left: Expression, right: Expression) {
        guard level < select.joins.count, case .binary(.equal, let a, let b) = select.joins[level].condition else {
            throw PlanError("a stream-stream join must be ON an equality, e.g. ON l.id = r.id")
        }
        var translator = joinTranslator()
        let (sqlA, sqlB) = (try translator.sql(a), try translator.sql(b))
        func side(_ sql: String) -> Int? {
            let refers = { (index: Int) in sql.contains("i\(index).") }
            let later = inputs.indices.dropFirst(level + 2).contains(where: refers)
            switch ((0...level).contains(where: refers), refers(level + 1), later) {
            case (true, false, false): return 0
            case (false, true, false): return 1
            default: return nil
            }
        }
        switch (side(sqlA), side(sqlB)) {
        case (0, 1): return (a, b)
        case (1, 0): return (b, a)
        default: throw PlanError("each side of a join condition must refer to exactly one of the joined streams")
        }
    }

    /// Windowed streams join as Kafka Streams joins their windowed keys:
    /// key to key, window to window, so both have windows of one kind (and
    /// size), and the join is on their keys (ksqlDB's messages).
    func checkWindowedJoin() throws {
        let (left, right) = (inputs[0].source, inputs[1].source)
        func kind(_ source: CatalogSource) -> String {
            source.isSessionWindowed ? "SESSION" : source.isWindowed ? "TIME" : "not"
        }
        guard left.isWindowed && right.isWindowed else {
            let windowed = left.isWindowed ? left : right, other = left.isWindowed ? right : left
            throw PlanError("Can not join windowed source to non-windowed source. `\(windowed.name)` is \(kind(windowed)) windowed, "
                + "`\(other.name)` is not windowed")
        }
        guard left.isSessionWindowed == right.isSessionWindowed else {
            throw PlanError("Incompatible windowed sources: \(left.name) is \(kind(left)) windowed and \(right.name) \(kind(right)) windowed; "
                + "session windowed sources can only be joined to other session windowed sources")
        }
        let sides = try streamStreamJoinSides()
        let keyed = [(sides.left, inputs[0]), (sides.right, inputs[1])].allSatisfy { side, input in
            input.source.plainKeyColumns.count == 1
                && (try? resolveExpression(side)) == "\(input.alias).\((try? quote(postgresName(input.source.plainKeyColumns[0]))) ?? "")"
        }
        guard keyed, left.windowSize == right.windowSize else {
            throw PlanError("Implicit repartitioning of windowed sources is not supported: join them ON their keys, with windows of one size")
        }
    }

    /// The condition that pairs only records of the same window.
    func sameWindow() throws -> String? {
        guard inputs.count >= 2, inputs[0].source.isWindowed, inputs[1].source.isWindowed else { return nil }
        return try inputs[0].source.keyColumns.filter { ["WINDOWSTART", "WINDOWEND"].contains($0) }.map { name in
            let column = try quote(postgresName(name))
            return "i0.\(column) = i1.\(column)"
        }.joined(separator: " AND ")
    }
}
