import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP client for what HummingbirdTesting's client cannot send: several requests in one write
/// (pipelining) and a listener other than the app's. Blocking, so it runs on a thread of its own.
enum RawHTTP {
    struct Response {
        let status: Int
        let headers: [String: String]
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    enum Failure: Error { case connect(Int32), timeout, malformed(String) }

    /// Sends `requests` in one write to 127.0.0.1:`port` and reads until the server closes (the last
    /// request should say `Connection: close`). `heads` marks which answers have no body (HEAD, 304).
    static func exchange(port: Int, _ requests: [String], heads: Set<Int> = []) async throws -> [Response] {
        let bytes = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], any Error>) in
            Thread.detachNewThread {
                continuation.resume(with: Result { try transfer(port: port, Array(requests.joined().utf8)) })
            }
        }
        return try parse(bytes, heads: heads)
    }

    private static func transfer(port: Int, _ payload: [UInt8]) throws -> [UInt8] {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure.connect(errno) }
        defer { close(socket) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure.connect(errno) }
        var sent = 0
        while sent < payload.count {
            let n = payload[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw Failure.connect(errno) }
            sent += n
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if n == 0 { return received }
            guard n > 0 else { throw Failure.timeout }
            received += chunk[..<n]
        }
    }

    static func parse(_ bytes: [UInt8], heads: Set<Int>) throws -> [Response] {
        var responses: [Response] = []
        var rest = bytes[...]
        let separator: [UInt8] = [13, 10, 13, 10]
        while !rest.isEmpty {
            guard let end = rest.indices.first(where: { rest[$0...].starts(with: separator) }) else {
                throw Failure.malformed(String(decoding: rest, as: UTF8.self))
            }
            let lines = String(decoding: rest[..<end], as: UTF8.self).components(separatedBy: "\r\n")
            guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 "), let status = Int(statusLine.dropFirst(9).prefix(3)) else {
                throw Failure.malformed(lines.first ?? "")
            }
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let bodyStart = end + 4
            let length = heads.contains(responses.count) || status == 304 ? 0 : Int(headers["content-length"] ?? "0") ?? 0
            guard rest.endIndex - bodyStart >= length else { throw Failure.malformed("short body") }
            responses.append(Response(status: status, headers: headers, body: Array(rest[bodyStart..<bodyStart + length])))
            rest = rest[(bodyStart + length)...]
        }
        return responses
    }
}
