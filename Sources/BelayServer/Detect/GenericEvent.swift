import BelayCore
import Foundation

/// Belay's own event format for `/api/v1/integrations/{key}/events` (see docs/detect.md).
struct GenericEvent: Decodable {
    var action: SignalAction?
    var dedupKey: String?
    var summary: String?
    var severity: String?
    var source: String?
    var component: String?
    var labels: [String: String]?
    var startsAt: Date?
    var endsAt: Date?
    var links: [SignalLink]?
    var details: String?

    func event(generateKey: () -> String) throws -> SignalEvent {
        let action = action ?? .trigger
        if action != .trigger && (dedupKey ?? "").isEmpty {
            throw APIError.badRequest("dedupKey: required to \(action.rawValue) an alert")
        }
        if action == .trigger && (summary ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw APIError.badRequest("summary: required for a trigger")
        }
        if let severity, Routing.severity(fromSenderWord: severity) == nil {
            throw APIError.badRequest("severity: expected sev1-sev4 or critical, error, warning, info; got '\(severity.prefix(40))'")
        }
        if let links, links.count > 20 { throw APIError.badRequest("links: at most 20") }
        for (index, link) in (links ?? []).enumerated() {
            guard link.href.count <= 2048, let url = URL(string: link.href), ["http", "https"].contains(url.scheme?.lowercased() ?? "") else {
                throw APIError.badRequest("links[\(index)].href: expected an http or https URL")
            }
        }
        let event = SignalEvent(
            dedupKey: (dedupKey?.isEmpty ?? true) ? generateKey() : dedupKey!, action: action, summary: summary ?? "", severity: severity,
            source: source, component: component, labels: labels ?? [:], startsAt: startsAt, endsAt: endsAt, links: links ?? [],
            details: details)
        do {
            try event.validate()
            if let source { try Validate.text(source, field: "source", max: 255) }
            if let details { try Validate.text(details, field: "details", max: 65_536, allowEmpty: true) }
        } catch let error as DomainError {
            throw APIError.badRequest(error.message)
        }
        return event
    }
}
