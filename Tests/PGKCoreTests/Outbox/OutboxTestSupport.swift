import Foundation
import Testing
@testable import PGKCore

/// A fresh database on the shared test cluster plus a private mock Kafka
/// cluster, and ways to run the built `pgk` binary against both.
final class OutboxFixture: @unchecked Sendable {
    let url: String
    let database: String
    let db: PostgresConnection
    let kafka: MockKafkaCluster
    let logDirectory: String
    private var children: [ChildProcess] = []
    private var admin: KafkaAdmin?
    private var runs = 0

    /// `url`: a database of the caller's (e.g. on a private cluster); by
    /// default a fresh one on the shared test cluster.
    init(_ label: String, url: String? = nil) throws {
        self.url = try url ?? TestPostgres.freshDatabase(label)
        database = String(self.url.split(separator: "/").last ?? "")
        db = try PostgresConnection(conninfo: self.url)
        kafka = try MockKafkaCluster()
        logDirectory = NSTemporaryDirectory() + "pgk-outbox-" + KafkaTestSupport.uniqueName(label)
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
    }

    deinit {
        for child in children where child.poll() == nil {
            child.send(signal: SIGKILL)
            child.wait()
        }
        try? FileManager.default.removeItem(atPath: logDirectory)
    }

    var environment: [String: String] {
        ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(),
         "PGK_DATABASE": url, "PGK_BROKERS": kafka.bootstrapServers]
    }

    /// The default topic of a table in `public`.
    func topic(_ table: String) -> String { "pgk.\(database).\(table)" }

    /// Runs `pgk ARGS` to completion. Output goes through files, not pipes:
    /// these tests also reap children of their own, and the SIGCHLD that
    /// brings can interrupt a Foundation pipe read (which traps).
    @discardableResult
    func pgk(_ arguments: [String], timeoutSeconds: Double = 90) throws -> CommandResult {
        runs += 1
        let name = "run-\(runs)"
        let child = try spawn(arguments, name: name)
        guard let termination = child.wait(timeoutMilliseconds: Int(timeoutSeconds * 1000)) else {
            child.send(signal: SIGKILL)
            child.wait()
            throw RuntimeError("pgk \(arguments.joined(separator: " ")) did not finish within \(timeoutSeconds) s; "
                + "stderr: \(log(of: name))")
        }
        let stdout = (try? Data(contentsOf: URL(fileURLWithPath: logDirectory + "/\(name).out"))) ?? Data()
        let status: Int32
        switch termination {
        case .exited(let code): status = code
        case .signaled(let signal): status = 128 + signal
        }
        return CommandResult(status: status, stdout: String(decoding: stdout, as: UTF8.self),
                             stderr: log(of: name), stdoutBytes: stdout)
    }

    /// `pgk ARGS` that must succeed.
    @discardableResult
    func pgkOK(_ arguments: [String], timeoutSeconds: Double = 90) throws -> CommandResult {
        let result = try pgk(arguments, timeoutSeconds: timeoutSeconds)
        try #require(result.status == 0, "pgk \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        return result
    }

    /// Starts `pgk ARGS` in the background; its stderr goes to a log file
    /// (see `log(of:)`). Killed at the end of the test if still running.
    func spawn(_ arguments: [String], name: String) throws -> ChildProcess {
        let child = try ChildProcess.spawn(RepositoryPaths.binary, arguments, environment: environment,
                                           stdout: .file(path: logDirectory + "/\(name).out", append: false),
                                           stderr: .file(path: logDirectory + "/\(name).err", append: false))
        children.append(child)
        return child
    }

    func log(of name: String) -> String {
        (try? String(contentsOfFile: logDirectory + "/\(name).err", encoding: .utf8)) ?? ""
    }

    func queueDepth() throws -> Int {
        Int(try db.query("SELECT count(*) FROM pgk.outbox_events").scalar ?? "-1") ?? -1
    }

    /// Messages on `topic` so far (sum of the partitions' high watermarks).
    func producedCount(_ topic: String) throws -> Int64 {
        let admin = try self.admin ?? KafkaAdmin(config: KafkaTestSupport.config(kafka))
        self.admin = admin
        guard let info = try admin.metadata().topic(topic), info.error == nil else { return 0 }
        return try info.partitions.reduce(0) { $0 + (try admin.watermarks(topic: topic, partition: $1.id).high) }
    }

    func queuedUUIDs() throws -> Set<String> {
        Set(try db.query("SELECT pgk.outbox_event_uuid(id)::text AS uuid FROM pgk.outbox_events")
            .column("uuid").compactMap { $0 })
    }

    /// Every message on `topic` from the beginning: waits until `atLeast`
    /// arrived, then until nothing more comes for `quietMilliseconds`.
    func consume(_ topic: String, atLeast count: Int, timeoutMilliseconds: Int = 30_000,
                 quietMilliseconds: Int = 300) throws -> [KafkaMessage] {
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(kafka), groupID: nil)
        let clock = SystemClock.shared
        let deadline = clock.nowMilliseconds + Int64(timeoutMilliseconds)
        var partitions: [Int32] = []
        let admin = try KafkaAdmin(config: KafkaTestSupport.config(kafka))
        while partitions.isEmpty, clock.nowMilliseconds < deadline {
            if let info = try admin.metadata().topic(topic), info.error == nil {
                partitions = info.partitions.map(\.id)
            } else {
                usleep(100_000)
            }
        }
        try #require(!partitions.isEmpty, "topic \(topic) never appeared")
        try consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map {
            (KafkaTopicPartition(topic: topic, partition: $0), KafkaStartOffset.beginning)
        }))
        var messages: [KafkaMessage] = []
        var lastArrival = clock.nowMilliseconds
        while clock.nowMilliseconds < deadline {
            if case .message(let message)? = try consumer.poll(timeoutMilliseconds: 50) {
                messages.append(message)
                lastArrival = clock.nowMilliseconds
            } else if messages.count >= count, clock.nowMilliseconds - lastArrival >= quietMilliseconds {
                break
            }
        }
        return messages
    }

    /// Waits for `condition` (checked every 50 ms) up to `timeoutMilliseconds`.
    static func waitUntil(timeoutMilliseconds: Int = 15_000, _ condition: () throws -> Bool) rethrows -> Bool {
        let clock = SystemClock.shared
        let deadline = clock.nowMilliseconds + Int64(timeoutMilliseconds)
        while clock.nowMilliseconds < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }
}

/// A message decoded as an outbox event.
struct ShippedEvent {
    var message: KafkaMessage
    var value: ValueObject

    init(_ message: KafkaMessage) throws {
        self.message = message
        guard case .object(let object) = try JSON.decode(message.value ?? []) else {
            throw RuntimeError("not a JSON object: \(String(decoding: message.value ?? [], as: UTF8.self))")
        }
        value = object
    }

    var key: String? { message.key.map { String(decoding: $0, as: UTF8.self) } }
    var statement: String { value["statement"]?.stringValue ?? "" }
    var uuid: String { value["uuid"]?.stringValue ?? "" }
    var externalID: String? { value["external_id"]?.stringValue }
    var data: ValueObject { if case .object(let object)? = value["data"] { return object }; return ValueObject() }
    var previous: Value? { value["previous"] }
    func header(_ name: String) -> String? {
        message.headers.first { $0.key == name }?.value.map { String(decoding: $0, as: UTF8.self) }
    }
}

/// What a consumer that keeps the latest row per key ends up with:
/// INSERT/SNAPSHOT replace, UPDATE merges the changed columns, DELETE
/// removes, TRUNCATE clears.
struct ReplicaModel {
    var rows: [String: ValueObject] = [:]

    mutating func apply(_ event: ShippedEvent) {
        switch event.statement {
        case "TRUNCATE": rows.removeAll()
        case "DELETE": if let key = event.key { rows[key] = nil }
        case "UPDATE":
            guard let key = event.key else { return }
            var row = rows[key] ?? ValueObject()
            for (column, value) in event.data { row[column] = value }
            rows[key] = row
        default:
            if let key = event.key { rows[key] = event.data }
        }
    }

    /// Applies messages partition by partition, each in offset order: a
    /// key's events are all in one partition.
    static func build(from messages: [KafkaMessage]) throws -> ReplicaModel {
        var model = ReplicaModel()
        let byPartition = Dictionary(grouping: messages, by: \.partition)
        for partition in byPartition.keys.sorted() {
            for message in byPartition[partition]!.sorted(by: { $0.offset < $1.offset }) {
                model.apply(try ShippedEvent(message))
            }
        }
        return model
    }

    /// The table's rows keyed by `keyColumn`, as row_to_json renders them.
    static func table(_ sql: String, keyColumn: String, on db: PostgresConnection) throws -> [String: ValueObject] {
        var rows: [String: ValueObject] = [:]
        for row in try db.query("SELECT row_to_json(t)::text FROM \(sql) t").rows {
            guard case .object(let object) = try JSON.decode(row[0] ?? "{}") else { continue }
            if let key = object[keyColumn], !key.isNull {
                rows[key.stringValue ?? key.jsonText] = object
            }
        }
        return rows
    }
}
