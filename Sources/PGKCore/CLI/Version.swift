/// The release identity. Man page dates come from here so regenerating the
/// committed pages is deterministic.
enum PGKVersion {
    static let number = "0.1.0"
    static let releaseYear = 2026
    static let releaseMonth = 11
    static let releaseDay = 21

    static let monthNames = ["January", "February", "March", "April", "May", "June", "July",
                             "August", "September", "October", "November", "December"]

    /// The mdoc `.Dd` form, e.g. "November 21, 2026".
    static var manDate: String {
        "\(monthNames[releaseMonth - 1]) \(releaseDay), \(releaseYear)"
    }
}
