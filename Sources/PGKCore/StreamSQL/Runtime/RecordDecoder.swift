/// Turns a query's Kafka records into staged rows, one per input reading
/// the record's topic (InputStager), each with its ROWTIME after it; or,
/// for a plan pgk pre-aggregates, reduces flat JSON records straight into
/// the batch's groups.
///
/// One per thread: its stagers and row buffer are reused from record to
/// record. The reader has one; the writer makes its own on the rare
/// occasion it must stage a batch that was reduced while read.
final class RecordDecoder {
    private let queryID: String
    private let stagers: [InputStager]
    /// Each input's topic: taken out of the plan once, not copied per record.
    private let inputTopics: [String]
    /// `ksql.timestamp.throw.on.invalid`: an invalid TIMESTAMP column
    /// stops the query (QueryFailure) instead of skipping the record.
    private let throwsOnInvalidTimestamp: Bool
    /// The plan's pre-aggregation, where its batches may be reduced while read.
    private let combining: QueryPlan.Combined?
    /// Its group fields and WHERE: taken out once, not copied per record.
    private let combinedGroupFields: [Int]
    private let combinedFilter: FlatFilter?
    /// Where `decode` writes each record's row before the batch takes a copy.
    private var rowScratch = CopyTextEncoder(reservingCapacity: 4096)

    init(queryID: String, plan: QueryPlan, registry: SchemaRegistryClient?, throwsOnInvalidTimestamp: Bool) {
        self.queryID = queryID
        let stagers = plan.inputs.map { InputStager(source: $0.source, registry: registry) }
        self.stagers = stagers
        inputTopics = plan.inputs.map(\.source.topic)
        self.throwsOnInvalidTimestamp = throwsOnInvalidTimestamp
        // One input whose values are flat JSON objects: its records need
        // no staged row unless one of them is not such an object.
        let combinesWhileReading = stagers.count == 1 && plan.combined.map { stagers[0].combines($0) } == true
        combining = combinesWhileReading ? plan.combined : nil
        combinedGroupFields = combinesWhileReading ? plan.combined?.groupFields ?? [] : []
        combinedFilter = combinesWhileReading ? plan.combined?.filter : nil
    }

    /// A new batch: reduced into groups while read, where the plan allows.
    func newBatch(reserving sizes: StagedRecords.Sizes) -> StagedRecords {
        var batch = StagedRecords(reserving: sizes)
        if let combining { batch.groups = GroupAccumulator(combining) }
        return batch
    }

    /// Reduces a record into the batch's groups (`batch.groups`, which the
    /// caller checked); false, with nothing changed, where the record
    /// needs a staged row.
    func combine(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, timestamp: Int64?, into batch: inout StagedRecords) -> Bool {
        stagers[0].combineFlatJSON(value, key: key, rowtime: timestamp, groupFields: combinedGroupFields, filter: combinedFilter,
                                   into: &batch.groups!)
    }

    /// Stages every record a batch reduced into groups so far, and stops
    /// it reducing: the batch goes to PostgreSQL as staged rows after all
    /// (a record that is not a flat JSON object, a sum that overflows, or
    /// PostgreSQL rejecting the batch's data, whose records at fault must
    /// then be found one by one).
    func stageCombinedRecords(of batch: inout StagedRecords) throws {
        batch.groups = nil
        for record in 0..<batch.records.count {
            let message = batch.records.message(record)
            try withOptionalBytes(message.key) { key in
                try withOptionalBytes(message.value) { value in
                    try decode(topic: message.topic, key: key, value: value, timestamp: message.timestamp, record: { message },
                               entry: { input, row, _ in batch.addEntry(input: input, row: row, record: record) },
                               failed: { batch.deadLetters.append((message, $0)) })
                }
            }
        }
    }

    /// The record's row for each input reading its topic, or why it has
    /// none. A row is lent to `entry` in a buffer reused for the next.
    func decode(topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, timestamp: Int64?,
                record: () -> KafkaMessage, entry: (_ input: Int, _ row: [UInt8], _ rowtime: Int64?) -> Void,
                failed: (String) -> Void) throws {
        for index in inputTopics.indices where inputTopics[index] == topic {
            do {
                rowScratch.removeAll()
                try stagers[index].stage(key: key, value: value, into: &rowScratch)
                // ROWTIME: the record's timestamp in milliseconds, or its
                // TIMESTAMP column's (a tombstone has none: it keeps the record's).
                let rowtime = stagers[index].extractedRowtime ?? timestamp
                if let rowtime { rowScratch.append(integer: rowtime) } else { rowScratch.appendNull() }
                entry(index, rowScratch.buffer, rowtime)
            } catch let error as StageError where error.invalidTimestamp && throwsOnInvalidTimestamp {
                let message = record()
                throw QueryFailure(description: "sql: \(queryID): \(message.topic)[\(message.partition)] offset \(message.offset): "
                    + "\(error); ksql.timestamp.throw.on.invalid is true, so the query stops here")
            } catch {
                failed("\(error)")
            }
        }
    }
}
