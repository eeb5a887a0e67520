/// ksqlDB's names for struct fields selected without an alias (its
/// `ColumnNames` alias generator): `S->TOWN` is TOWN, or TOWN_1, TOWN_2, …
/// when a source column or an earlier unaliased field already took TOWN.
/// Names are compared without a trailing `_<digits>`, as ksqlDB compares
/// them: a source column COL_1 takes only COL_1 of COL's names.
struct StructFieldAliases {
    /// Per base name, the numbers the sources' columns hold (0 for the bare name).
    private let taken: [String: Set<Int>]
    /// Per base name, the next number to try.
    private var next: [String: Int] = [:]

    init(sourceColumns: some Sequence<String>) {
        var taken: [String: Set<Int>] = [:]
        for column in sourceColumns {
            let (base, number) = Self.split(column)
            taken[base, default: []].insert(number)
        }
        self.taken = taken
    }

    /// The name for the next unaliased selection of `field`.
    mutating func name(for field: String) -> String {
        let base = Self.split(field).base
        var number = next[base] ?? 0
        while taken[base]?.contains(number) == true { number += 1 }
        next[base] = number + 1
        return number == 0 ? base : "\(base)_\(number)"
    }

    /// NAME_26 is (NAME, 26); a name without a trailing number is (name, 0).
    static func split(_ name: String) -> (base: String, number: Int) {
        guard let underscore = name.lastIndex(of: "_") else { return (name, 0) }
        let digits = name[name.index(after: underscore)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let number = Int(digits) else { return (name, 0) }
        return (String(name[..<underscore]), number)
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
