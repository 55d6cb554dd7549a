import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address as plain integers, so the egress policy can compare it against networks without allocating.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    /// The address's first and last 64 bits, in network order.
    case v6(high: UInt64, low: UInt64)

    /// Parses the strict textual forms only: dotted decimal quads and RFC 4291 IPv6 (no zone, no brackets).
    /// Spellings like "127.1" or "0x7f000001" are not addresses here; they reach the policy only after the
    /// resolver has turned them into a `SocketAddress`.
    public init?(parsing text: String) {
        // inet_pton reads a C string: an embedded NUL would hide whatever follows it.
        guard text.utf8.count <= 45, !text.utf8.contains(0) else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        if text.contains(":"), inet_pton(AF_INET6, text, &v6) == 1 {
            self = Self(v6)
            return
        }
        return nil
    }

    public init(_ address: in6_addr) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        withUnsafeBytes(of: address) { bytes in
            for index in 0..<8 { high = high << 8 | UInt64(bytes[index]) }
            for index in 8..<16 { low = low << 8 | UInt64(bytes[index]) }
        }
        self = .v6(high: high, low: low)
    }

    public var description: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        case .v6(let high, let low):
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { bytes in
                for index in 0..<8 { bytes[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * index)) }
                for index in 0..<8 { bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (56 - 8 * index)) }
            }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return "::" }
            return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The IPv4 address an IPv6 address stands for outright: IPv4-mapped (::ffff:a.b.c.d), IPv4-translated
    /// (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d) and the well-known NAT64 prefix (64:ff9b::/96).
    /// Such an address reaches the IPv4 host, so the policy judges it as that host and nothing else.
    public var equivalentIPv4: UInt32? {
        guard case .v6(let high, let low) = self else { return nil }
        let tag = low >> 32
        let embedded = UInt32(truncatingIfNeeded: low)
        if high == 0 {
            switch tag {
            case 0xFFFF, 0xFFFF_0000: return embedded
            // :: and ::1 are IPv6's own unspecified and loopback addresses, judged as IPv6.
            case 0 where low > 1: return embedded
            default: return nil
            }
        }
        if high == 0x0064_FF9B_0000_0000, tag == 0 { return embedded }
        return nil
    }

    /// An IPv4 address an IPv6 address carries towards a gateway (6to4 2002::/16, local-use NAT64
    /// 64:ff9b:1::/48). The IPv6 address is judged too; the carried one must pass as well.
    public var carriedIPv4: UInt32? {
        guard case .v6(let high, let low) = self else { return nil }
        if high >> 48 == 0x2002 { return UInt32(truncatingIfNeeded: high >> 16) }
        if high >> 16 == 0x0064_FF9B_0001 { return UInt32(truncatingIfNeeded: low) }
        return nil
    }
}
