import BelayCore
import Foundation

/// An incident as the status page lists it: on the home page, in the history and on its own page.
struct IncidentCard {
    var id: String
    var title: String
    var url: String
    var impactClass: String
    var impactLabel: String
    var statusLabel: String
    var isResolved: Bool
    var affected: String
    var hasAffected: Bool
    var started: String
    var startedISO: String
    var resolved: String
    var resolvedISO: String
    var duration: String
    /// Newest first.
    var updates: [UpdateLine]
    var latest: String
}

extension IncidentCard {
    /// `names` maps component slugs to the names shown; `now` ends the duration of an open incident.
    init(_ incident: Incident, names: [String: String], now: Date) {
        let impact = ServiceStatus.impactIndicator(of: incident)
        let affected = incident.impacts.compactMap { names[$0.slug] }
        self.init(
            id: String(incident.id), title: incident.title, url: "/incidents/\(incident.id)", impactClass: "imp-\(impact.rawValue)",
            impactLabel: StatusText.impactLabel(impact), statusLabel: incident.status.label, isResolved: !incident.isOpen,
            affected: affected.joined(separator: ", "), hasAffected: !affected.isEmpty, started: UTCTime.when(incident.impactStart),
            startedISO: BelayJSON.formatDate(incident.impactStart), resolved: incident.milestones.resolvedAt.map(UTCTime.when) ?? "",
            resolvedISO: incident.milestones.resolvedAt.map(BelayJSON.formatDate) ?? "",
            duration: Durations.describe((incident.milestones.resolvedAt ?? now).timeIntervalSince(incident.impactStart)),
            updates: incident.updates.reversed().map { UpdateLine(status: $0.status.label, body: $0.body, at: $0.displayAt) },
            latest: incident.updates.last?.body ?? "")
    }
}
