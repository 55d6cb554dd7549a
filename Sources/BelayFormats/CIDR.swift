import Foundation

/// A network written as address/prefix ("10.0.0.0/8", "fd00::/8"); a bare address is a single host.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
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
    public init(network: IPAddress, prefixLength: Int) {
        self.prefixLength = prefixLength
        self.network = Self.masked(network, prefixLength)
    }

    /// Whether the network holds the address exactly as written: an IPv4 network never holds an IPv6
    /// address. The egress policy maps IPv6 spellings of IPv4 addresses before asking.
    public func contains(_ address: IPAddress) -> Bool {
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

extension CIDR {
    /// Parses "10.0.0.0/8, 192.168.1.5" (as the CIDR-list options take them); blanks are skipped.
    public static func parseList(_ text: String) throws -> [CIDR] {
        try text.split(separator: ",").compactMap { entry in
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : try CIDR(parsing: trimmed)
        }
    }
}

/// A text that is not a CIDR; the message names it.
public struct CIDRError: Error, Equatable, CustomStringConvertible {
    public var text: String
    public var description: String { "'\(text)' is not an IP address or CIDR network (like 10.0.0.0/8 or fd00::/8)" }
}
