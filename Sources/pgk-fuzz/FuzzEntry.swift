import Foundation
import PGKCore

// libFuzzer's entry point, and a plain replay tool when built without it.
//
// SwiftPM links an executable's entry point as `<module>_main`, so libFuzzer's
// own `main` is never linked; the fuzzing build (-DPGK_FUZZING, see
// scripts/fuzz) hands control to libFuzzer through LLVMFuzzerRunDriver.

/// The target all inputs go to, from PGK_FUZZ_TARGET (read once).
let selectedTarget: String = {
    let name = ProcessInfo.processInfo.environment["PGK_FUZZ_TARGET"] ?? ""
    guard FuzzTargets.names.contains(name) else {
        FileHandle.standardError.write(Data("pgk-fuzz: set PGK_FUZZ_TARGET to one of: \(FuzzTargets.names.joined(separator: " "))\n".utf8))
        exit(2)
    }
    return name
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTargets.run(selectedTarget, UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

#if PGK_FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<Int32>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@main enum FuzzMain {
    static func main() {
        _ = selectedTarget
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv, fuzzOneInput))
    }
}
#else
/// `pgk-fuzz FILE…` (non-sanitized): runs each file through the target,
/// e.g. to reproduce a crash artifact under a debugger.
@main enum ReplayMain {
    static func main() {
        _ = selectedTarget
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("pgk-fuzz: cannot read \(path)\n".utf8))
                exit(1)
            }
            _ = data.withUnsafeBytes { fuzzOneInput($0.bindMemory(to: UInt8.self).baseAddress, $0.count) }
            print("ok \(path)")
        }
    }
}
#endif
