import Foundation
import Testing
@testable import PGKCore

/// The registry client over HTTPS (libcurl): a local server with a
/// certificate from a throwaway CA. Nothing leaves the machine.
@Suite(.serialized) struct RegistryTLSTests {
    /// A CA, a server certificate for 127.0.0.1/localhost signed by it, and
    /// an unrelated CA, made with the openssl command.
    final class Certificates {
        let directory: String
        var ca: String { directory + "/ca.pem" }
        var otherCA: String { directory + "/other-ca.pem" }
        var serverCert: String { directory + "/server.pem" }
        var serverKey: String { directory + "/server.key" }

        init() throws {
            directory = NSTemporaryDirectory() + "/pgk-tls-" + String(UInt32.random(in: 0...UInt32.max))
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let script = """
                set -e
                cd '\(directory)'
                openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=pgk-test-ca 2>/dev/null
                openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 2 -subj /CN=other 2>/dev/null
                openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
                printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext
                openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \\
                  -extfile san.ext 2>/dev/null
                """
            let result = try CommandRunner.run("/bin/sh", ["-c", script])
            try #require(result.status == 0, "openssl failed: \(result.stderr)")
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// A Python HTTPS server answering GET /schemas/ids/1 with an Avro schema.
    final class Server {
        let process: BackgroundProcess
        let port: Int

        init(_ certificates: Certificates) throws {
            let script = """
                import http.server, ssl, sys, json
                class H(http.server.BaseHTTPRequestHandler):
                    def do_GET(self):
                        ok = self.path == "/schemas/ids/1" and self.headers.get("Authorization") == "Basic dTpw"
                        body = json.dumps({"schema": '"string"'} if ok else {"error_code": 40403, "message": "no"}).encode()
                        self.send_response(200 if ok else 404)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                    def log_message(self, *args): pass
                server = http.server.HTTPServer(("127.0.0.1", 0), H)
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(sys.argv[1], sys.argv[2])
                server.socket = context.wrap_socket(server.socket, server_side=True)
                print(server.server_address[1], flush=True)
                server.serve_forever()
                """
            process = try BackgroundProcess("/usr/bin/python3",
                                                  ["-c", script, certificates.serverCert, certificates.serverKey])
            let deadline = Date().addingTimeInterval(20)
            while process.stdout.isEmpty && Date() < deadline && process.isRunning { usleep(50_000) }
            port = try #require(Int(process.stdout.trimmingCharacters(in: .whitespacesAndNewlines)),
                                "server did not start: \(process.stderr)")
        }

        deinit {
            process.signal(SIGTERM)
            _ = process.wait(seconds: 5)
        }
    }

    @Test func trustedCAVerifiesAndOthersFailAsTLSErrors() throws {
        let certificates = try Certificates()
        let server = try Server(certificates)
        let url = "https://u:p@127.0.0.1:\(server.port)"

        let trusted = try SchemaRegistryClient(url: url, tls: HTTPTLSOptions(caFile: certificates.ca))
        #expect(try trusted.schema(id: 1).text == "\"string\"")

        for tls in [HTTPTLSOptions(), HTTPTLSOptions(caFile: certificates.otherCA)] {
            let client = try SchemaRegistryClient(url: url, tls: tls)
            do {
                _ = try client.schema(id: 1)
                Issue.record("a certificate from an untrusted CA was accepted (\(tls))")
            } catch {
                #expect(error.kind == .tls && !error.isTransient, "\(error)")
                #expect(error.description.contains("TLS"), "\(error)")
                #expect(!error.description.contains(":p@"), "the password must not show: \(error)")
            }
        }
    }

    @Test func theCLITakesTheCAFromTheCommandLine() throws {
        let certificates = try Certificates()
        let server = try Server(certificates)
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("tls")
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        // Confluent framing: magic 0, schema id 1, then the Avro string "hi".
        try producer.produce(topic: topic, partition: 0, key: nil, value: [0, 0, 0, 0, 1, 4] + Array("hi".utf8))
        try producer.flush(timeoutMilliseconds: 10_000)
        let arguments = ["topics", "tail", topic, "--json", "--packing", "avro", "-n", "1", "-b", cluster.bootstrapServers,
                         "--registry", "https://u:p@localhost:\(server.port)"]
        let verified = try CommandRunner.pgk(arguments + ["--registry-ca", certificates.ca],
                                             environment: ContractTests.environment)
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("\"value\":\"hi\""), "\(verified.stdout)")
        let untrusted = try CommandRunner.pgk(arguments, environment: ContractTests.environment)
        #expect(untrusted.status == 1)
        #expect(untrusted.stderr.contains("TLS"), "\(untrusted.stderr)")
    }
}
