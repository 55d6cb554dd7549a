import BelayCore
import Foundation

/// The addresses messages link to, all built from `--public-url`, never from a request's Host header.
public struct Links: Sendable, Equatable {
    /// The public URL without a trailing slash: "https://status.example.com".
    public let base: String

    public init(publicURL: String) {
        base = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
    }

    public func warRoom(incident id: Int64) -> String { "\(base)/app/incidents/\(id)" }
    public func publicIncident(_ id: Int64) -> String { "\(base)/incidents/\(id)" }
    public func monitor(_ id: Int64) -> String { "\(base)/app/monitors/\(id)" }
    public func change(_ id: Int64) -> String { "\(base)/app/changes/\(id)" }
    public var statusPage: String { "\(base)/" }
    public func confirm(token: String) -> String { "\(base)/subscriptions/confirm?token=\(token)" }
    public func manage(token: String) -> String { "\(base)/subscriptions/manage?token=\(token)" }
    public func unsubscribe(token: String) -> String { "\(base)/subscriptions/unsubscribe?token=\(token)" }

    /// Where a reader of `message` goes: the team sees the war room, the public the status page.
    public func primary(for message: NotificationMessage, audience: Audience) -> String {
        switch audience {
        case .team:
            if let id = message.incidentID { return warRoom(incident: id) }
            if message.maintenanceID != nil { return "\(base)/app/maintenance" }
            if let id = message.monitorID { return monitor(id) }
            if let id = message.changeID { return change(id) }
            return "\(base)/app"
        case .subscriber:
            if let id = message.incidentID { return publicIncident(id) }
            return statusPage
        }
    }

    /// Messages differ by who reads them: a channel goes to the team, a subscriber is the public.
    public enum Audience: Sendable {
        case team, subscriber
    }
}
