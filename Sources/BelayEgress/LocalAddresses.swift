import BelayFormats
import NIOCore

/// The addresses this machine's own interfaces have. A URL from the public must not reach them: a
/// service bound to 0.0.0.0 and firewalled from outside would answer a request Belay made to its own
/// public address.
package enum LocalAddresses {
    /// Each interface address as a single-address network; empty if the system will not say.
    package static func networks() -> [CIDR] {
        guard let interfaces = try? System.enumerateDevices() else { return [] }
        var networks: [CIDR] = []
        for device in interfaces {
            guard let address = device.address, let ip = IPAddress(address) else { continue }
            let network: CIDR = switch ip {
            case .v4: CIDR(network: ip, prefixLength: 32)
            case .v6: ip.equivalentIPv4.map { CIDR(network: .v4($0), prefixLength: 32) } ?? CIDR(network: ip, prefixLength: 128)
            }
            if !networks.contains(network) { networks.append(network) }
        }
        return networks
    }
}
