import CLibPQ
import CRdKafka
import Foundation

/// The process entry point: parse, dispatch, map errors to exit statuses.
public enum PGK {
    public static func main() -> Never {
        SignalTrap.install()
        keepLargeBuffersInTheHeap()
        let status = run(Array(CommandLine.arguments.dropFirst()),
                         environment: ProcessInfo.processInfo.environment)
        try? OutputSink.standardOutput.flush()
        exit(status)
    }

    /// glibc maps each allocation over 128 KiB afresh and unmaps it when
    /// freed (a freed mapping raises that bound, up to 32 MiB), and gives
    /// the heap's free top back to the kernel past twice that bound. A
    /// batch's buffers, several MiB each and allocated anew per batch,
    /// then fault in page by page time and again: 70k minor faults and
    /// 0.29–0.37 s of system time for 1M records under `pgk sql run`,
    /// against 42–46k and 0.17–0.26 s with these bounds.
    private static func keepLargeBuffersInTheHeap() {
        #if canImport(Glibc)
        // Swift's Glibc module leaves malloc.h out: mallopt and its
        // parameters (M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3) come from there.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(-3, 64 << 20)
        _ = mallopt(-1, 256 << 20)
        #endif
    }

    /// Runs one command line and returns its exit status. Tests call this
    /// in-process with their own environment, stop token and output.
    static func run(_ arguments: [String], environment: [String: String],
                           stop: StopToken = .process, output: OutputSink = .standardOutput) -> Int32 {
        let parser = ArgumentParser(root: CommandTable.root)
        if asksForKafkaPropertyList(arguments) { return printKafkaPropertyList() }
        do {
            switch try parser.parse(arguments, environment: environment, stop: stop, output: output) {
            case .help(let path):
                try output.write(HelpRenderer.render(root: CommandTable.root, path: path))
                try output.flush()
                return ExitStatus.ok
            case .version:
                try output.write(versionText + "\n")
                try output.flush()
                return ExitStatus.ok
            case .run(let invocation):
                Secrets.register(invocation.globals)
                // Diagnostics stay process-wide (one stderr); -v/-q set their level.
                Log.level = invocation.globals.logLevel
                let status = try invocation.command.run!(invocation)
                try output.flush()
                return status
            }
        } catch let error as UsageError {
            try? output.flush()
            reportUsage(error)
            return ExitStatus.usage
        } catch is OutputClosedError {
            return ExitStatus.ok
        } catch {
            try? output.flush()
            StandardError.write("pgk: error: \(error)\n")
            return ExitStatus.failure
        }
    }

    /// `-X list` works with or without a verb, as in kcat.
    static func asksForKafkaPropertyList(_ arguments: [String]) -> Bool {
        let options = arguments.prefix { $0 != "--" }
        for (index, token) in options.enumerated() {
            if token == "-Xlist" || token == "--kafka-property=list" { return true }
            if (token == "-X" || token == "--kafka-property"), index + 1 < options.count,
               options[options.startIndex + index + 1] == "list" { return true }
        }
        return false
    }

    static func printKafkaPropertyList() -> Int32 {
        // librdkafka prints its own table; give it a FILE on fd 1.
        guard let file = fdopen(dup(1), "w") else { return ExitStatus.failure }
        rd_kafka_conf_properties_show(file)
        fclose(file)
        return ExitStatus.ok
    }

    static func reportUsage(_ error: UsageError) {
        var text = "pgk: error: \(error.message)\n"
        if let suggestion = error.suggestion {
            text += "pgk: " + suggestion + "\n"
        }
        let command = (["pgk"] + error.commandPath).joined(separator: " ")
        text += "Try '\(command) --help' for more information.\n"
        StandardError.write(text)
    }

    static var versionText: String {
        let rdkafka = String(cString: rd_kafka_version_str())
        let libpq = PQlibVersion()
        return "pgk \(PGKVersion.number) (librdkafka \(rdkafka), libpq \(libpq / 10000).\(libpq % 100))"
    }
}
