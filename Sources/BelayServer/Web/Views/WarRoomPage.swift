import BelayCore
import Foundation

/// `/app/incidents/:id`: the war room, where responders run one incident.
struct WarRoomPage: AppPage {
    static let template = "war-room"
    var chrome: AppChrome
    var incident: WarRoomIncident
    var timeline: [TimelineLine]
    var canRespond: Bool
    var signals: [SignalRow]
    var hasSignals: Bool
    var activeSignals: Int
    var suspects: [SuspectRow]
    var hasSuspects: Bool
    /// Nil when nothing is downstream of the top suspect (an empty string would open the section).
    var possiblyAffected: String?
    var autoResolve: Bool
    var holdOpen: Bool
    var statusButtons: [Choice]
    var statusOptions: [Choice]
    var severityOptions: [Choice]
    var milestones: [MilestoneField]
    var roles: [RoleField]
    /// The timeline filters, one per kind of entry.
    var kinds: [Choice]
    /// Who was told: one row per channel delivery, and subscribers' deliveries counted by state.
    var deliveries: [NotificationsPage.DeliveryRow] = []
    var hasDeliveries = false
    var subscriberDeliveries: [NotificationsPage.Count] = []

    struct SignalRow {
        var summary: String
        var source: String
        var status: String
        var statusClass: String
        var severity: String
        var since: String
        var count: Int
        /// Nil when the signal has no link that passes the check.
        var link: String?
    }

    struct SuspectRow {
        var summary: String
        var kind: String
        var score: String
        var reasons: String
    }

    struct MilestoneField {
        var name: String
        var label: String
        var value: String
        var shown: String
    }

    struct RoleField {
        var name: String
        var label: String
        var value: String
    }
}

extension WarRoomPage {
    /// `live` is the incident and timeline; the rest is what the side column offers.
    init(
        chrome: AppChrome, incident: Incident, live: WarRoomLive, definitions: [SeverityDefinition], signals: [Signal], report: SuspectReport,
        names: [String: String], canRespond: Bool
    ) {
        self.init(
            chrome: chrome, incident: live.incident, timeline: live.timeline, canRespond: canRespond,
            signals: signals.map { signal in
                SignalRow(
                    summary: signal.summary, source: signal.sourceName, status: signal.status.rawValue,
                    statusClass: signal.status == .resolved ? "st-operational" : "st-major_outage", severity: signal.severity.rawValue,
                    since: UTCTime.when(signal.startsAt), count: signal.eventCount,
                    // Checked again here: a link stored before links were checked on the way in must still never be an href.
                    link: signal.links.lazy.compactMap { ExternalLink.validated($0.href) }.first)
            },
            hasSignals: !signals.isEmpty, activeSignals: signals.filter { $0.status.isActive }.count,
            suspects: report.suspects.prefix(5).map { suspect in
                SuspectRow(
                    summary: suspect.summary, kind: suspect.kind.rawValue, score: String(format: "%.1f", suspect.score),
                    reasons: suspect.reasons.joined(separator: "; "))
            },
            hasSuspects: !report.suspects.isEmpty, possiblyAffected: report.possiblyAffected.isEmpty ? nil : report.possiblyAffected.map { names[$0] ?? $0 }.joined(separator: ", "),
            autoResolve: incident.autoResolve && incident.isOpen, holdOpen: incident.holdOpen,
            statusButtons: IncidentStatus.allCases.filter { $0 != incident.status && $0 != .investigating && incident.isOpen }.map { status in
                Choice(value: status.rawValue, label: status == .resolved ? "Resolve" : "Mark \(status.rawValue)")
            },
            statusOptions: IncidentStatus.allCases.filter { incident.isOpen || $0 == .resolved }.map { Choice(value: $0.rawValue, label: $0.label) },
            severityOptions: definitions.map {
                Choice(value: $0.level.rawValue, label: "\($0.level.rawValue) · \($0.name)", selected: $0.level == incident.severity)
            },
            milestones: Milestone.allCases.map { milestone in
                let value = incident.milestones[milestone]
                return MilestoneField(
                    name: milestone.rawValue, label: Self.label(milestone), value: DateInput.text(value), shown: value.map(UTCTime.when) ?? "not yet")
            },
            roles: Role.allCases.map { RoleField(name: $0.rawValue, label: $0.rawValue.capitalized, value: incident.roles[$0] ?? "") },
            kinds: TimelineKind.allCases.map { Choice(value: $0.rawValue, label: TimelineLine.label($0)) })
    }

    static func label(_ milestone: Milestone) -> String {
        switch milestone {
        case .impactStartedAt: return "Impact started"
        case .detectedAt: return "Detected"
        case .acknowledgedAt: return "Acknowledged"
        case .mitigatedAt: return "Mitigated"
        case .resolvedAt: return "Resolved"
        }
    }
}
