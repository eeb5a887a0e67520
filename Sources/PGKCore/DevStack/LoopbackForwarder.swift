#if canImport(Glibc)
import Glibc
#endif

/// Relays TCP connections from a fixed loopback port to another loopback
/// port, on one thread. librdkafka's mock cluster listens on random ports
/// only; this gives `pgk dev` a stable bootstrap address. Clients bootstrap
/// through it, then follow the metadata to the mock's own port, so only
/// little traffic passes here.
final class LoopbackForwarder: @unchecked Sendable {
    let port: UInt16
    private let targetPort: UInt16
    private let listener: Int32
    private let stop = StopToken()
    private var thread = pthread_t()

    init(listenPort: UInt16, targetPort: UInt16) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RuntimeError("cannot create a socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: listenPort)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw RuntimeError("cannot listen on 127.0.0.1:\(listenPort): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: actual.sin_port)
        self.targetPort = targetPort
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let forwarder = Unmanaged<LoopbackForwarder>.fromOpaque(raw!).takeRetainedValue()
            forwarder.relay()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<LoopbackForwarder>.fromOpaque(context).release()
            close(fd)
            throw RuntimeError("cannot start the forwarding thread")
        }
    }

    /// Stops relaying, closes every connection and waits for the thread.
    func shutdown() {
        guard !stop.isStopped else { return }
        stop.stop()
        pthread_join(thread, nil)
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    /// One direction of a connection: bytes read from `from` not yet written to `to`.
    private struct Pipe {
        var from: Int32
        var to: Int32
        var pending: [UInt8] = []
        var closed = false
    }

    private func relay() {
        var pipes: [Pipe] = []
        var scratch = [UInt8](repeating: 0, count: 64 * 1024)
        defer {
            for pipe in pipes { close(pipe.from) }
            close(listener)
        }
        while !stop.isStopped {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stop.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
            for pipe in pipes {
                // Read only when the previous chunk is out; then wait to write.
                fds.append(pollfd(fd: pipe.pending.isEmpty ? pipe.from : pipe.to,
                                  events: Int16(pipe.pending.isEmpty ? POLLIN : POLLOUT), revents: 0))
            }
            guard poll(&fds, nfds_t(fds.count), 1_000) > 0 else { continue }
            let polled = pipes.count
            if fds[0].revents != 0 { acceptClient(into: &pipes) }
            for index in 0..<polled where fds[index + 2].revents != 0 {
                if pipes[index].pending.isEmpty {
                    let count = read(pipes[index].from, &scratch, scratch.count)
                    if count <= 0 {
                        if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                        pipes[index].closed = true
                        continue
                    }
                    pipes[index].pending = Array(scratch[0..<count])
                }
                let written = pipes[index].pending.withUnsafeBytes { write(pipes[index].to, $0.baseAddress, $0.count) }
                if written > 0 {
                    pipes[index].pending.removeFirst(written)
                } else if written < 0 && errno != EAGAIN && errno != EINTR {
                    pipes[index].closed = true
                }
            }
            // A connection ends when either direction ends: close both sockets once.
            let dead = Set(pipes.filter(\.closed).flatMap { [$0.from, $0.to] })
            if !dead.isEmpty {
                for fd in dead { close(fd) }
                pipes.removeAll { dead.contains($0.from) }
            }
        }
    }

    private func acceptClient(into pipes: inout [Pipe]) {
        let client = Glibc.accept(listener, nil, nil)
        guard client >= 0 else { return }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = Self.loopback(port: targetPort)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard upstream >= 0, connected == 0 else {
            close(client)
            if upstream >= 0 { close(upstream) }
            return
        }
        _ = fcntl(upstream, F_SETFL, fcntl(upstream, F_GETFL) | O_NONBLOCK)
        pipes.append(Pipe(from: client, to: upstream))
        pipes.append(Pipe(from: upstream, to: client))
    }
}
