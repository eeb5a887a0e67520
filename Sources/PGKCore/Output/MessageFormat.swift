#if canImport(Glibc)
import Glibc
#endif

/// What `MessageFormat` needs from a message; both the zero-copy
/// `KafkaMessageView` and the owned `KafkaMessage` provide it.
protocol FormattableMessage {
    var topic: String { get }
    var partition: Int32 { get }
    var offset: Int64 { get }
    /// Unix milliseconds, nil when the message has none.
    var timestamp: Int64? { get }
    func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R
    func withValueBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R
    func forEachHeaderBytes(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) -> Void)
}

/// kcat's `-f` output format, compiled once into tokens so each message
/// is rendered with no parsing and no per-message allocation:
/// `%t` topic, `%p` partition, `%o` offset, `%k` key, `%s` value,
/// `%K` key length, `%S` value length, `%T` timestamp (ms, -1 if none),
/// `%h` headers as `name=value,…`, `%%` a percent sign; `\n`, `\t`, `\r`,
/// `\\` escapes. Null keys and values print as nothing, lengths as -1.
struct MessageFormat: Sendable, Equatable {
    enum Token: Sendable, Equatable {
        case literal([UInt8])
        case topic, partition, offset, key, value, keyLength, valueLength, timestamp, headers
    }

    let tokens: [Token]

    /// kcat's default: the value and a newline.
    static let valueLines = try! MessageFormat("%s\\n")

    init(_ text: String) throws(UsageError) {
        var tokens: [Token] = []
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty { tokens.append(.literal(literal)); literal.removeAll() }
        }
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\\"), index < bytes.count {
                let next = bytes[index]
                index += 1
                switch next {
                case UInt8(ascii: "n"): literal.append(0x0A)
                case UInt8(ascii: "t"): literal.append(0x09)
                case UInt8(ascii: "r"): literal.append(0x0D)
                case UInt8(ascii: "0"): literal.append(0x00)
                case UInt8(ascii: "\\"): literal.append(UInt8(ascii: "\\"))
                default: literal.append(byte); literal.append(next)
                }
                continue
            }
            guard byte == UInt8(ascii: "%") else { literal.append(byte); continue }
            guard index < bytes.count else {
                throw UsageError("--format ends with a lone '%'; write '%%' for a percent sign")
            }
            let code = bytes[index]
            index += 1
            let token: Token
            switch code {
            case UInt8(ascii: "%"): literal.append(code); continue
            case UInt8(ascii: "t"): token = .topic
            case UInt8(ascii: "p"): token = .partition
            case UInt8(ascii: "o"): token = .offset
            case UInt8(ascii: "k"): token = .key
            case UInt8(ascii: "s"): token = .value
            case UInt8(ascii: "K"): token = .keyLength
            case UInt8(ascii: "S"): token = .valueLength
            case UInt8(ascii: "T"): token = .timestamp
            case UInt8(ascii: "h"): token = .headers
            default:
                throw UsageError("--format has unknown token '%\(Character(Unicode.Scalar(code)))'",
                                 suggestion: "tokens are %t %p %o %k %s %K %S %T %h and %%")
            }
            flush()
            tokens.append(token)
        }
        flush()
        self.tokens = tokens
    }

    func render<M: FormattableMessage>(_ message: M, into out: inout [UInt8]) {
        for token in tokens {
            switch token {
            case .literal(let bytes): out.append(contentsOf: bytes)
            case .topic: out.append(contentsOf: message.topic.utf8)
            case .partition: Self.appendDecimal(Int64(message.partition), to: &out)
            case .offset: Self.appendDecimal(message.offset, to: &out)
            case .key: message.withKeyBytes { if let bytes = $0 { out.append(contentsOf: bytes) } }
            case .value: message.withValueBytes { if let bytes = $0 { out.append(contentsOf: bytes) } }
            case .keyLength: message.withKeyBytes { Self.appendDecimal(Int64($0?.count ?? -1), to: &out) }
            case .valueLength: message.withValueBytes { Self.appendDecimal(Int64($0?.count ?? -1), to: &out) }
            case .timestamp: Self.appendDecimal(message.timestamp ?? -1, to: &out)
            case .headers:
                var first = true
                message.forEachHeaderBytes { name, value in
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    out.append(contentsOf: name)
                    out.append(UInt8(ascii: "="))
                    if let value { out.append(contentsOf: value) }
                }
            }
        }
    }

    /// Base-10 digits without going through String.
    @inline(__always)
    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value >= 0 && value < 10 { out.append(UInt8(48 + value)); return }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0) // 32 bytes of scratch
        withUnsafeMutableBytes(of: &digits) { scratch in
            var position = scratch.count
            repeat {
                position -= 1
                scratch[position] = UInt8(48 + magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 { position -= 1; scratch[position] = UInt8(ascii: "-") }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[position...]))
        }
    }
}

extension KafkaMessageView: FormattableMessage {
    func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R { try body(key) }
    func withValueBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R { try body(value) }
    func forEachHeaderBytes(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer?) -> Void) {
        forEachHeader { name, value in
            body(UnsafeRawBufferPointer(start: name, count: strlen(name)), value)
        }
    }
}

extension KafkaMessage: FormattableMessage {
    func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let key else { return try body(nil) }
        return try key.withUnsafeBytes { try body($0) }
    }
    func withValueBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let value else { return try body(nil) }
        return try value.withUnsafeBytes { try body($0) }
    }
    func forEachHeaderBytes(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer?) -> Void) {
        for header in headers {
            var name = header.key
            name.withUTF8 { nameBytes in
                if let value = header.value {
                    value.withUnsafeBytes { body(UnsafeRawBufferPointer(nameBytes), $0) }
                } else {
                    body(UnsafeRawBufferPointer(nameBytes), nil)
                }
            }
        }
    }
}
