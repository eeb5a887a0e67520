/// The Prometheus text exposition format, version 0.0.4.
enum MetricsText {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` (label names may not use ':', and pgk's never do).
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: ":"): true
            default: false
            }
        }
    }

    /// HELP text escapes backslash and newline.
    static func escapeHelp(_ text: String) -> String {
        escape(text, quotes: false)
    }

    /// Label values also escape the double quote.
    static func escapeLabelValue(_ text: String) -> String {
        escape(text, quotes: true)
    }

    private static func escape(_ text: String, quotes: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quotes: out += "\\\""
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Integral values print without a fraction; infinities as +Inf/-Inf.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 9.007_199_254_740_992e15 { return String(Int64(value)) }
        return String(value)
    }

    static func labels(_ names: [String], _ values: [String], extra: (String, String)? = nil) -> String {
        var pairs = zip(names, values).map { "\($0)=\"\(escapeLabelValue($1))\"" }
        if let (name, value) = extra { pairs.append("\(name)=\"\(escapeLabelValue(value))\"") }
        return pairs.isEmpty ? "" : "{" + pairs.joined(separator: ",") + "}"
    }

    static func append(_ family: MetricFamily, to text: inout String) {
        text += "# HELP \(family.name) \(escapeHelp(family.help))\n"
        text += "# TYPE \(family.name) \(family.kind.rawValue)\n"
        for (values, series) in family.snapshot() {
            switch family.kind {
            case .counter, .gauge:
                text += family.name + labels(family.labelNames, values) + " " + format(series.value) + "\n"
            case .histogram:
                // Buckets are cumulative in the format; stored per bucket.
                var cumulative: UInt64 = 0
                for (index, bound) in (family.buckets + [Double.infinity]).enumerated() {
                    cumulative += series.bucketCounts[index]
                    text += family.name + "_bucket" + labels(family.labelNames, values, extra: ("le", format(bound)))
                        + " \(cumulative)\n"
                }
                text += family.name + "_sum" + labels(family.labelNames, values) + " " + format(series.sum) + "\n"
                text += family.name + "_count" + labels(family.labelNames, values) + " \(series.count)\n"
            }
        }
    }
}
