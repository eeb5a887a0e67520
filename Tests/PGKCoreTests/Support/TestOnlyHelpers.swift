@testable import PGKCore

// Helpers only the tests use, kept out of the binary.

extension LocalPostgresCluster {
    func createDatabase(_ name: String) throws -> String {
        let connection = try PostgresConnection(conninfo: url)
        try connection.execute("CREATE DATABASE \(try connection.quoteIdentifier(name))")
        return url(database: name)
    }
}

extension PostgresConnection {
    func serverVersionText() throws -> String {
        try query("SHOW server_version").scalar ?? ""
    }

    /// NOTIFY through pg_notify, so channel and payload are parameters.
    func notify(_ channel: String, payload: String = "") throws {
        try execute("SELECT pg_notify($1, $2)", [channel, payload])
    }
}

extension CopyTextDecoder {
    /// The fields of one row as strings; throws on invalid UTF-8.
    static func decodeRow(_ line: [UInt8]) throws -> [String?] {
        try decodeFields(line).enumerated().map { column, field in
            guard let field else { return nil }
            guard let text = String(validating: field, as: UTF8.self) else {
                throw CodecError("utf-8", "COPY field \(column + 1) is not valid UTF-8")
            }
            return text
        }
    }
}

extension KafkaConsumer {
    /// The earliest offset whose timestamp is >= the given Unix ms, per
    /// partition; -1 when no such message exists yet.
    func offsetsForTimes(_ times: [KafkaTopicPartition: Int64],
                         timeoutMilliseconds: Int = 10_000) throws -> [KafkaTopicPartition: Int64] {
        try resolveStartOffsets(handle.pointer, config: handle.config, times.mapValues { .timestamp($0) },
                                timeoutMilliseconds: timeoutMilliseconds)
    }
}
