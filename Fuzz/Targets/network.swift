// Target `network`: CIDR lists (the trusted-proxy and egress options), IP addresses and the
// X-Forwarded-For / Forwarded headers behind trusted proxies. The input is lines: the first is a CIDR
// list, the second the peer address, each further line a header value (`F:` first makes it a
// `Forwarded` line, else `X-Forwarded-For`).
import BelayCore
import BelayFormats
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNetwork(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)

    for line in lines {
        checkAddress(line)
        checkCIDR(line)
    }
    let trusted = (try? CIDR.parseList(lines.first ?? "")) ?? []
    for cidr in trusted { checkCIDR(cidr.description) }
    let peer = lines.count > 1 ? lines[1] : nil
    var forwardedFor: [String] = []
    var forwarded: [String] = []
    for line in lines.dropFirst(2) {
        if line.hasPrefix("F:") { forwarded.append(String(line.dropFirst(2))) } else { forwardedFor.append(line) }
    }
    let client = ForwardedClient.address(peer: peer, forwardedFor: forwardedFor, forwarded: forwarded, trusted: trusted)
    require((client == nil) == (peer == nil), "client \(String(describing: client)) for peer \(String(describing: peer))")
    if let client, client != peer {
        // Headers were read: only from a trusted peer, and what they give is an address.
        let peerIP = IPAddress(parsing: peer!)
        require(peerIP != nil && trusted.contains { $0.contains(peerIP!) }, "headers read from untrusted peer \(peer!.debugDescription)")
        let ip = IPAddress(parsing: client)
        require(ip != nil && ip!.description == client, "client \(client.debugDescription) is not an address as Belay writes it")
    }
    return 0
}

private func checkAddress(_ text: String) {
    guard let ip = IPAddress(parsing: text) else { return }
    let again = IPAddress(parsing: ip.description)
    require(again == ip, "\(text.debugDescription) -> \(ip) -> \(String(describing: again))")
    if let v4 = ip.equivalentIPv4 { require(IPAddress(parsing: IPAddress.v4(v4).description) == .v4(v4), "embedded IPv4 of \(ip)") }
    _ = ip.carriedIPv4
    let maxLength = if case .v4 = ip { 32 } else { 128 }
    for length in [0, 1, 7, 8, 31, 32, 33, 63, 64, 65, 96, 127, 128] where length <= maxLength {
        let network = CIDR(network: ip, prefixLength: length)
        require(network.contains(ip), "\(network) does not contain \(ip)")
        require(CIDR(network: network.network, prefixLength: length) == network, "masking \(network) again changes it")
    }
}

private func checkCIDR(_ text: String) {
    guard let cidr = try? CIDR(parsing: text) else { return }
    let again = try? CIDR(parsing: cidr.description)
    require(again == cidr, "\(text.debugDescription) -> \(cidr) -> \(String(describing: again))")
    require(cidr.contains(cidr.network), "\(cidr) does not contain its own network")
    let maxLength = if case .v4 = cidr.network { 32 } else { 128 }
    require((0...maxLength).contains(cidr.prefixLength), "prefix length \(cidr.prefixLength)")
    require((try? CIDR.parseList(" \(text) ,, \(cidr) ")) == [cidr, cidr], "a list of \(text.debugDescription) reads differently")
}
