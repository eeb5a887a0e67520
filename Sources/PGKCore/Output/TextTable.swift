/// `--output table|json` for listing commands: build records once, render
/// either as an aligned table (psql/rpk style) or as a JSON array.
enum OutputFormat: String, CaseIterable, Sendable {
    case table, json

    static let option: Option<OutputFormat> = .choice("output", short: "o", name: "FORMAT", help: "Output format",
                                                      default: .table)

    func render(_ records: [ValueObject], columns: [String]) -> String {
        switch self {
        case .json:
            return JSON.encode(.array(records.map(Value.object))) + "\n"
        case .table:
            let rows = records.map { record in columns.map { TextTable.cell(record[$0] ?? .null) } }
            return TextTable(headers: columns.map { $0.uppercased() }).render(rows)
        }
    }
}

struct TextTable: Sendable {
    var headers: [String]

    init(headers: [String]) { self.headers = headers }

    /// Left-aligned text, right-aligned numbers, two spaces between columns.
    func render(_ rows: [[String]]) -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        let numeric = headers.indices.map { index in
            !rows.isEmpty && rows.allSatisfy { index < $0.count && TextTable.looksNumeric($0[index]) }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: max(0, widths[index] - cell.count))
                let isLast = index == cells.count - 1
                parts.append(numeric[index] ? pad + cell : (isLast ? cell : cell + pad))
            }
            return parts.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    static func looksNumeric(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isNumber || $0 == "-" || $0 == "." }
    }

    /// A value as a table cell: strings bare, null empty, the rest as JSON.
    static func cell(_ value: Value) -> String {
        switch value {
        case .null: return ""
        case .string(let text): return text
        case .array(let items): return items.map(cell).joined(separator: ",")
        default: return value.jsonText
        }
    }
}
