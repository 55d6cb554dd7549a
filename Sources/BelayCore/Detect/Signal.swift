import Foundation

/// What an incoming event asks for, in PagerDuty's words (Alertmanager's firing/resolved map onto them).
public enum SignalAction: String, Codable, Sendable, CaseIterable {
    case trigger, acknowledge, resolve
}

public enum SignalStatus: String, Codable, Sendable, CaseIterable {
    case firing, acknowledged, resolved

    public var isActive: Bool { self != .resolved }
}

/// Where a signal came from.
public enum SignalSourceKind: String, Codable, Sendable, CaseIterable {
    case integration, monitor
}

public struct SignalLink: Codable, Sendable, Equatable {
    public var href: String
    public var text: String?

    public init(href: String, text: String? = nil) {
        self.href = href
        self.text = text
    }
}

/// One event as it arrived, normalized from Alertmanager, PagerDuty Events v2 or the generic format,
/// or made by a monitor changing state.
public struct SignalEvent: Codable, Sendable, Equatable {
    /// Identifies the alert across events (Alertmanager's fingerprint, PagerDuty's dedup_key).
    public var dedupKey: String
    public var action: SignalAction
    public var summary: String
    /// The sender's own severity word, if any (critical, error, warning, info, sev1...).
    public var severity: String?
    /// The host or service that raised it.
    public var source: String?
    /// A Belay component slug named by the sender, if any.
    public var component: String?
    /// Labels used for routing: Alertmanager labels, or PagerDuty's source/component/group/class/severity.
    public var labels: [String: String]
    /// When the problem began by the sender's clock, if it says.
    public var startsAt: Date?
    public var endsAt: Date?
    public var links: [SignalLink]
    /// Extra detail kept for people (annotations, custom_details), as JSON text.
    public var details: String?

    public init(
        dedupKey: String, action: SignalAction, summary: String, severity: String? = nil, source: String? = nil, component: String? = nil,
        labels: [String: String] = [:], startsAt: Date? = nil, endsAt: Date? = nil, links: [SignalLink] = [], details: String? = nil
    ) {
        self.dedupKey = dedupKey
        self.action = action
        self.summary = summary
        self.severity = severity
        self.source = source
        self.component = component
        self.labels = labels
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.links = links
        self.details = details
    }

    public static let maxDedupKey = 255
    public static let maxSummary = 1024
    public static let maxLabels = 64

    /// Length and character limits shared by every ingestion format.
    public func validate(field prefix: String = "") throws {
        guard !dedupKey.isEmpty, dedupKey.count <= Self.maxDedupKey else {
            throw DomainError.invalid(field: prefix + "dedup_key", message: "must be 1-\(Self.maxDedupKey) characters")
        }
        try Validate.text(dedupKey, field: prefix + "dedup_key", max: Self.maxDedupKey)
        if action == .trigger { try Validate.text(summary, field: prefix + "summary", max: Self.maxSummary) }
        guard labels.count <= Self.maxLabels else {
            throw DomainError.invalid(field: prefix + "labels", message: "at most \(Self.maxLabels) labels")
        }
        for (key, value) in labels {
            try Validate.text(key, field: prefix + "labels", max: 256)
            try Validate.text(value, field: prefix + "labels.\(key.prefix(40))", max: 4096, allowEmpty: true)
        }
    }
}

/// An alert Belay knows about: the latest state of one dedup key from one source, and the incident it feeds.
public struct Signal: Codable, Sendable, Equatable {
    public var id: Int64
    public var sourceKind: SignalSourceKind
    public var sourceID: Int64
    public var sourceName: String
    public var dedupKey: String
    public var status: SignalStatus
    public var summary: String
    public var severity: Severity
    public var source: String?
    public var components: [String]
    public var labels: [String: String]
    public var links: [SignalLink]
    public var details: String?
    public var startsAt: Date
    public var endsAt: Date?
    public var firstReceivedAt: Date
    public var lastReceivedAt: Date
    public var eventCount: Int
    public var incidentID: Int64?

    public init(
        id: Int64 = 0, sourceKind: SignalSourceKind, sourceID: Int64, sourceName: String, dedupKey: String, status: SignalStatus, summary: String,
        severity: Severity, source: String? = nil, components: [String] = [], labels: [String: String] = [:], links: [SignalLink] = [],
        details: String? = nil, startsAt: Date, endsAt: Date? = nil, firstReceivedAt: Date, lastReceivedAt: Date, eventCount: Int = 1,
        incidentID: Int64? = nil
    ) {
        self.id = id
        self.sourceKind = sourceKind
        self.sourceID = sourceID
        self.sourceName = sourceName
        self.dedupKey = dedupKey
        self.status = status
        self.summary = summary
        self.severity = severity
        self.source = source
        self.components = components
        self.labels = labels
        self.links = links
        self.details = details
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.firstReceivedAt = firstReceivedAt
        self.lastReceivedAt = lastReceivedAt
        self.eventCount = eventCount
        self.incidentID = incidentID
    }
}

/// What became of one ingested event.
public struct SignalReceipt: Codable, Sendable, Equatable {
    public enum Effect: String, Codable, Sendable {
        /// A new alert opened a new incident.
        case openedIncident = "opened_incident"
        /// A new alert joined an open incident.
        case joinedIncident = "joined_incident"
        /// An alert already known: nothing new.
        case duplicate
        case acknowledged, resolved
        /// Acknowledge or resolve for an alert Belay has no open record of.
        case ignored
    }

    public var dedupKey: String
    public var signalID: Int64?
    public var incidentID: Int64?
    public var effect: Effect

    public init(dedupKey: String, signalID: Int64?, incidentID: Int64?, effect: Effect) {
        self.dedupKey = dedupKey
        self.signalID = signalID
        self.incidentID = incidentID
        self.effect = effect
    }
}

/// Names a signal source for the store: an integration or a monitor, with its routing.
public struct SignalSource: Sendable, Equatable {
    public var kind: SignalSourceKind
    public var id: Int64
    public var name: String
    public var routing: Routing
    public var publicIncidents: Bool

    public init(kind: SignalSourceKind, id: Int64, name: String, routing: Routing, publicIncidents: Bool) {
        self.kind = kind
        self.id = id
        self.name = name
        self.routing = routing
        self.publicIncidents = publicIncidents
    }

    /// Who the timeline says acted.
    public var author: String { Actor(self).displayName }
}

/// Timing rules for turning signals into incidents.
public struct SignalPolicy: Sendable, Equatable {
    /// A new alert joins an open incident on the same component active within this long.
    public var groupingWindow: TimeInterval
    /// An incident Belay opened resolves this long after its last signal cleared, unless held open.
    public var quietPeriod: TimeInterval

    public init(groupingWindow: TimeInterval = 3600, quietPeriod: TimeInterval = 900) {
        self.groupingWindow = groupingWindow
        self.quietPeriod = quietPeriod
    }
}
