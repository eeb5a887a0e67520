import Testing
@testable import PGKCore

@Suite struct FlatJSONObjectTests {
    static func members(_ json: String) -> [String]? {
        var seen: [String] = []
        let flat = Array(json.utf8).withUnsafeBufferPointer { bytes in
            FlatJSONObject.scan(bytes) { key, value in
                func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
                let shown: String
                switch value {
                case .null: shown = "null"
                case .bool(let flag): shown = "\(flag)"
                case .integer(let digits): shown = "int " + text(digits)
                case .string(let range): shown = "str " + text(range)
                case .number(let range): shown = "num " + text(range)
                }
                seen.append(text(key) + "=" + shown)
                return true
            }
        }
        return flat ? seen : nil
    }

    @Test func readsFlatObjectsOfScalars() {
        #expect(Self.members(#" { "k" : 12 , "s":"a b","n":null,"t":true,"f":false,"z":0,"m":-7 } "#)
                == ["k=int 12", "s=str a b", "n=null", "t=true", "f=false", "z=int 0", "m=int -7"])
        #expect(Self.members("{}") == [])
    }

    @Test func leavesEverythingElseToTheGeneralDecoder() {
        for json in [#"{"a": 1.5}"#, #"{"a": 1e3}"#, #"{"a": 01}"#, #"{"a": -0}"#, #"{"a": -}"#, #"{"a": "x\"y"}"#,
                     #"{"a": "é"}"#, #"{"a": {"b": 1}}"#, #"{"a": [1]}"#, #"{"a": 1,}"#, #"{"a": 1} x"#, #"{"a" 1}"#,
                     #"{"a": tru}"#, #"[1]"#, "", #"{"a": 1"#, "{\"a\": \"x\ty\"}"] {
            #expect(Self.members(json) == nil, "\(json)")
        }
    }

    /// The flat path stages exactly what the general decoder stages, and
    /// declines (nil) where it would not.
    /// A DOUBLE column's numbers are staged as JSON.decode reads them
    /// and ValueText writes them; what that path words otherwise is its own.
    @Test func stagesDoublesAsTheGeneralPathDoes() {
        let source = CatalogSource(
            name: "S", kind: .stream, topic: "s", keyFormat: "KAFKA", valueFormat: "JSON",
            columns: [ColumnDefinition(name: "K", type: .integer), ColumnDefinition(name: "D", type: .double),
                      ColumnDefinition(name: "S", type: .string)],
            keyColumns: [], partitions: 1, queryID: nil, resultTable: nil, statement: "")
        let fast = InputStager(source: source, registry: nil)
        let general = InputStager(source: source, registry: nil)
        general.allowsFlatJSON = false
        func staged(_ stager: InputStager, _ json: String) -> String {
            var row = CopyTextEncoder()
            do { try stager.stage(key: nil, value: Array(json.utf8), into: &row) } catch { return "error: \(error)" }
            return String(decoding: row.buffer, as: UTF8.self)
        }
        let taken = [#"{"k": 1, "d": 1.5}"#, #"{"d": 5}"#, #"{"d": -0.0}"#, #"{"d": 1e20}"#, #"{"d": 1E-7}"#, #"{"d": 0.1}"#,
                     #"{"d": 9007199254740993}"#, #"{"d": null}"#, #"{"d": 2.5e-320}"#, #"{"D": -12.5e3, "s": "x"}"#]
        let declined = [#"{"d": -0}"#, #"{"d": 1e400}"#, #"{"d": -1e400}"#, #"{"d": 123456789012345678901234567890}"#,
                        #"{"d": "1.5"}"#, #"{"k": 1.5, "d": 2}"#, #"{"s": 2.5}"#, #"{"d": [1.5]}"#]
        for json in taken + declined {
            #expect(staged(fast, json) == staged(general, json), "\(json)")
        }
        #expect(fast.flatJSONRecords == taken.count)
        #expect(staged(fast, #"{"d": 1e20, "k": 2}"#) == "2\t1e+20\t\\N\t\\N\tf")
    }

    @Test func stagesAsTheGeneralPathDoes() throws {
        let source = CatalogSource(
            name: "S", kind: .stream, topic: "s", keyFormat: "KAFKA", valueFormat: "JSON",
            columns: [ColumnDefinition(name: "ID", type: .string, role: .key), ColumnDefinition(name: "K", type: .integer),
                      ColumnDefinition(name: "NAME", type: .string), ColumnDefinition(name: "BIG", type: .bigint),
                      ColumnDefinition(name: "ON", type: .boolean)],
            keyColumns: ["ID"], partitions: 1, queryID: nil, resultTable: nil, statement: "")
        let fast = InputStager(source: source, registry: nil)
        let general = InputStager(source: source, registry: nil)
        general.allowsFlatJSON = false
        func staged(_ stager: InputStager, _ json: String) -> String {
            var row = CopyTextEncoder()
            do { try stager.stage(key: Array("key-1".utf8), value: Array(json.utf8), into: &row) } catch { return "error: \(error)" }
            return String(decoding: row.buffer, as: UTF8.self)
        }
        for json in [
            #"{"k": 1, "name": "ann", "big": 9223372036854775807, "on": true}"#, #"{"K": -2147483648, "NAME": 42, "ON": false}"#,
            #"{"k": 2147483648}"#, #"{"k": "7"}"#, #"{"k": null, "name": true, "other": {"x": [1, 2]}}"#, #"{"Name": "a\tb"}"#,
            #"{"name": "x", "NAME": "y"}"#, #"{"big": 1.0}"#, #"{"name": 12345678901234567890}"#, #"{"on": "true"}"#,
            #"{"k": true}"#, #"{"name": "\u00e9"}"#, "not json", #"{"unknown": 1}"#, "{}", #"{"k": 01}"#,
        ] {
            #expect(staged(fast, json) == staged(general, json), "\(json)")
        }
        // Of those, the flat path took the plain ones: the first two, the unknown member's and {}.
        #expect(fast.flatJSONRecords == 4)
        #expect(general.flatJSONRecords == 0)
        // A table's row without a key is refused either way.
        var table = source
        table.kind = .table
        let fastTable = InputStager(source: table, registry: nil)
        let generalTable = InputStager(source: table, registry: nil)
        generalTable.allowsFlatJSON = false
        for key in [nil, Array("key-1".utf8)] {
            var fastRow = CopyTextEncoder(), generalRow = CopyTextEncoder()
            let fastError = (try? fastTable.stage(key: key, value: Array(#"{"k": 1}"#.utf8), into: &fastRow)) == nil
            let generalError = (try? generalTable.stage(key: key, value: Array(#"{"k": 1}"#.utf8), into: &generalRow)) == nil
            #expect(fastError == (key == nil) && generalError == fastError && fastRow.buffer == generalRow.buffer)
        }
        #expect(fastTable.flatJSONRecords == 1)
        #expect(staged(fast, #"{"k": 1}"#) == "key-1\t1\t\\N\t\\N\t\\N\t\\\\x6b65792d31\tf")
    }
}
