import CRdKafka
import Synchronization

/// What librdkafka's callbacks report back, reached through the handle's
/// opaque pointer. Everything except `brokerFailure` is touched only by the
/// thread that polls the handle (librdkafka serves error/delivery/rebalance
/// callbacks from poll calls); log callbacks arrive on internal threads.
class KafkaClientState: @unchecked Sendable {
    /// The last connection failure librdkafka logged ("Connect to … failed").
    let brokerFailure = Mutex<String?>(nil)
    var fatalError: KafkaError?
    /// Monotonic ms when librdkafka reported all brokers down, cleared on traffic.
    var allBrokersDownSince: Int64?

    var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> KafkaClientState? {
        guard let opaque else { return nil }
        return Unmanaged<KafkaClientState>.fromOpaque(opaque).takeUnretainedValue()
    }

    func noteTraffic() { allBrokersDownSince = nil }
}

/// Owns one `rd_kafka_t`. Producer, consumer and admin wrap one each.
final class KafkaHandle {
    let pointer: OpaquePointer
    let state: KafkaClientState
    let config: KafkaConfig
    /// Flags for `rd_kafka_destroy_flags`; a consumer whose close timed out
    /// sets "no consumer close" so deinit cannot block.
    var destroyFlags: Int32 = 0

    init(type: rd_kafka_type_t, config: KafkaConfig, native: KafkaNativeConfig,
         state: KafkaClientState) throws {
        guard let conf = native.pointer else { preconditionFailure("configuration already consumed") }
        rd_kafka_conf_set_opaque(conf, state.opaque)
        rd_kafka_conf_set_error_cb(conf, kafkaErrorCallback)
        rd_kafka_conf_set_log_cb(conf, kafkaLogCallback)
        var errbuf = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errbuf, errbuf.count) else {
            let reason = errbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG, message: reason, operation: "create Kafka client")
        }
        native.markConsumed()
        self.pointer = rk
        self.state = state
        self.config = config
    }

    deinit {
        // Keep `state` alive until librdkafka can no longer call back into it.
        withExtendedLifetime(state) {
            if destroyFlags != 0 { rd_kafka_destroy_flags(pointer, destroyFlags) } else { rd_kafka_destroy(pointer) }
        }
    }

    /// Asks any broker for cluster metadata, proving the bootstrap list
    /// reaches a live broker, or throws within `timeoutMilliseconds`.
    func verifyReachable(timeoutMilliseconds: Int) throws {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(pointer, 0, nil, &metadata, Int32(clamping: timeoutMilliseconds))
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        if err == RD_KAFKA_RESP_ERR_NO_ERROR { state.noteTraffic(); return }
        throw unreachable(err, waitedMilliseconds: timeoutMilliseconds)
    }

    func unreachable(_ err: rd_kafka_resp_err_t, waitedMilliseconds: Int) -> KafkaError {
        var message = "cannot reach any Kafka broker of bootstrap.servers=\(config.bootstrapServers) within \(waitedMilliseconds) ms"
        if let failure = state.brokerFailure.withLock({ $0 }) { message += " (last failure: \(failure))" }
        return KafkaError(err, message: message,
                          hint: "check the broker list (--brokers or -X bootstrap.servers), -X security settings, and that the broker is up")
    }

    /// Throws once the client hit a fatal error, or has had no broker for
    /// longer than the connect timeout (confirmed by a short metadata probe).
    func checkHealth(clock: MonotonicClock = SystemClock.shared) throws {
        if let fatal = state.fatalError { throw fatal }
        guard let since = state.allBrokersDownSince else { return }
        let bound = config.connectTimeoutMilliseconds
        guard clock.nowMilliseconds - since >= bound else { return }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(pointer, 0, nil, &metadata, 2_000)
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        if err == RD_KAFKA_RESP_ERR_NO_ERROR { state.noteTraffic(); return }
        throw unreachable(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, waitedMilliseconds: bound)
    }
}

private let kafkaErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = { rk, code, reason, opaque in
    guard let state = KafkaClientState.from(opaque) else { return }
    let text = reason.map { String(cString: $0) } ?? ""
    var error = KafkaError(code: code, message: text)
    if error.err == RD_KAFKA_RESP_ERR__FATAL, let rk {
        var buffer = [CChar](repeating: 0, count: 512)
        let original = rd_kafka_fatal_error(rk, &buffer, buffer.count)
        error = KafkaError(original, message: buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) },
                           hint: "the client cannot continue (fatal librdkafka error)")
        state.fatalError = error
        Log.error("Kafka: \(error)")
        return
    }
    if error.err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN {
        if state.allBrokersDownSince == nil { state.allBrokersDownSince = SystemClock.shared.nowMilliseconds }
        Log.warning("Kafka: \(error)")
    } else {
        Log.debug("Kafka: \(error)")
    }
}

private let kafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = { rk, level, facility, buffer in
    let fac = facility.map { String(cString: $0) } ?? ""
    let text = buffer.map { String(cString: $0) } ?? ""
    if fac == "FAIL", let rk, let state = KafkaClientState.from(rd_kafka_opaque(rk)) {
        state.brokerFailure.withLock { $0 = text }
        Log.debug("librdkafka \(fac): \(text)")
        return
    }
    switch level {
    case ...4: Log.warning("librdkafka \(fac): \(text)")
    case 5...6: Log.debug("librdkafka \(fac): \(text)")
    default: Log.trace("librdkafka \(fac): \(text)")
    }
}
