import Foundation
import Testing
@testable import PGKCore

@Suite struct DevCommandTests {
    @Test func runPassesTheStackAndTheExitStatus() throws {
        let script = """
        set -e
        case "$PGK_BROKERS" in 127.0.0.1:*) ;; *) echo "bad brokers $PGK_BROKERS" >&2; exit 90;; esac
        psql "$PGK_DATABASE" -Atc 'show wal_level'
        exit 7
        """
        let result = try CommandRunner.pgk(["dev", "run", "--", "sh", "-c", script],
                                           environment: ContractTests.environment, timeoutSeconds: 120)
        #expect(result.status == 7, "stderr: \(result.stderr)")
        #expect(result.stdout == "logical\n")
    }

    @Test func runReportsAMissingCommand() throws {
        let result = try CommandRunner.pgk(["dev", "run", "no-such-program-xyz"], environment: ContractTests.environment)
        #expect(result.status == 1)
        #expect(result.stderr.contains("command not found: no-such-program-xyz"))
    }

    @Test func upPrintsExportsAndCleansUpOnSIGTERM() throws {
        let up = try BackgroundProcess.pgk(["dev", "up", "--create-topic", "wide:8"], environment: ContractTests.environment)
        // The export lines arrive once everything is up.
        var exports: [String: String] = [:]
        let deadline = Date().addingTimeInterval(60)
        while exports.count < 3 && Date() < deadline && up.isRunning {
            usleep(50_000)
            exports = Dictionary(uniqueKeysWithValues: up.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
                guard line.hasPrefix("export "), let eq = line.firstIndex(of: "=") else { return nil }
                return (String(line[line.index(line.startIndex, offsetBy: 7)..<eq]), String(line[line.index(after: eq)...]))
            })
        }
        #expect(Set(exports.keys) == ["PGK_BROKERS", "PGK_DATABASE", "PGK_REGISTRY"], "got: \(up.stdout) \(up.stderr)")
        let database = try #require(exports["PGK_DATABASE"])
        let connection = try PostgresConnection(conninfo: database)
        // Loopback TCP needs the generated password; only the private socket trusts.
        let password = try #require(Secrets.passwords(inConninfo: database).first, "no password in \(database)")
        #expect(password.count >= 20)
        let port = try #require(URLComponents(string: database)?.port)
        #expect(throws: PostgresError.self, "TCP without the password must be refused") {
            _ = try PostgresConnection(conninfo: "postgresql://postgres@127.0.0.1:\(port)/postgres")
        }
        #expect(throws: PostgresError.self, "nor may another role get in without one") {
            _ = try PostgresConnection(conninfo: "host=127.0.0.1 port=\(port) user=postgres password=wrong dbname=postgres")
        }
        let dataDirectory = try #require(try connection.query("SHOW data_directory").scalar)
        let metadata = try KafkaAdmin(config: KafkaConfig(brokers: exports["PGK_BROKERS"])).metadata(topic: "wide")
        #expect(metadata.topic("wide")?.partitions.count == 8)
        up.signal(SIGTERM)
        #expect(up.wait(seconds: 30) == 0, "\(up.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dataDirectory), "\(dataDirectory) was left behind")
    }
}
