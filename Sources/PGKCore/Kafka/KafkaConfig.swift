import CRdKafka
#if canImport(Glibc)
import Glibc
#endif

/// The user's view of a Kafka connection: brokers plus librdkafka
/// properties passed through verbatim (`-X key=value`).
///
/// pgk never mirrors librdkafka properties in Swift; it only sets a few
/// defaults of its own, which the user's properties always override.
struct KafkaConfig: Sendable {
    /// Comma-separated `host:port` list for `bootstrap.servers`, or nil when
    /// the user sets it through a property.
    var brokers: String?
    /// librdkafka properties in the order given; later ones win.
    var properties: [KafkaProperty]
    /// How long a client may fail to reach any broker before pgk gives up.
    var connectTimeoutMilliseconds: Int

    init(brokers: String?, properties: [(String, String)] = [],
                connectTimeoutMilliseconds: Int = 10_000) {
        self.brokers = brokers
        self.properties = properties.map { KafkaProperty(key: $0.0, value: $0.1) }
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
    }

    /// The value the user set for `key`, if any (last one wins, as in librdkafka).
    func userValue(_ key: String) -> String? {
        properties.last(where: { $0.key == key })?.value
    }

    /// `bootstrap.servers` as it will reach librdkafka, for messages.
    var bootstrapServers: String {
        userValue("bootstrap.servers") ?? userValue("metadata.broker.list") ?? brokers ?? "(none)"
    }

    /// Builds the native configuration: pgk's `defaults` first, then
    /// `bootstrap.servers`, then the user's properties, so the user wins.
    func makeNative(defaults: [KafkaProperty] = []) throws -> KafkaNativeConfig {
        let native = KafkaNativeConfig()
        for property in defaults { try native.set(property.key, property.value, source: "pgk default") }
        if let brokers { try native.set("bootstrap.servers", brokers, source: "--brokers") }
        for property in properties { try native.set(property.key, property.value, source: "-X") }
        return native
    }
}

struct KafkaProperty: Sendable, Equatable {
    var key: String
    var value: String
    init(key: String, value: String) { self.key = key; self.value = value }
}

/// A configuration property librdkafka refused.
struct KafkaConfigError: Error, CustomStringConvertible, Sendable {
    var property: String
    var value: String
    var source: String
    /// librdkafka's own explanation.
    var reason: String
    var description: String {
        "invalid Kafka property \(property)=\(value) (\(source)): \(reason)"
    }
}

/// Owns an `rd_kafka_conf_t` until `rd_kafka_new` succeeds and takes it.
final class KafkaNativeConfig {
    private(set) var pointer: OpaquePointer?

    init() { pointer = rd_kafka_conf_new() }

    deinit { if let pointer { rd_kafka_conf_destroy(pointer) } }

    func set(_ key: String, _ value: String, source: String) throws {
        guard let pointer else { preconditionFailure("configuration already consumed") }
        var errbuf = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(pointer, key, value, &errbuf, errbuf.count)
        if result != RD_KAFKA_CONF_OK {
            let shown = Secrets.isSensitiveKafkaProperty(key) ? Secrets.mask : value
            throw KafkaConfigError(property: key, value: shown, source: source,
                                   reason: errbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
    }

    func get(_ key: String) -> String? {
        guard let pointer else { return nil }
        var size = 0
        guard rd_kafka_conf_get(pointer, key, nil, &size) == RD_KAFKA_CONF_OK, size > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: size)
        guard rd_kafka_conf_get(pointer, key, &buffer, &size) == RD_KAFKA_CONF_OK else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Called once `rd_kafka_new` succeeded: librdkafka owns it now.
    func markConsumed() { pointer = nil }
}
