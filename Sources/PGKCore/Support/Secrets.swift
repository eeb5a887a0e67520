import Foundation
import Synchronization

/// Credentials given to this process, kept out of everything it writes to
/// stderr: pgk's own messages, librdkafka's log lines (`-X debug=…`) and
/// errors quoting a URL or a property. Values are registered once the
/// command line is parsed; every stderr line is scrubbed of them.
enum Secrets {
    static let mask = "***"
    private static let values = Mutex<[String]>([])

    /// librdkafka properties whose values are credentials: those the
    /// library marks sensitive (sasl.password, ssl.key.password, ssl.key.pem,
    /// ssl_key, ssl.keystore.password, sasl.oauthbearer.config,
    /// sasl.oauthbearer.client.secret) and anything else named like a
    /// password, secret or keystore setting.
    static func isSensitiveKafkaProperty(_ key: String) -> Bool {
        let key = key.lowercased()
        if key.contains("password") || key.contains("secret") || key.hasPrefix("ssl.keystore.") { return true }
        return ["ssl.key.pem", "ssl_key", "sasl.oauthbearer.config"].contains(key)
    }

    /// Remembers a credential; values under 3 characters would mask ordinary text, so they are not scrubbed.
    static func register(_ value: String) {
        guard value.count >= 3 else { return }
        values.withLock { if !$0.contains(value) { $0.append(value) } }
    }

    /// The credentials inside the global options: sensitive -X values, the
    /// registry URL's password, and the database password.
    static func register(_ globals: GlobalOptions) {
        for (key, value) in globals.kafkaProperties where isSensitiveKafkaProperty(key) { register(value) }
        if let registry = globals.registry, let password = URLComponents(string: registry)?.password {
            register(password.removingPercentEncoding ?? password)
        }
        if let database = globals.database { passwords(inConninfo: database).forEach(register) }
    }

    /// `password=` values of a key/value conninfo, or a URL's password.
    static func passwords(inConninfo text: String) -> [String] {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            guard let password = URLComponents(string: text)?.password else { return [] }
            return [password.removingPercentEncoding ?? password]
        }
        var found: [String] = []
        var rest = Substring(text)
        while let range = rest.range(of: "password") {
            rest = rest[range.upperBound...].drop { $0 == " " }
            guard rest.first == "=" else { continue }
            rest = rest.dropFirst().drop { $0 == " " }
            var value = ""
            if rest.first == "'" {
                rest = rest.dropFirst()
                while let c = rest.first, c != "'" {
                    if c == "\\", let next = rest.dropFirst().first { value.append(next); rest = rest.dropFirst(2) } else {
                        value.append(c); rest = rest.dropFirst()
                    }
                }
            } else {
                value = String(rest.prefix { !$0.isWhitespace })
            }
            found.append(value)
        }
        return found
    }

    /// `text` with every registered credential replaced by `mask`.
    static func redact(_ text: String) -> String {
        let secrets = values.withLock { $0 }
        guard !secrets.isEmpty else { return text }
        var text = text
        for secret in secrets where text.contains(secret) { text = text.replacingOccurrences(of: secret, with: mask) }
        return text
    }
}
