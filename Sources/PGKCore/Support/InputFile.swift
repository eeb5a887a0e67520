#if canImport(Glibc)
import Glibc
#endif

/// The file a command reads its input from: `--file PATH`, or stdin when
/// there is none (or it is "-"). Owns the descriptor it opened; stdin is
/// never closed.
final class InputFile {
    let descriptor: Int32

    init(path: String?) throws {
        guard let path, path != "-" else {
            descriptor = 0
            return
        }
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw RuntimeError("cannot open \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { if descriptor != 0 { close(descriptor) } }
}
