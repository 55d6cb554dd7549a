import BelayCore
import BelayEgress
import BelayFormats
import BelayNotify
import Foundation

extension NotifySettings {
    /// The dispatcher's settings from the server's: the public URL, the monitors' egress policy and the relay.
    static func from(_ configuration: ServerConfiguration) throws -> NotifySettings {
        let egress = EgressPolicy(allow: configuration.egress.allow, deny: configuration.egress.deny, denyPrivate: configuration.egress.denyPrivate)
        var settings = NotifySettings(publicURL: configuration.http.publicURL, egress: egress, smtp: try relay(configuration))
        settings.dampingWindow = configuration.notify.dampingWindow
        return settings
    }

    static func relay(_ configuration: ServerConfiguration) throws -> SMTPRelay? {
        let notify = configuration.notify
        guard let host = notify.smtpHost else { return nil }
        guard let fromText = notify.smtpFrom else {
            throw ConfigurationLoader.Invalid(description: "--smtp-url needs --smtp-from (the address emails come from)")
        }
        let security: SMTPSecurity = switch notify.smtpSecurity {
        case "tls": .implicitTLS
        case "none": .none
        default: .startTLS
        }
        if security == .none {
            // Without TLS, credentials and subscribers' addresses cross the network in the clear: only a
            // relay on this machine, or one the operator named with --smtp-allow, may be reached that way.
            let literal = IPAddress(parsing: host)
            let local = host == "localhost" || literal.map { ip in CIDR.loopback.contains { $0.contains(ip) } } ?? false
            let allowed = literal.map { ip in notify.smtpAllow.contains { $0.contains(ip) } } ?? false
            guard local || allowed else {
                throw ConfigurationLoader.Invalid(description: "--smtp-security none sends mail unencrypted; use it only for a relay on loopback or in --smtp-allow")
            }
        }
        let from: MailAddress
        do {
            from = try Self.address(fromText)
        } catch {
            throw ConfigurationLoader.Invalid(description: "--smtp-from: \(error)")
        }
        let helo = URLComponents(string: configuration.baseURL)?.host ?? "belay.localdomain"
        let server = SMTPServer(
            host: host, port: notify.smtpPort, security: security, username: notify.smtpUser, password: notify.smtpPassword, heloName: helo,
            trustRootsPEM: notify.smtpCAPEM, timeout: .seconds(30))
        return SMTPRelay(server: server, from: from, pageName: configuration.statusPage.pageName, allowedNetworks: notify.smtpAllow)
    }

    /// "Status <status@example.com>" or "status@example.com".
    static func address(_ text: String) throws -> MailAddress {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let open = trimmed.lastIndex(of: "<"), trimmed.hasSuffix(">") {
            let name = trimmed[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            let address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            return try MailAddress(parsing: address, displayName: name.isEmpty ? nil : name)
        }
        return try MailAddress(parsing: trimmed)
    }
}

extension CIDR {
    static let loopback: [CIDR] = ["127.0.0.0/8", "::1/128"].compactMap { try? CIDR(parsing: $0) }
}
