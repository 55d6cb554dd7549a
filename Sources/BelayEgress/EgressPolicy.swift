import BelayFormats
import Foundation
import NIOCore

/// Where monitors may connect. It judges the address a name resolved to, at every connection and redirect
/// hop, so no spelling of a host name can reach a forbidden address.
///
/// Order: an explicit deny wins; then an explicit allow; then the built-in denials (loopback, link-local,
/// cloud metadata, unspecified, multicast, broadcast, reserved); then, with `denyPrivate`, private ranges.
public struct EgressPolicy: Sendable {
    public var allow: [CIDR]
    public var deny: [CIDR]
    public var denyPrivate: Bool

    public init(allow: [CIDR] = [], deny: [CIDR] = [], denyPrivate: Bool = false) {
        self.allow = allow
        self.deny = deny
        self.denyPrivate = denyPrivate
    }

    /// Parses "10.0.0.0/8, 192.168.1.5" (as `--egress-allow` and `--egress-deny` take them); blanks are skipped.
    public static func parseList(_ text: String) throws -> [CIDR] { try CIDR.parseList(text) }

    /// Why a connection to `address` is refused ("127.0.0.1 is refused by the egress policy (loopback)"),
    /// or nil when it is allowed.
    public func denialReason(for address: SocketAddress) -> String? {
        guard let ip = IPAddress(address) else { return "\(address) is refused by the egress policy (not an IP address)" }
        let reason: String?
        if let v4 = ip.equivalentIPv4 {
            reason = verdict(.v4(v4)).map { "\($0), as \(IPAddress.v4(v4))" }
        } else if let v4 = ip.carriedIPv4 {
            reason = verdict(ip) ?? verdict(.v4(v4)).map { "\($0), carried to \(IPAddress.v4(v4))" }
        } else {
            reason = verdict(ip)
        }
        return reason.map { "\(ip) is refused by the egress policy (\($0))" }
    }

    public func allows(_ address: SocketAddress) -> Bool { denialReason(for: address) == nil }

    private func verdict(_ ip: IPAddress) -> String? {
        if let network = deny.first(where: { $0.contains(ip) }) { return "denied by \(network)" }
        if allow.contains(where: { $0.contains(ip) }) { return nil }
        if let rule = Self.alwaysDenied.first(where: { $0.network.contains(ip) }) { return rule.label }
        if denyPrivate, let rule = Self.privateNetworks.first(where: { $0.network.contains(ip) }) { return rule.label }
        return nil
    }

    struct Rule: Sendable {
        var network: CIDR
        var label: String

        init(_ text: String, _ label: String) {
            // The texts are constants below; a typo fails every test at once.
            self.network = try! CIDR(parsing: text)
            self.label = label
        }
    }

    /// Refused unless explicitly allowed. More specific entries come first so the reason is the useful one.
    static let alwaysDenied: [Rule] = [
        Rule("169.254.169.254/32", "cloud metadata"),
        Rule("100.100.100.200/32", "cloud metadata"),
        Rule("fd00:ec2::254/128", "cloud metadata"),
        Rule("0.0.0.0/8", "unspecified"),
        Rule("::/128", "unspecified"),
        Rule("127.0.0.0/8", "loopback"),
        Rule("::1/128", "loopback"),
        Rule("169.254.0.0/16", "link-local"),
        Rule("fe80::/10", "link-local"),
        Rule("224.0.0.0/4", "multicast"),
        Rule("ff00::/8", "multicast"),
        Rule("255.255.255.255/32", "broadcast"),
        Rule("240.0.0.0/4", "reserved"),
    ]

    /// Allowed by default, because monitoring internal services is the point; refused with `denyPrivate`.
    static let privateNetworks: [Rule] = [
        Rule("10.0.0.0/8", "private network"),
        Rule("172.16.0.0/12", "private network"),
        Rule("192.168.0.0/16", "private network"),
        Rule("100.64.0.0/10", "shared address space"),
        Rule("fc00::/7", "private network"),
        Rule("fec0::/10", "site-local"),
    ]
}
