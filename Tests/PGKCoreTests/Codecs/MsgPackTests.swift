import Testing
@testable import PGKCore

@Suite struct MsgPackTests {
    static let sample: Value = [
        "nil": nil, "t": true, "f": false, "small": 7, "neg": -33, "big": .int(Int64.max), "min": .int(Int64.min),
        "pi": 3.25, "text": "héllo 😀", "empty": "", "bin": .bytes([0, 1, 2, 255]),
        "list": [1, "two", [3.5, nil], ["k": "v"]], "obj": ["nested": ["deeper": [true]]],
    ]

    @Test func roundTripsEveryValueKind() throws {
        let bytes = MsgPack.encode(Self.sample)
        let back = try MsgPack.decode(bytes)
        #expect(back == Self.sample)
        #expect(back.jsonText == Self.sample.jsonText, "key order must survive")
    }

    @Test func decodesHandWrittenEncodings() throws {
        // uint64 max, int8 -5, float32 1.5, bin8, fixext1 type 5, map {1: "a", nil: true}
        #expect(try MsgPack.decode([0xCF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == .decimal("18446744073709551615"))
        #expect(try MsgPack.decode([0xCF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == .int(Int64.max))
        #expect(try MsgPack.decode([0xD0, 0xFB]) == .int(-5))
        #expect(try MsgPack.decode([0xCA, 0x3F, 0xC0, 0x00, 0x00]) == .double(1.5))
        #expect(try MsgPack.decode([0xC4, 0x02, 0xAB, 0xCD]) == .bytes([0xAB, 0xCD]))
        let ext = try MsgPack.decode([0xD4, 0x05, 0x2A])
        #expect(ext.jsonText == #"{"ext_type":5,"data":"Kg=="}"#)
        #expect(MsgPack.encode(ext) == [0xD4, 0x05, 0x2A], "ext objects encode back to ext")
        let map = try MsgPack.decode([0x83, 0x01, 0xA1, 0x61, 0xC0, 0xC3, 0x92, 0x01, 0x02, 0xC2])
        #expect(map.jsonText == #"{"1":"a","null":true,"[1,2]":false}"#)
    }

    @Test func decodesTimestampExtensionAsRFC3339() throws {
        // timestamp32: 2021-01-01T00:00:00Z = 1609459200 = 0x5FEE6600
        #expect(try MsgPack.decode([0xD6, 0xFF, 0x5F, 0xEE, 0x66, 0x00]) == .string("2021-01-01T00:00:00.000Z"))
        // timestamp64 with 5 ns: nanos in the upper 30 bits, seconds in the lower 34.
        let raw: UInt64 = (5 << 34) | 1_609_459_200
        let bytes: [UInt8] = [0xD7, 0xFF] + (0..<8).map { UInt8(truncatingIfNeeded: raw >> (56 - 8 * UInt64($0))) }
        #expect(try MsgPack.decode(bytes) == .string("2021-01-01T00:00:00.000000005Z"))
    }

    @Test func rejectsInvalidUTF8WithItsOffset() {
        do {
            _ = try MsgPack.decode([0x81, 0xA1, 0x6B, 0xA2, 0xC3, 0x28])
            Issue.record("accepted invalid UTF-8")
        } catch {
            #expect(error.format == "utf-8")
            #expect(error.offset == 4)
        }
    }

    @Test(arguments: [
        ([UInt8](), 0, "empty"), ([0x92, 0x01], 2, "truncated"), ([0xA5, 0x61, 0x62], 3, "truncated"),
        ([0x01, 0x02], 1, "unexpected bytes"), ([0xC1], 0, "invalid type byte"),
        ([0xDD, 0xFF, 0xFF, 0xFF, 0xFF], 5, "truncated"), ([0xDF, 0x10, 0, 0, 0, 0xC0], 6, "declares 536870912 values"),
    ] as [([UInt8], Int, String)])
    func rejectsMalformedInput(bytes: [UInt8], offset: Int, reason: String) {
        do {
            let value = try MsgPack.decode(bytes)
            Issue.record("accepted \(bytes): \(value)")
        } catch {
            #expect(error.format == "msgpack")
            #expect(error.offset == offset, "\(error)")
            #expect(error.reason.contains(reason), "\(error)")
        }
    }

    @Test func rejectsExcessiveNesting() throws {
        let deep = [UInt8](repeating: 0x91, count: 40) + [0xC0]
        #expect(throws: CodecError.self) { try MsgPack.decode(deep) }
        let fine = [UInt8](repeating: 0x91, count: 20) + [0xC0]
        #expect(try MsgPack.decode(fine).jsonText == String(repeating: "[", count: 20) + "null" + String(repeating: "]", count: 20))
    }

    /// msgpack-c allocates a container's elements before reading them, so
    /// huge declared counts in tiny messages must fail as truncated, not OOM.
    @Test func hugeDeclaredCountsFailFast() {
        let start = SystemClock.shared.nowMilliseconds
        for header: [UInt8] in [[0xDD, 0x00, 0x98, 0x96, 0x80], [0xDF, 0x05, 0xF5, 0xE1, 0x00],
                                [0xDD, 0x7F, 0xFF, 0xFF, 0xFF], [0xC6, 0xFF, 0xFF, 0xFF, 0xF0], [0xDB, 0x7F, 0, 0, 0]] {
            for _ in 0..<20 {
                #expect(throws: CodecError.self) { try MsgPack.decode(header + [0x01]) }
            }
        }
        let elapsed = SystemClock.shared.nowMilliseconds - start
        #expect(elapsed < 2000, "took \(elapsed) ms")
    }

    @Test func largeMapsKeepLastValueOfDuplicateKeys() throws {
        var bytes: [UInt8] = [0xDE, 0x00, 100]
        for i in 0..<100 { bytes += [0xA2, UInt8(ascii: "a") + UInt8(i % 50 / 10), UInt8(ascii: "0") + UInt8(i % 10), 0xCC, UInt8(i)] }
        let object = try MsgPack.decode(bytes)
        guard case .object(let map) = object else { Issue.record("not an object"); return }
        #expect(map.count == 50)
        #expect(map["a0"] == .int(50))
        #expect(map["e9"] == .int(99))
        #expect(map.keys.first == "a0")
    }

    /// Every truncation and many random corruptions of valid encodings must
    /// throw or decode; a trap would kill the test process.
    @Test func survivesTruncationsAndByteFlips() throws {
        var rng = SplitMix64(seed: 0x5EED)
        let encodings = [MsgPack.encode(Self.sample), MsgPack.encode(["a": [1, 2, ["b": .bytes([9])]]]),
                         MsgPack.encode(.string(String(repeating: "x", count: 300)))]
        var decoded = 0, rejected = 0
        for valid in encodings {
            for length in 0..<valid.count {
                #expect(throws: CodecError.self) { try MsgPack.decode(Array(valid[..<length])) }
            }
            for _ in 0..<3000 {
                var bytes = valid
                for _ in 0..<Int(rng.next() % 3 + 1) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                do {
                    let value = try MsgPack.decode(bytes)
                    decoded += 1
                    // Whatever decodes must re-encode to something that decodes the same.
                    #expect(try MsgPack.decode(MsgPack.encode(value)).jsonText == value.jsonText)
                } catch {
                    rejected += 1
                    #expect(!error.reason.isEmpty)
                }
            }
        }
        #expect(decoded > 0 && rejected > 0, "decoded \(decoded), rejected \(rejected)")
    }
}
