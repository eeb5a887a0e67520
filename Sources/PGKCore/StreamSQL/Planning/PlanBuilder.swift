/// Writes a query's per-batch statements once its inputs are known (see
/// QueryPlanner). Relations are aliased `i0`, `i1`; the staging tables
/// hold the batch, the state tables everything before it.
struct PlanBuilder {
    let planner: QueryPlanner
    let select: Select
    let inputs: [QueryPlan.Input]
    let shape: QueryShape
    /// The literals of the join conditions (see `joinTranslator`).
    let joinConstants = JoinConstants()

    static let resultComment = "maintained by pgk sql"

    var connection: PostgresConnection { planner.connection }
    func quote(_ name: String) throws -> String { try connection.quoteIdentifier(name) }

    struct Item {
        var name: String
        var expression: Expression
    }

    func build(create: CreateAsSelect, queryID: String, statement: String, setup inputSetup: [QueryPlan.SQL]) throws -> QueryPlan {
        try checkJoinValues()
        var items = try outputItems()
        try carryWindows(&items)
        var keyNames: [String] = []
        switch shape {
        case .aggregate:
            if isWindowJoinChain { try checkChainTableJoins() } else if inputs.count > 1 && inputs[1].source.isTable { _ = try streamTableJoinColumns() }
            keyNames = try select.groupBy.map { group in
                guard let item = items.first(where: { sameColumn($0.expression, group) }) else {
                    throw PlanError("key missing from projection: the SELECT must include the grouping expression \(group.sqlText)")
                }
                return item.name
            }
            if select.window != nil {
                // A windowed table is keyed by its groups and the window start, as in ksqlDB.
                for name in ["WINDOWSTART", "WINDOWEND"] where !items.contains(where: { $0.name == name }) {
                    items.append(Item(name: name, expression: .column(qualifier: nil, name: name)))
                }
                keyNames.append("WINDOWSTART")
                // A session's end is in its key too (Kafka Streams' session key).
                if select.window?.kind == .session { keyNames.append("WINDOWEND") }
            }
        case .tableProjection where inputs[0].source.keyColumns.count > 1:
            // Several key columns: the result is keyed by all of them.
            keyNames = try inputs[0].source.keyColumns.map { key in
                guard let item = items.first(where: { sameColumn($0.expression, .column(qualifier: inputs[0].qualifier, name: key)) }) else {
                    throw PlanError("key missing from projection: the SELECT must include the key column \(key)")
                }
                return item.name
            }
        case .tableProjection, .tableJoin:
            if shape == .tableJoin, let wide = inputs.first(where: { $0.source.keyColumns.count > 1 }) {
                throw PlanError("joining table \(wide.source.name), which has several key columns, is not supported yet")
            }
            if shape == .tableJoin && inputs.count > 2 { try checkTableChain() }
            let tableKeys = inputs.prefix(shape == .tableJoin ? inputs.count : 1).compactMap { input -> Expression? in
                input.source.keyColumns.first.map { .column(qualifier: input.qualifier, name: $0) }
            }
            // A foreign-key join is keyed by the left table's key alone.
            let foreignKey = shape == .tableJoin ? try tableJoinForeignKey() : nil
            let keys = foreignKey == nil ? tableKeys : Array(tableKeys.prefix(1))
            let rowKey = Expression.column(qualifier: nil, name: syntheticKeyName)
            guard let index = items.firstIndex(where: { item in
                keys.contains { sameColumn(item.expression, $0) } || (tableJoinIsOuter && item.expression == rowKey)
            }) else {
                throw PlanError("key missing from projection: the SELECT must include the key column "
                    + (inputs[0].source.keyColumns.first ?? "?"))
            }
            keyNames = [items[index].name]
            if tableJoinIsOuter {
                // An outer join's row may lack the named side: its key is the
                // one present (all are equal where present).
                items[index].expression = .call(name: "COALESCE", arguments: tableKeys)
            }
        case .streamProjection, .streamTableJoin, .streamStreamJoin:
            if shape == .streamTableJoin { _ = try streamTableJoinColumns() }
            if shape == .streamStreamJoin && inputs.count > 2 && !isWindowJoinChain { _ = try streamTableJoinColumns(skipping: 1) }
            if isWindowJoinChain { try checkChainTableJoins() }
            let rowKey = Expression.column(qualifier: nil, name: syntheticKeyName)
            if shape == .streamStreamJoin, inputs.count == 2, select.partitionBy.isEmpty, try streamStreamKeyIsSynthetic(items),
               select.items.contains(where: { if case .all(nil) = $0 { return true } else { return false } }),
               !items.contains(where: { $0.expression == rowKey }) {
                // ksqlDB gives `SELECT *` over a join keyed by no selected column its synthetic key column.
                items.insert(Item(name: syntheticKeyName, expression: rowKey), at: 0)
            }
            if select.partitionBy == [.literal(.null)] {
                // PARTITION BY NULL: no key at all.
                if create.properties.text(of: "KEY_FORMAT") != nil {
                    throw PlanError("KEY_FORMAT is set for a stream without key columns (PARTITION BY NULL)")
                }
            } else if !select.partitionBy.isEmpty {
                // Each expression is a key column: the SELECT's item for it,
                // or, under SELECT *, a new one named as ksqlDB names it (the
                // column, a struct field's name, else KSQL_COL_n).
                let selectsAll = select.items.contains { if case .all = $0 { return true } else { return false } }
                var fieldAliases = structFieldAliases()
                for partition in select.partitionBy {
                    if let item = items.first(where: { sameColumn($0.expression, partition) }) {
                        keyNames.append(item.name)
                        continue
                    }
                    guard selectsAll else {
                        throw PlanError("key missing from projection: the SELECT must include the partitioning expression \(partition.sqlText)")
                    }
                    var name: String
                    switch partition {
                    case .column(_, let column): name = column
                    case .field(_, let field): name = fieldAliases.name(for: field.uppercased())
                    default: name = generatedName(avoiding: items)
                    }
                    if items.contains(where: { $0.name == name }) { name = generatedName(avoiding: items) }
                    items.append(Item(name: name, expression: partition))
                    keyNames.append(name)
                }
            } else {
                keyNames = try streamKeyNames(items, create)
            }
            try checkKeyNamedOnce(items, keyNames)
            if shape == .streamStreamJoin, select.partitionBy.isEmpty, let index = items.firstIndex(where: { keyNames.contains($0.name) }) {
                // The key is the join value, whichever side a padded row has;
                // keyed by a later table join, that join's stream side.
                let byTable = try inputs.count > 2 && !isWindowJoinChain
                    && firstItem([items[index]], matchingOneOf: streamTableJoinColumns(skipping: 1)) != nil
                items[index].expression = byTable
                    ? try streamSideOfJoin(matching: items[index].expression, skipping: 1) ?? items[index].expression
                    : .column(qualifier: nil, name: syntheticKeyName)
            }
            if shape == .streamStreamJoin, inputs[0].source.isWindowed {
                // Windowed sources join window to window: the result is keyed by the window too.
                keyNames += inputs[0].source.keyColumns.filter { ["WINDOWSTART", "WINDOWEND"].contains($0) }
            }
            if shape == .streamTableJoin, select.partitionBy.isEmpty,
               let index = items.firstIndex(where: { keyNames.contains($0.name) }) {
                // Keyed by a table's key column: take the stream side, which
                // equals it when the row is there and is still the key when not.
                items[index].expression = try streamSideOfJoin(matching: items[index].expression) ?? items[index].expression
            }
        }
        try checkKsqlDBRules(items: items, keyNames: keyNames, create: create)
        try checkTableFunctions(items)
        var translator = translator()
        translator.comparisonsAsValues = true
        translator.allowsTableFunctions = true
        // A null record passed on by PARTITION BY is keyed by what the
        // expression makes of its key columns; one that reads a value column
        // gives it a null key (as ksqlDB does: `PARTITION BY k + 2` keeps 2,
        // `PARTITION BY name IS NULL` gives null, not true).
        let nullRecordsRekeyed = shape == .streamProjection && select.filter == nil && !select.partitionBy.isEmpty
        func readsValueColumns(_ expression: Expression) -> Bool {
            if case .column(_, let name) = expression {
                return !inputs[0].source.keyColumns.contains { $0.uppercased() == name.uppercased() }
            }
            return expression.children.contains(where: readsValueColumns)
        }
        let projection = try items.map { item -> String in
            let value = try translator.sql(item.expression)
            let keyed = nullRecordsRekeyed && keyNames.contains(item.name) && readsValueColumns(item.expression)
                ? "CASE WHEN i0._deleted THEN NULL ELSE \(value) END" : value
            return "\(keyed) AS \(try quote(postgresName(item.name)))"
        }
        let sink = try sinkSource(create, queryID: queryID, statement: statement, items: items, keyNames: keyNames)
        let draft = Draft(builder: self, items: items, projection: projection, projectionParameters: translator.parameters,
                          keyNames: keyNames.map(postgresName), tableFunctionRows: translator.tableFunctionRows)
        switch shape {
        case .streamProjection, .streamTableJoin, .streamStreamJoin:
            return try draft.stream(queryID: queryID, sink: sink, setup: inputSetup)
        case .aggregate, .tableProjection, .tableJoin:
            return try draft.table(queryID: queryID, sink: sink, setup: inputSetup)
        }
    }

    /// Over a windowed source the result is windowed too, as in ksqlDB: its
    /// window key columns go along, selected or not.
    private func carryWindows(_ items: inout [Item]) throws {
        guard let windowed = inputs.first(where: \.source.isWindowed) else { return }
        if shape == .streamStreamJoin, inputs.count == 2, select.partitionBy.isEmpty {
            try checkWindowedJoin()
            // Both sides hold the same window: a padded row takes it from the side it has.
            let kind = select.joins[0].kind
            for name in windowed.source.keyColumns where ["WINDOWSTART", "WINDOWEND"].contains(name) {
                let (left, right) = (Expression.column(qualifier: inputs[0].qualifier, name: name),
                                     Expression.column(qualifier: inputs[1].qualifier, name: name))
                items.append(Item(name: name, expression: kind == .inner || kind == .left ? left : .call(name: "COALESCE", arguments: [left, right])))
            }
            return
        }
        guard inputs.count == 1, [.streamProjection, .tableProjection].contains(shape), select.partitionBy.isEmpty else {
            throw PlanError("\(windowed.source.name) has windowed keys: it can be filtered and projected, "
                + "and joined to another windowed stream, but GROUP BY, PARTITION BY and other joins over it are not supported yet")
        }
        for name in windowed.source.keyColumns where ["WINDOWSTART", "WINDOWEND"].contains(name) {
            let column = Expression.column(qualifier: windowed.qualifier, name: name)
            if !items.contains(where: { sameColumn($0.expression, column) }) { items.append(Item(name: name, expression: column)) }
        }
    }

    /// Table functions (EXPLODE, CUBE_EXPLODE) go in a stream query's projection, as in ksqlDB.
    private func checkTableFunctions(_ items: [Item]) throws {
        guard items.contains(where: { !$0.expression.calledFunctions.isDisjoint(with: ["EXPLODE", "CUBE_EXPLODE"]) }) else { return }
        if shape == .aggregate { throw PlanError("Table functions cannot be used with aggregations.") }
        if inputs[0].source.isTable { throw PlanError("Table source is not supported with table functions") }
        if shape == .streamStreamJoin { throw PlanError("table functions over a stream-stream join are not supported yet") }
    }

    /// ksqlDB rejects a projection that names a key column twice (`ID, ID AS ID2`).
    private func checkKeyNamedOnce(_ items: [Item], _ keyNames: [String]) throws {
        for key in keyNames {
            guard let expression = items.first(where: { $0.name == key })?.expression else { continue }
            let named = items.filter { sameColumn($0.expression, expression) }.map(\.name)
            if named.count > 1 {
                throw PlanError("the projection contains a key column more than once: \(named.joined(separator: " and "))")
            }
        }
    }

    /// A join's values key its result, and a MAP is no key (see
    /// SourceFormats.checkTypes). Sources joined key to key are not
    /// repartitioned, so ksqlDB wants their partition counts equal.
    private func checkJoinValues() throws {
        let typing = translator()
        for join in select.joins {
            for side in join.condition.children {
                if let type = typing.staticType(side), SourceFormats.containsMap(type) {
                    throw PlanError("cannot join on \(side.sqlText), of type \(type): MAPs, and types holding them, are not supported as keys")
                }
            }
            // The join value is the result's key: ksqlDB wants one type on both sides (CAST one of them).
            if case .binary(.equal, let a, let b) = join.condition, let left = typing.staticType(a), let right = typing.staticType(b),
               left != right {
                throw PlanError("Invalid join condition: types don't match. Got \(a.sqlText){\(left)} = \(b.sqlText){\(right)}: CAST one side")
            }
            let keyed = join.condition.children.compactMap(keyedInput)
            if join.condition.children.count == 2, keyed.count == 2, let a = keyed[0].source.partitions, let b = keyed[1].source.partitions, a != b {
                throw PlanError("cannot join \(keyed[0].source.name) with \(keyed[1].source.name) since the number of partitions don't match "
                    + "(\(a) and \(b)): repartition either one so that the numbers match")
            }
        }
    }

    /// The input whose only key column `expression` names.
    private func keyedInput(_ expression: Expression) -> QueryPlan.Input? {
        guard case .column(let qualifier, let name) = expression, let resolved = try? resolve(qualifier, name) else { return nil }
        return inputs.first { $0.keyColumns.count == 1 && resolved == "\($0.alias).\((try? quote($0.keyColumns[0])) ?? "")" }
    }

    /// Statements ksqlDB rejects, rejected here too when created.
    private func checkKsqlDBRules(items: [Item], keyNames: [String], create: CreateAsSelect) throws {
        let windowColumns: Set<String> = ["WINDOWSTART", "WINDOWEND"]
        if let untyped = items.first(where: { $0.expression == .literal(.null) }) {
            throw PlanError("cannot infer a type for NULL (\(untyped.name)): CAST it, e.g. CAST(NULL AS STRING)")
        }
        // A persistent query's result cannot name a value column after a pseudo column (a push query may;
        // PARTITION BY ROWTIME names a key column so).
        if !planner.printsRows, let reserved = items.first(where: {
            ["ROWTIME", "ROWPARTITION", "ROWOFFSET"].contains($0.name.uppercased()) && !keyNames.contains($0.name)
        }) {
            throw PlanError("reserved column name in select: \(reserved.name): remove it or give it an alias (AS)")
        }
        if !items.contains(where: { !keyNames.contains($0.name) && !windowColumns.contains($0.name.uppercased()) }) {
            throw PlanError("the projection contains no value columns: select at least one column that is not a key")
        }
        if inputs.count > 1 || shape == .aggregate, let kafka = inputs.first(where: { $0.source.valueFormat == "KAFKA" }) {
            throw PlanError("source \(kafka.source.name) uses VALUE_FORMAT 'KAFKA', which does not support "
                + (shape == .aggregate ? "GROUP BY" : "JOIN"))
        }
        let keyFormat = (create.properties.text(of: "KEY_FORMAT") ?? create.properties.text(of: "FORMAT") ?? inputs[0].source.keyFormat).uppercased()
        let plainKeys = keyNames.filter { !windowColumns.contains($0) }
        if plainKeys.count > 1 && ["KAFKA", "NONE"].contains(keyFormat) {
            throw PlanError("KEY_FORMAT \(keyFormat) holds one key column, and \(shape == .aggregate ? "GROUP BY" : "PARTITION BY") "
                + "makes \(plainKeys.count): use KEY_FORMAT='JSON', 'AVRO' or 'DELIMITED'")
        }
        guard shape == .aggregate else { return }
        if select.window != nil && !inputs.contains(where: \.source.isWindowed) {
            // A window's bounds exist once records are grouped into it: not inside an aggregate, nor in HAVING.
            let read = (items.flatMap { $0.expression.aggregateCalls } + (select.having.map { [$0] } ?? []))
                .reduce(into: Set<String>()) { $0.formUnion($1.columnNames) }
            if let bound = windowColumns.sorted().first(where: read.contains) {
                throw PlanError("window bounds column \(bound) can only be used in the SELECT clause of windowed aggregations "
                    + "and can not be passed to aggregate functions")
            }
        }
        for group in select.groupBy {
            let named = items.filter { sameColumn($0.expression, group) }.map(\.name)
            if named.count > 1 {
                throw PlanError("the projection contains a key column more than once: \(named.joined(separator: " and "))")
            }
        }
        let structStates = ["AVG", "STDDEV_SAMP", "STDDEV_SAMPLE", "CORRELATION"]
        if ["DELIMITED", "KAFKA"].contains(inputs[0].source.valueFormat),
           items.contains(where: { !$0.expression.calledFunctions.isDisjoint(with: structStates) }) {
            // ksqlDB keeps their state as a STRUCT in the input's value format.
            throw PlanError("One of the functions used in the statement has an intermediate type that the value format "
                + "can not handle. Please remove the function or change the format.")
        }
        // HISTOGRAM counts strings, as in ksqlDB.
        let typing = translator()
        func checkHistograms(_ expression: Expression) throws {
            if case .call("HISTOGRAM", let arguments, _, _) = expression, let type = arguments.first.flatMap(typing.staticType), type != .string {
                throw PlanError("HISTOGRAM counts STRING values, not \(type)")
            }
            try expression.children.forEach(checkHistograms)
        }
        try items.map(\.expression).forEach(checkHistograms)
        if inputs[0].source.isTable {
            // A table's aggregate must undo a row's old value; these cannot.
            let called = (items.map(\.expression) + (select.having.map { [$0] } ?? [])).reduce(into: Set<String>()) { $0.formUnion($1.calledFunctions) }
            let streamOnly = ["LATEST_BY_OFFSET", "EARLIEST_BY_OFFSET", "MIN", "MAX", "TOPK", "TOPKDISTINCT"].filter(called.contains)
            if !streamOnly.isEmpty {
                throw PlanError("\(streamOnly.joined(separator: ", ")) cannot aggregate a table (\(inputs[0].source.name)), only a stream")
            }
        }
    }

    func translator(offset: Int = 0) -> ExpressionTranslator {
        var translator = ExpressionTranslator(parameterOffset: offset) { qualifier, name in try resolve(qualifier, name) }
        translator.columnType = { qualifier, name in columnType(qualifier, name) }
        translator.limits = planner.limits
        return translator
    }

    /// Translates a join condition: its literals are read from settings
    /// that each batch sets first (QueryPlan.joinConstants), since the
    /// condition is embedded in statements with parameters of their own.
    func joinTranslator() -> ExpressionTranslator {
        var translator = translator()
        translator.constant = { [joinConstants] value, type in joinConstants.add(value, type: type) }
        return translator
    }

    /// Without PARTITION BY a stream keeps its key: the selected key
    /// columns are the result's key, not value columns (as in ksqlDB). A
    /// stream-table join is keyed by its join column, which the SELECT
    /// must include.
    private func streamKeyNames(_ items: [Item], _ create: CreateAsSelect) throws -> [String] {
        if shape == .streamStreamJoin { return try streamStreamKeyNames(items) }
        guard shape == .streamTableJoin else {
            // Every key column must be selected, as ksqlDB requires.
            let keys = inputs[0].source.keyColumns.map { Expression.column(qualifier: inputs[0].qualifier, name: $0) }
            let missing = inputs[0].source.keyColumns.filter { key in
                !items.contains { sameColumn($0.expression, .column(qualifier: inputs[0].qualifier, name: key)) }
            }
            // Since ksqlDB 0.25 a stream may leave out all its key columns:
            // its records keep the key they came with (PlanDraft), in the
            // same format.
            let sameKeyFormat = create.properties.text(of: "KEY_FORMAT").map { $0.uppercased() == inputs[0].source.keyFormat } ?? true
            if missing.count == keys.count, sameKeyFormat { return [] }
            if !missing.isEmpty {
                throw PlanError("key missing from projection: the SELECT must include the key column\(missing.count > 1 ? "s" : "") "
                    + missing.joined(separator: " and "))
            }
            return items.filter { item in keys.contains { sameColumn(item.expression, $0) } }.map(\.name)
        }
        let candidates = try streamTableJoinColumns()
        guard let item = firstItem(items, matchingOneOf: candidates) else {
            throw PlanError("key missing from projection: the SELECT must include the join column "
                + candidates.map(Self.text).joined(separator: " or ") + ", the key of the result")
        }
        return [item.name]
    }

    /// The item of the first candidate the SELECT includes (candidates in order, as ksqlDB picks a join's key).
    func firstItem(_ items: [Item], matchingOneOf candidates: [Expression]) -> Item? {
        for candidate in candidates {
            if let item = items.first(where: { sameColumn($0.expression, candidate) }) { return item }
        }
        return nil
    }

    /// Checks a stream's joins with tables (INNER or LEFT, each ON the
    /// table's primary key, the other side over the relations before it)
    /// and returns their plain-column sides in order, the stream's first.
    func streamTableJoinColumns(skipping first: Int = 0) throws -> [Expression] {
        // The last join keys the result, as each of ksqlDB's joins re-keys by its
        // own expression; earlier joins' columns follow, in case it is not selected.
        var columns: [Expression] = []
        for (index, join) in select.joins.enumerated() where index >= first {
            let table = inputs[index + 1]
            let names = "\(inputs[index].source.name) \(join.kind.rawValue) JOIN \(table.source.name)"
            guard join.kind == .inner || join.kind == .left else {
                throw PlanError("a stream-table join is INNER or LEFT, not \(join.kind.rawValue) (\(names))")
            }
            guard join.withinMilliseconds == nil else { throw PlanError("WITHIN applies to stream-stream joins, not \(names)") }
            guard let tableKey = table.keyColumns.first, table.keyColumns.count == 1,
                  case .binary(.equal, let a, let b) = join.condition else {
                throw PlanError("a stream-table join must be ON an equality with the table's primary key (\(names))")
            }
            let key = "\(table.alias).\(try quote(tableKey))"
            let resolvedA = try? resolveExpression(a), resolvedB = try? resolveExpression(b)
            guard resolvedA == key || resolvedB == key else {
                throw PlanError("a stream-table join must be ON the table's primary key "
                    + "\(table.source.keyColumns.first ?? tableKey): got \(Self.text(a)) = \(Self.text(b))")
            }
            let otherSide = resolvedA == key ? b : a
            var translator = joinTranslator()
            let other = try translator.sql(otherSide)
            let later = inputs[(index + 1)...].contains { other.contains("\($0.alias).") }
            guard other.contains("i0.") || (1...index).contains(where: { other.contains("i\($0).") }), !later else {
                throw PlanError("the other side of the join with \(table.source.name) must refer to the stream "
                    + "\(inputs[0].source.name) or a table joined before it")
            }
            columns.insert(contentsOf: [otherSide, resolvedA == key ? a : b].filter { if case .column = $0 { return true } else { return false } },
                           at: 0)
        }
        return columns
    }

    /// The other side of the join whose table key `expression` names.
    private func streamSideOfJoin(matching expression: Expression, skipping first: Int = 0) throws -> Expression? {
        for (index, join) in select.joins.enumerated() where index >= first {
            guard case .binary(.equal, let a, let b) = join.condition,
                  let key = inputs[index + 1].keyColumns.first else { continue }
            let keySQL = "\(inputs[index + 1].alias).\(try quote(key))"
            guard (try? resolveExpression(expression)) == keySQL else { continue }
            return (try? resolveExpression(a)) == keySQL ? b : a
        }
        return nil
    }

    /// A RIGHT or FULL join of tables, whose rows may lack the left side.
    var tableJoinIsOuter: Bool {
        shape == .tableJoin && select.joins.contains { $0.kind == .right || $0.kind == .full }
    }

    /// A column as written, for messages.
    static func text(_ expression: Expression) -> String {
        guard case .column(let qualifier, let name) = expression else { return "an expression" }
        return "\(qualifier.map { "\($0)." } ?? "")\(name)"
    }

    /// Several tables joined: each join ON an equality of the new table's
    /// primary key and the key of a table before it, so every row of the
    /// result shares one key value.
    private func checkTableChain() throws {
        for (index, join) in select.joins.enumerated() {
            let table = inputs[index + 1]
            let keys = try inputs[...(index + 1)].map { "\($0.alias).\(try quote($0.keyColumns[0]))" }
            guard case .binary(.equal, let a, let b) = join.condition,
                  let left = try resolveExpression(a), let right = try resolveExpression(b),
                  Set([left, right]).count == 2, keys.contains(left), keys.contains(right),
                  [left, right].contains(keys[index + 1]) else {
                throw PlanError("joining several tables, each join must be ON the primary keys of \(table.source.name) "
                    + "and a table before it (foreign-key joins take two tables)")
            }
        }
    }

    /// A table-table join is on both primary keys, or a foreign-key join:
    /// a column of the left table equal to the right table's key. The
    /// latter returns the left column (`i0."col"`); its result is keyed by
    /// the left table's key, and it is INNER or LEFT, as in ksqlDB.
    func tableJoinForeignKey() throws -> String? {
        guard inputs.count == 2 else { return nil }
        guard let join = select.joins.first, case .binary(.equal, let a, let b) = join.condition,
              let left = try resolveExpression(a), let right = try resolveExpression(b),
              let leftKey = inputs[0].keyColumns.first, let rightKey = inputs[1].keyColumns.first
        else { throw PlanError("a table-table join must be ON an equality of a left table column and the right table's key") }
        let (leftKeySQL, rightKeySQL) = ("i0.\(try quote(leftKey))", "i1.\(try quote(rightKey))")
        if Set([left, right]) == [leftKeySQL, rightKeySQL] { return nil }
        let sides = [left, right]
        guard sides.contains(rightKeySQL), let foreign = sides.first(where: { $0 != rightKeySQL }), foreign.hasPrefix("i0.") else {
            throw PlanError("a table-table join must be ON the right table's primary key "
                + "\(inputs[1].source.keyColumns[0]): got \(Self.text(a)) = \(Self.text(b))")
        }
        guard join.kind == .inner || join.kind == .left else {
            throw PlanError("a foreign-key table-table join is INNER or LEFT, not \(join.kind.rawValue)")
        }
        return foreign
    }

    private func sinkSource(_ create: CreateAsSelect, queryID: String, statement: String,
                            items: [Item], keyNames: [String]) throws -> CatalogSource {
        func property(_ name: String) -> String? { create.properties.text(of: name) }
        let source = inputs[0].source
        let valueFormat = (property("VALUE_FORMAT") ?? property("FORMAT") ?? source.valueFormat).uppercased()
        var inherited = source.keyFormat
        if inherited == "NONE" && !keyNames.isEmpty {
            // A keyless source given a key (by a join, GROUP BY or PARTITION BY) takes
            // the keyed join side's key format, else ksql.persistence.default.format.key, as ksqlDB does.
            inherited = inputs.dropFirst().map(\.source.keyFormat).first { $0 != "NONE" } ?? planner.defaultKeyFormat
        }
        let keyFormat = (property("KEY_FORMAT") ?? property("FORMAT") ?? inherited).uppercased()
        try SourceFormats.check(key: keyFormat, value: valueFormat)
        let keyRole: ColumnDefinition.Role = create.kind == .table ? .primaryKey : .key
        // A query over an old-style KEY='col' source writes its key columns into the value too, as KSQL then did.
        let keysInValue = inputs.contains { $0.source.keysInValue }
        func role(of name: String) -> ColumnDefinition.Role {
            guard keyNames.contains(name) else { return .value }
            return keysInValue && !["WINDOWSTART", "WINDOWEND"].contains(name.uppercased()) ? .value : keyRole
        }
        // A DELIMITED sink keeps its source's delimiter unless it sets one.
        let delimiter = property("VALUE_DELIMITER") ?? (valueFormat == source.valueFormat ? source.valueDelimiter : nil)
        if let named = property("VALUE_DELIMITER") { try SourceFormats.checkDelimiter(named, valueFormat: valueFormat) }
        var sink = CatalogSource(
            name: create.name, kind: create.kind, topic: property("KAFKA_TOPIC") ?? create.name.uppercased(),
            keyFormat: keyFormat, valueFormat: valueFormat,
            columns: items.map { ColumnDefinition(name: $0.name, type: .string, role: role(of: $0.name)) },
            keyColumns: keyNames, partitions: property("PARTITIONS").flatMap { Int($0) } ?? source.partitions,
            queryID: queryID, resultTable: nil, statement: statement, valueDelimiter: valueFormat == "DELIMITED" ? delimiter : nil)
        // Likewise a DELIMITED key keeps its source's KEY_DELIMITER.
        if let named = property("KEY_DELIMITER") { try SourceFormats.checkDelimiter(named, valueFormat: keyFormat, part: "KEY") }
        if keyFormat == "DELIMITED" { sink.keyDelimiter = property("KEY_DELIMITER") ?? (keyFormat == source.keyFormat ? source.keyDelimiter : nil) }
        // A time-windowed result keeps its window's size, for those reading its topic.
        if let window = select.window, window.kind != .session {
            sink.windowSize = window.sizeMilliseconds
        } else if source.isWindowed {
            sink.windowSize = source.windowSize
        }
        sink.wrapSingleValue = try SourceFormats.wrapSingleValue(property("WRAP_SINGLE_VALUE"), valueFormat: valueFormat,
                                                                 valueColumns: items.filter { role(of: $0.name) == .value }.count,
                                                                 byDefault: planner.wrapsSingleValues)
        return sink
    }
}
