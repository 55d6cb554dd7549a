import BelayFormats
import NIOCore

extension IPAddress {
    package init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            self = .v4(UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            self = Self(v6.address.sin6_addr)
        case .unixDomainSocket:
            return nil
        }
    }
}

extension CIDR {
    public func contains(_ address: SocketAddress) -> Bool {
        guard let ip = IPAddress(address) else { return false }
        return contains(ip)
    }
}
