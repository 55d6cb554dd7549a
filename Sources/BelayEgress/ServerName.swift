import BelayFormats

/// The name a TLS client sends. SNI carries names only; for an address NIOSSL checks the certificate
/// against the peer's IP instead.
package enum ServerName {
    package static func sni(_ serverName: String) -> String? {
        let bare = serverName.hasPrefix("[") && serverName.hasSuffix("]") ? String(serverName.dropFirst().dropLast()) : serverName
        return IPAddress(parsing: bare) == nil ? serverName : nil
    }
}
