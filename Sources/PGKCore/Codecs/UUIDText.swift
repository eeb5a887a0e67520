/// The canonical text of a 16-byte UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
enum UUIDText {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func format(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
