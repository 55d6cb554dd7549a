import Foundation

/// Who a request really came from when Belay sits behind proxies it trusts. Without trusted proxies the
/// peer is the client, whatever the headers say; with them, `X-Forwarded-For` (or RFC 7239 `Forwarded`)
/// is read from the right, skipping trusted hops, and the first untrusted address is the client. A header
/// from an untrusted peer is never read, so nobody can pick their own address for a throttle.
public enum ForwardedClient {
    /// At most this many hops are read from the headers.
    static let maxHops = 32

    public static func address(peer: String?, forwardedFor: [String], forwarded: [String], trusted: [CIDR]) -> String? {
        guard let peer, !trusted.isEmpty, let peerIP = IPAddress(parsing: peer), trusted.contains(where: { $0.contains(peerIP) }) else {
            return peer
        }
        var hops = forwarded.isEmpty ? forwardedHops(forwardedFor) : rfc7239Hops(forwarded)
        if hops.count > maxHops { hops = Array(hops.suffix(maxHops)) }
        var client = peer
        for hop in hops.reversed() {
            guard let ip = IPAddress(parsing: hop) else { return client }
            client = ip.description
            if !trusted.contains(where: { $0.contains(ip) }) { return client }
        }
        return client
    }

    /// "203.0.113.7, 10.0.0.2" from every X-Forwarded-For line, in order.
    static func forwardedHops(_ lines: [String]) -> [String] {
        lines.flatMap { $0.split(separator: ",") }.map { strip(String($0).trimmingCharacters(in: .whitespaces)) }
    }

    /// The `for=` parameters of `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`.
    static func rfc7239Hops(_ lines: [String]) -> [String] {
        lines.flatMap { $0.split(separator: ",") }.compactMap { element in
            for parameter in element.split(separator: ";") {
                let parts = parameter.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "for" else { continue }
                return strip(parts[1].trimmingCharacters(in: .whitespaces))
            }
            return "unknown"
        }
    }

    /// Removes quotes, IPv6 brackets and a port: `"[2001:db8::1]:4711"` -> `2001:db8::1`, `192.0.2.1:80` -> `192.0.2.1`.
    static func strip(_ text: String) -> String {
        var value = Substring(text)
        if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]") else { return String(value) }
            return String(value[value.index(after: value.startIndex)..<close])
        }
        if value.filter({ $0 == ":" }).count == 1, let colon = value.firstIndex(of: ":") { return String(value[..<colon]) }
        return String(value)
    }
}
