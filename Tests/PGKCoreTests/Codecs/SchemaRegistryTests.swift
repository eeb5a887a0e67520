#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import PGKCore

@Suite struct SchemaRegistryTests {
    static let orderSchema = #"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"item","type":"string"}]}"#
    static let otherSchema = #"{"type":"record","name":"Refund","fields":[{"name":"id","type":"long"}]}"#

    @Test func registersLooksUpAndCachesAgainstTheEmbeddedServer() throws {
        let server = try SchemaRegistryServer()
        defer { server.stop() }
        #expect(server.url.hasPrefix("http://127.0.0.1:"))
        let client = try SchemaRegistryClient(url: server.url)
        let id = try client.register(subject: "orders-value", schemaJSON: Self.orderSchema)
        // Same schema, different whitespace, same subject: same id.
        let spaced = Self.orderSchema.replacingOccurrences(of: ",", with: ", ")
        let again = try SchemaRegistryClient(url: server.url).register(subject: "orders-value", schemaJSON: spaced)
        #expect(again == id)
        // Same schema under another subject keeps its global id.
        #expect(try client.register(subject: "mirror-value", schemaJSON: Self.orderSchema) == id)
        let other = try client.register(subject: "orders-value", schemaJSON: Self.otherSchema)
        #expect(other > id)

        let fresh = try SchemaRegistryClient(url: server.url)
        let fetched = try fresh.schema(id: id)
        #expect(fetched.name == "shop.Order")
        #expect(try fresh.schema(id: id) === fetched, "cached by id")
        let latest = try fresh.latest(subject: "orders-value")
        #expect(latest.id == other && latest.version == 2 && latest.schema.name == "Refund")
        #expect(server.subjects == ["orders-value", "mirror-value"])
    }

    @Test func registryErrorsCarryCodeAndMessage() throws {
        let server = try SchemaRegistryServer()
        defer { server.stop() }
        let client = try SchemaRegistryClient(url: server.url)
        do {
            _ = try client.schema(id: 42)
            Issue.record("found schema 42 in an empty registry")
        } catch {
            #expect(error.isNotFound && !error.isTransient)
            #expect(error.kind == .registry(status: 404, code: 40403))
            #expect(error.description.contains("unknown schema id 42"), "\(error)")
            #expect(error.description.contains("40403"), "\(error)")
        }
        do {
            _ = try client.latest(subject: "nope")
            Issue.record("found a subject in an empty registry")
        } catch {
            #expect(error.kind == .registry(status: 404, code: 40401), "\(error)")
            #expect(error.description.contains("unknown subject 'nope'"), "\(error)")
        }
        do {
            _ = try client.register(subject: "bad", schemaJSON: #"{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}"#)
            Issue.record("registered an invalid schema")
        } catch {
            #expect(error.kind == .invalidSchema, "\(error)")
        }
    }

    @Test func serverSpeaksTheRESTSubset() throws {
        let server = try SchemaRegistryServer()
        defer { server.stop() }
        let http = HTTPClient(endpoint: try HTTPEndpoint(server.url))
        let type = [("Content-Type", SchemaRegistryClient.contentType)]
        let body = JSON.encodeBytes(["schema": .string(Self.orderSchema)])
        let posted = try http.request("POST", "/subjects/a%2Fb-value/versions", body: body, headers: type)
        #expect(posted.status == 200)
        let id = try JSON.decode(posted.body)["id"]
        #expect(id == .int(1))
        #expect(try JSON.decode(http.request("GET", "/subjects").body) == ["a/b-value"])
        #expect(try JSON.decode(http.request("GET", "/subjects/a%2Fb-value/versions").body) == [1])
        #expect(try JSON.decode(http.request("GET", "/schemas/ids/1/versions").body) == [["subject": "a/b-value", "version": 1]])
        let version = try JSON.decode(http.request("GET", "/subjects/a%2Fb-value/versions/1").body)
        #expect(version["id"] == .int(1) && version["version"] == .int(1) && version["subject"] == "a/b-value")
        let raw = try http.request("GET", "/subjects/a%2Fb-value/versions/latest/schema")
        #expect(try JSON.decode(raw.body)["name"] == "Order")
        let lookup = try http.request("POST", "/subjects/a%2Fb-value", body: body, headers: type)
        #expect(try JSON.decode(lookup.body)["version"] == .int(1))
        let missing = try http.request("GET", "/subjects/a%2Fb-value/versions/7")
        #expect(missing.status == 404)
        #expect(try JSON.decode(missing.body)["error_code"] == .int(40402))
        let invalid = try http.request("POST", "/subjects/x/versions", body: Array(#"{"schema":"{"}"#.utf8), headers: type)
        #expect(invalid.status == 422)
        #expect(try JSON.decode(invalid.body)["error_code"] == .int(42201))
        #expect(try http.request("GET", "/nowhere").status == 404)
    }

    @Test func serverServesKeepAliveClientsConcurrentlyAndStopsCleanly() throws {
        let server = try SchemaRegistryServer()
        // An idle open connection must not block other clients.
        let idle = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = server.port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(idle, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        defer { close(idle) }
        let client = try SchemaRegistryClient(url: server.url, timeoutMilliseconds: 2000)
        #expect(try client.register(subject: "s", schemaJSON: #""string""#) == 1)
        let start = SystemClock.shared.nowMilliseconds
        server.stop()
        server.stop()
        #expect(SystemClock.shared.nowMilliseconds - start < 1500, "stop is prompt")
        do {
            _ = try SchemaRegistryClient(url: server.url, timeoutMilliseconds: 2000).schema(id: 1)
            Issue.record("a stopped server answered")
        } catch {
            #expect(error.isTransient)
            #expect(error.kind == .unreachable, "\(error)")
        }
    }

    @Test func timeoutsNameTheURLAndNeverHang() throws {
        // A listener that never accepts: connect succeeds, no answer comes.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(fd, $0, length)
                _ = listen(fd, 4)
                _ = getsockname(fd, $0, &length)
            }
        }
        let port = UInt16(bigEndian: address.sin_port)
        let client = try SchemaRegistryClient(url: "http://user:s3cret@127.0.0.1:\(port)", timeoutMilliseconds: 300)
        let start = SystemClock.shared.nowMilliseconds
        do {
            _ = try client.schema(id: 1)
            Issue.record("got an answer from a silent server")
        } catch {
            let elapsed = SystemClock.shared.nowMilliseconds - start
            #expect(elapsed >= 250 && elapsed < 2000, "\(elapsed) ms")
            #expect(error.kind == .timeout && error.isTransient)
            #expect(error.description.contains("127.0.0.1:\(port)"), "\(error)")
            #expect(error.description.contains("300 ms"), "\(error)")
            #expect(!error.description.contains("s3cret"), "\(error)")
        }
    }

    @Test func endpointsParseAndRedactCredentials() throws {
        let endpoint = try HTTPEndpoint("http://alice:p%40ss@registry.local:8081/base/")
        #expect(endpoint.host == "registry.local" && endpoint.port == 8081 && endpoint.basePath == "/base")
        #expect(endpoint.description == "http://alice:***@registry.local:8081/base")
        #expect(endpoint.authorization == "Basic " + Base64.encode(Array("alice:p@ss".utf8)))
        let v6 = try HTTPEndpoint("http://[::1]:9000")
        #expect(v6.host == "::1" && v6.port == 9000 && v6.hostHeader == "[::1]:9000")
        #expect(try HTTPEndpoint("http://h").port == 80)
        let secure = try HTTPEndpoint("https://u:topsecret@h/r")
        #expect(secure.port == 443 && secure.requestURL("/subjects") == "https://h:443/r/subjects")
        for bad in ["ftp://u:topsecret@h:1", "h:8081", "http://u:topsecret@h:port", "http://"] {
            do {
                let parsed = try HTTPEndpoint(bad)
                Issue.record("accepted \(bad) as \(parsed)")
            } catch {
                #expect(!error.description.contains("topsecret"), "\(error)")
            }
        }
    }

    @Test func parserHandlesChunkedLengthAndCloseDelimitedBodies() throws {
        func parse(_ text: String, atEOF: Bool = false) -> HTTPMessage? {
            if case .complete(let message, _) = HTTPMessageParser.parse(Array(text.utf8), isResponse: true, atEOF: atEOF) { return message }
            return nil
        }
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"id\r\n3;x=y\r\n\":7\r\n1\r\n}\r\n0\r\n\r\n"
        #expect(parse(chunked).map { String(decoding: $0.body, as: UTF8.self) } == "{\"id\":7}")
        #expect(parse(String(chunked.dropLast(2))) == nil, "incomplete without the final CRLF")
        #expect(parse("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}")?.status == 404)
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}") == nil)
        #expect(parse("HTTP/1.0 200 OK\r\n\r\nabc") == nil)
        #expect(parse("HTTP/1.0 200 OK\r\n\r\nabc", atEOF: true)?.body == Array("abc".utf8))
        if case .invalid = HTTPMessageParser.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8), isResponse: true, atEOF: false) {} else {
            Issue.record("accepted a bad chunk size")
        }
    }
}


/// A one-shot HTTP peer on loopback that records the request and answers
/// with canned bytes, to pin what the client sends and what it can parse.
@Suite struct HTTPClientWireTests {
    @Test func sendsBasicAuthAndReadsChunkedResponses() throws {
        let response = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\n{\"sch\r\n" + "e\r\nema\":\"\\\"string\r\n" + "4\r\n\\\"\"}\r\n" + "0\r\n\r\n"
        let peer = try CannedPeer(response: Array(response.utf8))
        let client = try SchemaRegistryClient(url: "http://bob:pw%21@127.0.0.1:\(peer.port)", timeoutMilliseconds: 2000)
        let schema = try client.schema(id: 5)
        #expect(schema.name == "string")
        let request = peer.request()
        #expect(request.hasPrefix("GET /schemas/ids/5 HTTP/1.1\r\n"), "\(request)")
        #expect(request.contains("Authorization: Basic \(Base64.encode(Array("bob:pw!".utf8)))\r\n"), "\(request)")
        #expect(request.contains("Accept: application/vnd.schemaregistry.v1+json"), "\(request)")
    }

    @Test func postsTheSchemaAsEscapedJSON() throws {
        let peer = try CannedPeer(response: Array("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{\"id\":3}".utf8))
        let client = try SchemaRegistryClient(url: "http://127.0.0.1:\(peer.port)/prefix", timeoutMilliseconds: 2000)
        #expect(try client.register(subject: "a b", schemaJSON: #"{"type": "string"}"#) == 3)
        let request = peer.request()
        #expect(request.hasPrefix("POST /prefix/subjects/a%20b/versions HTTP/1.1\r\n"), "\(request)")
        #expect(request.contains("Content-Type: application/vnd.schemaregistry.v1+json\r\n"), "\(request)")
        #expect(request.hasSuffix(#"{"schema":"{\"type\": \"string\"}"}"#), "\(request)")
    }
}

final class CannedPeer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)
    private var captured: [UInt8] = []

    init(response: [UInt8]) throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = listener
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(fd, $0, length)
                _ = listen(fd, 4)
                _ = getsockname(fd, $0, &length)
            }
        }
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in
            let connection = accept(fd, nil, nil)
            var buffer = [UInt8](repeating: 0, count: 65536)
            // Read until the head and any Content-Length body have arrived.
            while true {
                var pfd = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 2000) > 0 else { break }
                let n = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                captured += buffer[..<n]
                if case .complete = HTTPMessageParser.parse(captured, isResponse: false, atEOF: false) { break }
            }
            _ = response.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(connection)
            done.signal()
        }
    }

    deinit { close(listener) }

    func request() -> String {
        done.wait()
        return String(decoding: captured, as: UTF8.self)
    }
}
