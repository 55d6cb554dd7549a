import Foundation

/// What a message announces. Channel rules and subscribers choose topics; the webhook payload's `type`
/// is the raw value.
public enum NotificationTopic: String, Sendable, Codable, CaseIterable, Comparable {
    case incidentDeclared = "incident.declared"
    case incidentUpdated = "incident.updated"
    case incidentStatusChanged = "incident.status_changed"
    case incidentResolved = "incident.resolved"
    case maintenanceScheduled = "maintenance.scheduled"
    case maintenanceStarted = "maintenance.started"
    case maintenanceCompleted = "maintenance.completed"
    case monitorDown = "monitor.down"
    case monitorUp = "monitor.up"
    case changeRecorded = "change.recorded"
    /// A channel's "send test".
    case test = "test"
    /// The double opt-in email to a new subscriber.
    case subscriptionConfirmation = "subscription.confirmation"

    /// What status page subscribers hear about.
    public static let forSubscribers: Set<NotificationTopic> = [
        .incidentDeclared, .incidentUpdated, .incidentResolved, .maintenanceScheduled, .maintenanceStarted, .maintenanceCompleted,
    ]

    /// A new channel's rule: everything but the test, which is sent on request only.
    public static let channelDefaults: Set<NotificationTopic> = Set(allCases).subtracting([.test, .subscriptionConfirmation])

    public var isIncident: Bool { rawValue.hasPrefix("incident.") }
    public var isMaintenance: Bool { rawValue.hasPrefix("maintenance.") }

    /// When one write yields several topics for one incident (an update that also resolves it), one message
    /// goes out, with the topic that matters most.
    var weight: Int {
        switch self {
        case .incidentDeclared: 0
        case .incidentResolved: 1
        case .incidentUpdated: 2
        case .incidentStatusChanged: 3
        default: 4
        }
    }

    public static func < (lhs: NotificationTopic, rhs: NotificationTopic) -> Bool { lhs.weight < rhs.weight }

    /// Words for the subject line and the chat message: "Incident declared".
    public var label: String {
        switch self {
        case .incidentDeclared: "Incident declared"
        case .incidentUpdated: "Incident updated"
        case .incidentStatusChanged: "Incident status changed"
        case .incidentResolved: "Incident resolved"
        case .maintenanceScheduled: "Maintenance scheduled"
        case .maintenanceStarted: "Maintenance started"
        case .maintenanceCompleted: "Maintenance completed"
        case .monitorDown: "Monitor down"
        case .monitorUp: "Monitor up"
        case .changeRecorded: "Change recorded during an incident"
        case .test: "Test message"
        case .subscriptionConfirmation: "Confirm your subscription"
        }
    }
}
