import BelayCore
import Foundation

/// Belay's own event format for `/api/v1/integrations/{key}/events` (see docs/detect.md).
public struct GenericEvent: Decodable, Sendable {
    public var action: SignalAction?
    public var dedupKey: String?
    public var summary: String?
    public var severity: String?
    public var source: String?
    public var component: String?
    public var labels: [String: String]?
    public var startsAt: Date?
    public var endsAt: Date?
    public var links: [SignalLink]?
    public var details: String?

    /// The normalized event; `generateKey` names a trigger that came without a dedup key. Unlike the
    /// generated links of other senders, a link here was written by hand, so a bad one is refused.
    public func event(generateKey: () -> String) throws(MalformedInput) -> SignalEvent {
        let action = action ?? .trigger
        if action != .trigger && (dedupKey ?? "").isEmpty {
            throw MalformedInput("dedupKey: required to \(action.rawValue) an alert")
        }
        if action == .trigger && (summary ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw MalformedInput("summary: required for a trigger")
        }
        if let severity, Routing.severity(fromSenderWord: severity) == nil {
            throw MalformedInput("severity: expected sev1-sev4 or critical, error, warning, info; got '\(severity.prefix(40))'")
        }
        let key = dedupKey.flatMap { $0.isEmpty ? nil : $0 } ?? generateKey()
        let event = SignalEvent(
            dedupKey: key, action: action, summary: summary ?? "", severity: severity, source: source, component: component,
            labels: labels ?? [:], startsAt: startsAt, endsAt: endsAt, links: links ?? [], details: details)
        try IngestRules.check(event)
        return event
    }
}
