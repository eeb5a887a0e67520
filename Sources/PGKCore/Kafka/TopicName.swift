/// Kafka's rule for topic names, shared by every pipeline that derives
/// topics from PostgreSQL names: 1 to 249 of `[A-Za-z0-9._-]`, and
/// neither `.` nor `..`.
enum TopicName {
    static let maxLength = 249

    /// `name` with every Unicode scalar Kafka does not allow replaced by `_`.
    ///
    /// Per scalar, not per UTF-8 byte: one character of a table name stays
    /// one character of its topic (`Café` → `Caf_`, as Debezium names it,
    /// not `Caf__`), so the topic's length is the name's. A character made
    /// of several scalars (an accent written as a combining mark, a flag,
    /// a skin-tone emoji) gets one `_` per scalar.
    static func sanitize(_ name: String) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: name.unicodeScalars.lazy.map { isAllowed($0) ? $0 : "_" })
        return String(scalars)
    }

    /// Whether Kafka accepts `topic`. Over-long names are refused rather
    /// than cut: a shortened name could collide with another table's.
    static func isValid(_ topic: String) -> Bool {
        // Only ASCII passes isAllowed, so UTF-8 bytes count characters.
        !topic.isEmpty && topic.utf8.count <= maxLength && topic != "." && topic != ".."
            && topic.unicodeScalars.allSatisfy(isAllowed)
    }

    /// Throws when Kafka would refuse `topic`; `hint` says which option made it.
    static func validate(_ topic: String, hint: String) throws {
        guard isValid(topic) else {
            throw RuntimeError("'\(topic)' is not a valid Kafka topic name "
                + "(1 to \(maxLength) of the characters a-z A-Z 0-9 . _ -); \(hint)")
        }
    }

    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": return true
        default: return false
        }
    }
}
