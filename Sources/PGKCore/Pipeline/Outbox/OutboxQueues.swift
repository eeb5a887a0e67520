/// The claim and delete stages of one queue table.
///
/// Shipping claims the oldest items with `DELETE … RETURNING` inside a
/// transaction that commits only once Kafka acknowledged every one of them;
/// a crash or a failure rolls the delete back, so only unacknowledged items
/// are ever shipped again.
///
/// Why the order is safe without a high-water mark: a claim sees every
/// committed item and takes the lowest ids, so an item whose transaction
/// commits late (a lower id committing after a higher one) is simply taken
/// by a later claim, never skipped. And two writes to the same row are
/// serialized by its row lock, so the later one draws its id (from a
/// CACHE 1 sequence) after the earlier one committed: when a claim sees a
/// row's later event it also sees the earlier one, and id order is commit
/// order for every row. (Ordering by transaction id, by contrast, would put
/// a transaction that took its xid early but wrote the row late first.)
protocol OutboxQueue {
    associatedtype Item
    /// Names the queue in logs and in the leader election.
    var name: String { get }
    /// Checks the queue is readable; resolves names. Called on every (re)connect.
    mutating func prepare(on db: PostgresConnection) throws
    /// Inside an open transaction: deletes up to `limit` of the first items
    /// and returns them in shipping order.
    func claim(limit: Int, on db: PostgresConnection) throws -> [Item]
    /// Deletes these (acknowledged) items, after their claim was rolled back.
    func delete(_ items: ArraySlice<Item>, on db: PostgresConnection) throws
    /// Reads without deleting, in shipping order, after `cursor` (nil: from the start).
    func peek(after cursor: Item?, limit: Int, on db: PostgresConnection) throws -> [Item]
    /// Distinguishes items for the dry run.
    func identity(of item: Item) -> String
    /// Names an item in error messages.
    func describe(_ item: Item) -> String
    func pendingCount(on db: PostgresConnection) throws -> Int64
    /// Queued items and the oldest one's age (nil when the queue cannot tell).
    func backlog(on db: PostgresConnection) throws -> OutboxBacklog
}

/// pgk's own queue, fed by the capture triggers.
struct TriggerOutboxQueue: OutboxQueue {
    var name: String { OutboxSchema.eventsTable }
    private(set) var uuids = OutboxEventUUID(prefix: [UInt8](repeating: 0, count: 8))
    /// Migrates an older installation on prepare (false for a dry run,
    /// which changes nothing and reads an older queue as it is).
    var upgradesSchema = true

    static let eventColumns = """
        id, txid, (extract(epoch FROM created_at) * 1000000)::int8, schema_name, table_name,
        statement, external_id, data, previous
        """

    mutating func prepare(on db: PostgresConnection) throws {
        try OutboxSchema.requireInstalled(on: db, upgrade: upgradesSchema)
        uuids = try OutboxEventUUID.load(on: db)
    }

    func claim(limit: Int, on db: PostgresConnection) throws -> [OutboxEvent] {
        try db.query("""
            WITH claimed AS (
                DELETE FROM pgk.outbox_events
                 WHERE id = ANY (ARRAY(SELECT id FROM pgk.outbox_events ORDER BY id LIMIT $1))
                RETURNING \(Self.eventColumns)
            )
            SELECT * FROM claimed ORDER BY id
            """, [String(limit)]).rows.map { OutboxEvent(row: $0, uuids: uuids) }
    }

    func delete(_ items: ArraySlice<OutboxEvent>, on db: PostgresConnection) throws {
        guard !items.isEmpty else { return }
        try db.execute("DELETE FROM pgk.outbox_events WHERE id = ANY ($1::int8[])",
                       ["{" + items.map { String($0.id) }.joined(separator: ",") + "}"])
    }

    func peek(after cursor: OutboxEvent?, limit: Int, on db: PostgresConnection) throws -> [OutboxEvent] {
        try db.query("SELECT \(Self.eventColumns) FROM pgk.outbox_events WHERE id > $1 ORDER BY id LIMIT $2",
                     [String(cursor?.id ?? 0), String(limit)]).rows.map { OutboxEvent(row: $0, uuids: uuids) }
    }

    func identity(of item: OutboxEvent) -> String { String(item.id) }

    func describe(_ item: OutboxEvent) -> String {
        "event \(item.id) (\(item.statement) on \(item.schema).\(item.table), uuid \(item.uuid))"
    }

    func pendingCount(on db: PostgresConnection) throws -> Int64 {
        Int64(try db.query("SELECT count(*) FROM pgk.outbox_events").scalar ?? "0") ?? 0
    }
}

/// Column names of an application outbox (Debezium's defaults).
struct ApplicationOutboxColumns: Sendable, Equatable {
    var id = "id"
    var aggregateType = "aggregatetype"
    var aggregateID = "aggregateid"
    var type = "type"
    var payload = "payload"
    /// nil: the table's one identity or serial column.
    var order: String?
    init() {}
}

/// A table the application inserts events into itself (the transactional
/// outbox pattern). Its rows are claimed in the order of a column filled
/// from a sequence at insert time: an application that locks the aggregate
/// it changes gets its events in commit order per aggregate.
struct ApplicationOutboxQueue: OutboxQueue {
    let requestedTable: QualifiedName
    let columns: ApplicationOutboxColumns
    private(set) var table: OutboxTableRef?
    private(set) var payloadIsJSON = false
    private var orderColumn = ""
    private var orderType = ""
    private var tableSQL = ""
    private var selectList = ""
    private var quotedOrder = ""

    init(table: QualifiedName, columns: ApplicationOutboxColumns) {
        requestedTable = table
        self.columns = columns
    }

    var name: String { table?.description ?? requestedTable.description }

    mutating func prepare(on db: PostgresConnection) throws {
        let table = try OutboxRegistry.resolve(requestedTable, on: db)
        let attributes = try db.query("""
            SELECT a.attname, a.atttypid::regtype::text,
                   a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false)
              FROM pg_attribute a
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
            """, [String(table.relid)]).rows
        let types = Dictionary(attributes.map { ($0[0] ?? "", $0[1] ?? "") }, uniquingKeysWith: { first, _ in first })
        for (flag, column) in [("--event-id-column", columns.id), ("--aggregate-type-column", columns.aggregateType),
                               ("--aggregate-id-column", columns.aggregateID), ("--event-type-column", columns.type),
                               ("--payload-column", columns.payload)] where types[column] == nil {
            throw RuntimeError("\(table) has no column \"\(column)\" (\(flag)); its columns are: "
                + attributes.compactMap { $0[0] }.joined(separator: ", "))
        }
        if let order = columns.order {
            guard let type = types[order] else {
                throw RuntimeError("\(table) has no column \"\(order)\" (--order-column)")
            }
            orderColumn = order
            orderType = type
        } else {
            let sequenced = attributes.filter { $0[2] == "t" }
            guard sequenced.count == 1, let only = sequenced.first else {
                throw RuntimeError(sequenced.isEmpty
                    ? "\(table) has no identity or serial column to ship its rows in commit order; add one "
                        + "(ALTER TABLE \(table) ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY) or name one with --order-column"
                    : "\(table) has several identity or serial columns; choose one with --order-column")
            }
            orderColumn = only[0] ?? ""
            orderType = only[1] ?? ""
        }
        payloadIsJSON = ["json", "jsonb"].contains(types[columns.payload] ?? "")
        tableSQL = try table.qualifiedName.sql(on: db)
        quotedOrder = try db.quoteIdentifier(orderColumn)
        let values = try [columns.id, columns.aggregateType, columns.aggregateID, columns.type, columns.payload]
            .map { "o.\(try db.quoteIdentifier($0))::text" }
        selectList = "o.ctid AS pgk_ctid, o.\(quotedOrder) AS pgk_order, " + values.joined(separator: ", ")
        self.table = table
    }

    func claim(limit: Int, on db: PostgresConnection) throws -> [ApplicationOutboxRow] {
        try db.query("""
            WITH claimed AS (
                DELETE FROM \(tableSQL) o
                 WHERE o.ctid = ANY (ARRAY(SELECT ctid FROM \(tableSQL) ORDER BY \(quotedOrder) LIMIT $1))
                RETURNING \(selectList)
            )
            SELECT * FROM claimed ORDER BY pgk_order, pgk_ctid
            """, [String(limit)]).rows.map(Self.row)
    }

    private static func row(_ row: QueryResult.Row) -> ApplicationOutboxRow {
        ApplicationOutboxRow(ctid: row[0] ?? "", order: row[1] ?? "", id: row[2], aggregateType: row[3],
                             aggregateID: row[4], type: row[5], payload: row[6])
    }

    func delete(_ items: ArraySlice<ApplicationOutboxRow>, on db: PostgresConnection) throws {
        guard !items.isEmpty else { return }
        try db.execute("DELETE FROM \(tableSQL) WHERE ctid = ANY ($1::tid[])",
                       ["{" + items.map { "\"\($0.ctid)\"" }.joined(separator: ",") + "}"])
    }

    func peek(after cursor: ApplicationOutboxRow?, limit: Int, on db: PostgresConnection) throws -> [ApplicationOutboxRow] {
        guard let cursor else {
            return try db.query("SELECT \(selectList) FROM \(tableSQL) o ORDER BY o.\(quotedOrder), o.ctid LIMIT $1",
                                [String(limit)]).rows.map(Self.row)
        }
        return try db.query("""
            SELECT \(selectList) FROM \(tableSQL) o
             WHERE (o.\(quotedOrder), o.ctid) > ($1::\(orderType), $2::tid)
             ORDER BY o.\(quotedOrder), o.ctid LIMIT $3
            """, [cursor.order, cursor.ctid, String(limit)]).rows.map(Self.row)
    }

    func identity(of item: ApplicationOutboxRow) -> String { item.order + "@" + item.ctid }

    func describe(_ item: ApplicationOutboxRow) -> String {
        "the \(name) row with \(orderColumn) = \(item.order)" + (item.id.map { " (id \($0))" } ?? "")
    }

    func pendingCount(on db: PostgresConnection) throws -> Int64 {
        Int64(try db.query("SELECT count(*) FROM \(tableSQL)").scalar ?? "0") ?? 0
    }
}
