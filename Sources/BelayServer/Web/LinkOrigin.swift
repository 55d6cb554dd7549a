import BelayFormats
import NIOConcurrencyHelpers

/// The origin Belay puts into links it hands out (invitations). A request's Host header is whatever the
/// sender wrote, so a link built from it could send an invitee, and the secret in the link, to someone
/// else's server. Links come from `--public-url`, or from a Host that names the very address Belay
/// listens on; otherwise there is no link, and the reason says what to configure.
struct LinkOrigin: Sendable {
    let publicURL: String?
    let baseURL: String
    let listenHost: String
    let boundPort: BoundPort

    enum Verdict: Equatable {
        case origin(String)
        case refused(String)
    }

    func resolve(authority: String?) -> Verdict {
        if publicURL != nil { return .origin(baseURL) }
        let refusal = Verdict.refused(
            "Belay does not know the address people reach it at, so it shows no link: one made from this request's Host header could point elsewhere. Start Belay with --public-url (for example --public-url https://status.example.com) and invite again.")
        guard let authority, let port = boundPort.value, let (host, givenPort) = Self.split(authority), givenPort == port else { return refusal }
        let sameHost = host.lowercased() == listenHost.lowercased()
        let loopback = Self.isLoopback(listenHost) && Self.isLoopback(host)
        return sameHost || loopback ? .origin("http://\(authority)") : refusal
    }

    /// "127.0.0.1:8080" -> ("127.0.0.1", 8080), "[::1]:8080" -> ("::1", 8080); nil without a port.
    static func split(_ authority: String) -> (String, Int)? {
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) else { return nil }
        var host = String(authority[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    static func isLoopback(_ host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        guard let ip = IPAddress(parsing: host) else { return false }
        switch ip {
        case .v4(let value): return value >> 24 == 127
        case .v6(let high, let low): return high == 0 && low == 1
        }
    }
}

/// The port the server really listens on, known once it is bound (the configured one may be 0).
final class BoundPort: Sendable {
    private let port = NIOLockedValueBox<Int?>(nil)
    var value: Int? { port.withLockedValue { $0 } }
    func set(_ value: Int) { port.withLockedValue { $0 = value } }
}
