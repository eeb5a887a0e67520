import Testing
@testable import PGKCore

@Suite struct PackingTests {
    static let schema = #"{"type":"record","name":"Reading","fields":[{"name":"sensor","type":"string"},{"name":"celsius","type":"double"}]}"#

    @Test func everyPackingRoundTripsThroughItsEncoderAndDecoder() throws {
        let server = try SchemaRegistryServer()
        defer { server.stop() }
        let registry = try SchemaRegistryClient(url: server.url)
        let value: Value = ["sensor": "t-1", "celsius": 21.5]
        for packing in Packing.allCases {
            let encoder = try packing.encoder(registry: registry, subject: "readings-value", schemaJSON: Self.schema)
            let decoder = try packing.decoder(registry: registry)
            let bytes = try encoder.encode(packing == .raw || packing == .string ? .string(value.jsonText) : value)
            let back = try decoder.decode(bytes)
            switch packing {
            case .json, .msgpack, .avro: #expect(back == value, "\(packing)")
            case .string: #expect(back == .string(value.jsonText))
            case .raw: #expect(back == .bytes(Array(value.jsonText.utf8)))
            }
        }
        #expect(Packing(rawValue: "avro") == .avro && Packing(rawValue: "protobuf") == nil)
    }

    @Test func avroNeedsARegistry() {
        #expect(throws: UsageError.self) { try Packing.avro.decoder() }
        #expect(throws: UsageError.self) { try Packing.avro.encoder() }
    }

    @Test func badMessagesAreInvalidAndRegistryOutagesAreNot() throws {
        let server = try SchemaRegistryServer()
        let registry = try SchemaRegistryClient(url: server.url, timeoutMilliseconds: 1000)
        let decoder = try Packing.avro.decoder(registry: registry)
        let id = try server.register(subject: "r-value", schemaJSON: Self.schema)

        func classify(_ bytes: [UInt8]) -> String {
            do {
                _ = try decoder.decode(bytes)
                return "ok"
            } catch {
                switch error {
                case .invalid(let codec): return "invalid: \(codec)"
                case .registry(let registry): return "registry: \(registry)"
                }
            }
        }
        #expect(classify(Array(#"{"sensor":"x"}"#.utf8)).contains("invalid: invalid confluent at byte 0: expected magic byte 0x00, got 0x7B"))
        #expect(classify([0, 0, 0]).hasPrefix("invalid:"))
        #expect(classify(ConfluentFrame.frame(schemaID: 999, payload: [0])).contains("unknown schema id 999"))
        let good = ConfluentFrame.frame(schemaID: id, payload: try AvroSchema(json: Self.schema).encode(["sensor": "a", "celsius": 1.0]))
        #expect(classify(good) == "ok")
        let truncated = classify(Array(good.dropLast(2)))
        #expect(truncated.hasPrefix("invalid:") && truncated.contains(".celsius"), "\(truncated)")

        server.stop()
        // The id is cached: a known schema still decodes with the registry down.
        #expect(classify(good) == "ok")
        let outage = classify(ConfluentFrame.frame(schemaID: id + 1, payload: [0]))
        #expect(outage.hasPrefix("registry:"), "\(outage)")
    }

    @Test func confluentFrameRoundTripsAndRejectsShortInput() throws {
        let framed = ConfluentFrame.frame(schemaID: 0x0102_0304, payload: [9, 8])
        #expect(framed == [0, 1, 2, 3, 4, 9, 8])
        let parsed = try ConfluentFrame.parse(framed)
        #expect(parsed.schemaID == 0x0102_0304 && parsed.payloadOffset == 5)
        #expect(try ConfluentFrame.parse(ConfluentFrame.frame(schemaID: -1, payload: [])).schemaID == -1)
        do {
            _ = try ConfluentFrame.parse([0, 1])
            Issue.record("accepted a 2-byte frame")
        } catch {
            #expect(error.reason.contains("shorter than the 5-byte"))
        }
    }

    @Test func stringPackingReportsWhereUTF8Breaks() throws {
        do {
            _ = try StringMessageDecoder().decode([0x61, 0xC3, 0xA9, 0xFF, 0x62])
            Issue.record("accepted invalid UTF-8")
        } catch {
            guard case .invalid(let codec) = error else { Issue.record("\(error)"); return }
            #expect(codec.format == "utf-8" && codec.offset == 3)
        }
        #expect(throws: MessageCodecError.self) { try RawMessageEncoder().encode(["a": 1]) }
        #expect(try StringMessageEncoder().encode(42) == Array("42".utf8))
    }
}
