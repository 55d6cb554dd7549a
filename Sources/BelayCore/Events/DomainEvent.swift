import Foundation

/// Something that happened to Belay's data, as typed facts. Every write appends its events in the same
/// transaction, so the event log is the record that notifications, subscribers, on-call and postmortems
/// read. Events carry ids and public facts only, never a secret or an address.
public enum DomainEvent: Sendable, Equatable, Codable {
    // Incidents: one event per timeline entry, named by its fact.
    case incident(id: Int64, fact: TimelineFact)

    // Components and their derived status.
    case componentCreated(slug: String)
    case componentUpdated(slug: String)
    case componentDeleted(slug: String)
    case componentStatusChanged(slug: String, from: ComponentStatus, to: ComponentStatus)

    // Maintenance windows.
    case maintenanceScheduled(id: Int64, startsAt: Date, endsAt: Date, components: [String])
    case maintenanceEdited(id: Int64)
    case maintenanceStatusChanged(id: Int64, from: MaintenanceStatus, to: MaintenanceStatus)
    case maintenanceUpdatePosted(id: Int64, status: MaintenanceStatus)

    // Signals: an alert or monitor firing, acknowledged or clearing.
    case signalTriggered(id: Int64, source: SignalSourceKind, sourceID: Int64, dedupKey: String, severity: Severity, incidentID: Int64?)
    case signalAcknowledged(id: Int64, incidentID: Int64?)
    case signalResolved(id: Int64, incidentID: Int64?)

    // Monitors: configuration and state transitions (not every check).
    case monitorCreated(id: Int64)
    case monitorUpdated(id: Int64)
    case monitorDeleted(id: Int64)
    case monitorStatusChanged(id: Int64, from: MonitorStatus, to: MonitorStatus)

    // Changes, the dependency map and freezes.
    case changeRecorded(id: Int64, kind: ChangeKind, targets: [String])
    case changeUpdated(id: Int64, status: ChangeStatus)
    case mapNodeSaved(slug: String)
    case mapNodeDeleted(slug: String)
    /// A freeze was declared, from `startsAt` (now or later) until `endsAt` (open-ended when nil).
    case freezeCreated(id: Int64, startsAt: Date, endsAt: Date?)
    /// Someone ended a freeze early (a freeze that reaches its `endsAt` ends without an event).
    case freezeEnded(id: Int64)

    // Access: who may act. Names and roles only; keys and emails stay out of the log.
    case integrationCreated(id: Int64)
    case integrationUpdated(id: Int64)
    case integrationDeleted(id: Int64)
    case userCreated(id: Int64, role: AccessRole)
    case userUpdated(id: Int64)
    /// A person's sessions ended (signed out, disabled, password changed elsewhere).
    case sessionEnded(userID: Int64)
    case tokenCreated(id: Int64, role: AccessRole)
    case tokenRevoked(id: Int64)
    case severityDefinitionSaved(level: Severity)

    /// What the event is about, for filtering and for the log's columns.
    public var subject: EventSubject {
        switch self {
        case .incident(let id, _): EventSubject(kind: .incident, id: String(id))
        case .componentCreated(let slug), .componentUpdated(let slug), .componentDeleted(let slug), .componentStatusChanged(let slug, _, _):
            EventSubject(kind: .component, id: slug)
        case .maintenanceScheduled(let id, _, _, _), .maintenanceEdited(let id), .maintenanceStatusChanged(let id, _, _),
            .maintenanceUpdatePosted(let id, _):
            EventSubject(kind: .maintenance, id: String(id))
        case .signalTriggered(let id, _, _, _, _, _), .signalAcknowledged(let id, _), .signalResolved(let id, _):
            EventSubject(kind: .signal, id: String(id))
        case .monitorCreated(let id), .monitorUpdated(let id), .monitorDeleted(let id), .monitorStatusChanged(let id, _, _):
            EventSubject(kind: .monitor, id: String(id))
        case .changeRecorded(let id, _, _), .changeUpdated(let id, _): EventSubject(kind: .change, id: String(id))
        case .mapNodeSaved(let slug), .mapNodeDeleted(let slug): EventSubject(kind: .mapNode, id: slug)
        case .freezeCreated(let id, _, _), .freezeEnded(let id): EventSubject(kind: .freeze, id: String(id))
        case .integrationCreated(let id), .integrationUpdated(let id), .integrationDeleted(let id): EventSubject(kind: .integration, id: String(id))
        case .userCreated(let id, _), .userUpdated(let id), .sessionEnded(let id): EventSubject(kind: .user, id: String(id))
        case .tokenCreated(let id, _), .tokenRevoked(let id): EventSubject(kind: .token, id: String(id))
        case .severityDefinitionSaved(let level): EventSubject(kind: .severity, id: level.rawValue)
        }
    }

    /// The event's name, "subject.verb" ("incident.status_changed", "maintenance.started").
    public var type: String {
        let verb: String = switch self {
        case .incident(_, let fact): fact.name
        case .componentCreated: "created"
        case .componentUpdated: "updated"
        case .componentDeleted: "deleted"
        case .componentStatusChanged: "status_changed"
        case .maintenanceScheduled: "scheduled"
        case .maintenanceEdited: "edited"
        case .maintenanceStatusChanged(_, _, let to):
            switch to {
            case .scheduled: "rescheduled"
            case .inProgress: "started"
            case .completed: "completed"
            case .cancelled: "cancelled"
            }
        case .maintenanceUpdatePosted: "update_posted"
        case .signalTriggered: "triggered"
        case .signalAcknowledged: "acknowledged"
        case .signalResolved: "resolved"
        case .monitorCreated: "created"
        case .monitorUpdated: "updated"
        case .monitorDeleted: "deleted"
        case .monitorStatusChanged: "status_changed"
        case .changeRecorded: "recorded"
        case .changeUpdated: "updated"
        case .mapNodeSaved: "saved"
        case .mapNodeDeleted: "deleted"
        case .freezeCreated: "created"
        case .freezeEnded: "ended"
        case .integrationCreated, .userCreated, .tokenCreated: "created"
        case .integrationUpdated, .userUpdated: "updated"
        case .integrationDeleted: "deleted"
        case .tokenRevoked: "revoked"
        case .sessionEnded: "session_ended"
        case .severityDefinitionSaved: "saved"
        }
        return "\(subject.kind.rawValue).\(verb)"
    }
}

public struct EventSubject: Sendable, Equatable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case incident, component, maintenance, signal, monitor, change
        case mapNode = "map_node"
        case freeze, integration, user, token, severity
    }

    public var kind: Kind
    public var id: String

    public init(kind: Kind, id: String) {
        self.kind = kind
        self.id = id
    }
}

/// An event as the log holds it: its place in the sequence, when it was committed and who caused it.
public struct StoredEvent: Sendable, Equatable {
    public var sequence: Int64
    public var recordedAt: Date
    public var actor: Actor
    /// False for events that describe the past (replays, the demo, imports): kept, never announced.
    public var announce: Bool
    public var event: DomainEvent

    public init(sequence: Int64, recordedAt: Date, actor: Actor, announce: Bool, event: DomainEvent) {
        self.sequence = sequence
        self.recordedAt = recordedAt
        self.actor = actor
        self.announce = announce
        self.event = event
    }
}

extension DomainEvent {
    /// The events recording timeline entries just added to an incident.
    public static func recording(_ entries: [TimelineEntry], incidentID: Int64) -> [DomainEvent] {
        entries.map { .incident(id: incidentID, fact: $0.fact) }
    }

    /// The encoding every backend stores an event's payload in (dates as RFC 3339 text).
    public static func encode(_ event: DomainEvent) throws -> String {
        String(decoding: try EventCoding.encoder.encode(event), as: UTF8.self)
    }

    public static func decode(_ text: String) throws -> DomainEvent {
        try EventCoding.decoder.decode(DomainEvent.self, from: Data(text.utf8))
    }
}

/// JSON for stored facts (events, timeline facts): RFC 3339 dates, the same in every backend. Keys are not
/// sorted: nothing compares the text, and sorting costs ingestion.
public enum EventCoding {
    /// Made once: ingestion encodes two or three facts per alert, and making an encoder costs more than using it.
    /// An encoder that is never reconfigured may be shared across threads.
    nonisolated(unsafe) public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.format(date))
        }
        return encoder
    }()

    nonisolated(unsafe) public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = RFC3339.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 date: \(text)")
            }
            return date
        }
        return decoder
    }()
}
