import Foundation
import NIOCore

/// A network written as address/prefix ("10.0.0.0/8", "fd00::/8"); a bare address is a single host.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    let network: IPAddress
    public let prefixLength: Int

    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parsing: String(parts[0])) else { throw CIDRError(text: trimmed) }
        let maxLength = if case .v4 = address { 32 } else { 128 }
        var length = maxLength
        if parts.count == 2 {
            guard parts[1].count <= 3, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(parts[1]), value <= maxLength else {
                throw CIDRError(text: trimmed)
            }
            length = value
        }
        self.init(network: address, prefixLength: length)
    }

    /// Host bits are cleared, so "10.1.2.3/8" is the network 10.0.0.0/8.
    init(network: IPAddress, prefixLength: Int) {
        self.prefixLength = prefixLength
        self.network = Self.masked(network, prefixLength)
    }

    /// Whether the network holds the address exactly as written: an IPv4 network never holds an IPv6
    /// address. The egress policy maps IPv6 spellings of IPv4 addresses before asking.
    public func contains(_ address: SocketAddress) -> Bool {
        guard let ip = IPAddress(address) else { return false }
        return contains(ip)
    }

    func contains(_ address: IPAddress) -> Bool {
        switch (network, address) {
        case (.v4, .v4), (.v6, .v6): return Self.masked(address, prefixLength) == network
        default: return false
        }
    }

    public var description: String { "\(network)/\(prefixLength)" }

    private static func masked(_ address: IPAddress, _ length: Int) -> IPAddress {
        switch address {
        case .v4(let value):
            return .v4(length == 0 ? 0 : value & (UInt32.max << (32 - length)))
        case .v6(let high, let low):
            let highMask: UInt64 = length >= 64 ? .max : (length == 0 ? 0 : UInt64.max << (64 - length))
            let lowMask: UInt64 = length <= 64 ? 0 : (length == 128 ? .max : UInt64.max << (128 - length))
            return .v6(high: high & highMask, low: low & lowMask)
        }
    }
}

/// A text that is not a CIDR; the message names it.
public struct CIDRError: Error, Equatable, CustomStringConvertible {
    public var text: String
    public var description: String { "'\(text)' is not an IP address or CIDR network (like 10.0.0.0/8 or fd00::/8)" }
}

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
    public static func parseList(_ text: String) throws -> [CIDR] {
        try text.split(separator: ",").compactMap { entry in
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : try CIDR(parsing: trimmed)
        }
    }

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
