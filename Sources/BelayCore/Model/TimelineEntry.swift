import Foundation

/// The kinds of entry on an incident's timeline. Later features add change and action.
public enum TimelineKind: String, Codable, Sendable, CaseIterable {
    case declared
    case statusChange = "status_change"
    case update
    case note
    case milestone
    case severityChange = "severity_change"
    case impactChange = "impact_change"
    case roleChange = "role_change"
    case visibilityChange = "visibility_change"
    /// An alert or monitor fired, was acknowledged or cleared.
    case signal
}

/// One line of an incident's history. `occurredAt` is when it happened, `recordedAt` when Belay learned of
/// it; the two differ when someone records after the fact.
public struct TimelineEntry: Codable, Sendable, Equatable {
    public var id: Int64
    public var incidentID: Int64
    /// What happened, typed; `text` is the same for people.
    public var fact: TimelineFact
    public var author: String
    public var occurredAt: Date
    public var recordedAt: Date
    public var text: String

    public init(
        id: Int64 = 0, incidentID: Int64 = 0, fact: TimelineFact, author: String, occurredAt: Date, recordedAt: Date, text: String
    ) {
        self.id = id
        self.incidentID = incidentID
        self.fact = fact
        self.author = author
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.text = text
    }

    public var kind: TimelineKind { fact.kind }

    /// True when the entry was recorded noticeably later than it happened.
    public var isBackdated: Bool { recordedAt.timeIntervalSince(occurredAt) > IncidentLifecycle.backdateTolerance }
}
