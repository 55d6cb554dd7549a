import BelayCore
import Foundation
import GRDB

/// Records store dates as seconds since 1970 (a REAL column), which round-trips exactly.
protocol BelayRecord: Codable, FetchableRecord, PersistableRecord {}

extension BelayRecord {
    static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy { .timeIntervalSince1970 }
    static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy { .timeIntervalSince1970 }
}

/// Records with an auto-incremented id learn it on insert.
protocol IdentifiedRecord: Codable, FetchableRecord, MutablePersistableRecord {
    var id: Int64? { get set }
}

extension IdentifiedRecord {
    static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy { .timeIntervalSince1970 }
    static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy { .timeIntervalSince1970 }
    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

struct SeverityRecord: BelayRecord {
    static let databaseTableName = "severity_level"
    var level: String
    var name: String
    var definition: String
    var urgency: String

    init(_ value: SeverityDefinition) {
        level = value.level.rawValue
        name = value.name
        definition = value.definition
        urgency = value.urgency.rawValue
    }

    func domain() throws -> SeverityDefinition {
        SeverityDefinition(level: try decode(Severity.self, level), name: name, definition: definition, urgency: try decode(Urgency.self, urgency))
    }
}

struct ComponentRecord: BelayRecord {
    static let databaseTableName = "component"
    var slug: String
    var name: String
    var description: String
    var groupName: String?
    var isPublic: Bool
    var automaticIncidentsPublic: Bool
    var position: Int
    var createdAt: Date
    var updatedAt: Date

    init(_ value: Component) {
        slug = value.slug
        name = value.name
        description = value.description
        groupName = value.group
        isPublic = value.isPublic
        automaticIncidentsPublic = value.automaticIncidentsPublic
        position = value.position
        createdAt = value.createdAt
        updatedAt = value.updatedAt
    }

    func domain(dependsOn: [String]) -> Component {
        Component(
            slug: slug, name: name, description: description, group: groupName, isPublic: isPublic,
            automaticIncidentsPublic: automaticIncidentsPublic, position: position,
            dependsOn: dependsOn, createdAt: createdAt, updatedAt: updatedAt)
    }
}

struct DependencyRecord: BelayRecord {
    static let databaseTableName = "component_dependency"
    var componentSlug: String
    var dependsOnSlug: String
}

struct IncidentRecord: IdentifiedRecord {
    static let databaseTableName = "incident"
    var id: Int64?
    var title: String
    var severity: String
    var status: String
    var isPublic: Bool
    var impactStartedAt: Date?
    var detectedAt: Date?
    var acknowledgedAt: Date?
    var mitigatedAt: Date?
    var resolvedAt: Date?
    var commander: String?
    var communications: String?
    var scribe: String?
    var reopenCount: Int
    var createdAt: Date
    var updatedAt: Date
    var autoResolve: Bool
    var holdOpen: Bool
    var signalsClearedAt: Date?

    init(_ value: Incident) {
        id = value.id == 0 ? nil : value.id
        title = value.title
        severity = value.severity.rawValue
        status = value.status.rawValue
        isPublic = value.isPublic
        impactStartedAt = value.milestones.impactStartedAt
        detectedAt = value.milestones.detectedAt
        acknowledgedAt = value.milestones.acknowledgedAt
        mitigatedAt = value.milestones.mitigatedAt
        resolvedAt = value.milestones.resolvedAt
        commander = value.roles.commander
        communications = value.roles.communications
        scribe = value.roles.scribe
        reopenCount = value.reopenCount
        createdAt = value.createdAt
        updatedAt = value.updatedAt
        autoResolve = value.autoResolve
        holdOpen = value.holdOpen
        signalsClearedAt = value.signalsClearedAt
    }

    func domain(impacts: [ComponentImpact], updates: [StatusUpdate]) throws -> Incident {
        Incident(
            id: id ?? 0, title: title, severity: try decode(Severity.self, severity), status: try decode(IncidentStatus.self, status),
            isPublic: isPublic, impacts: impacts,
            milestones: Milestones(
                impactStartedAt: impactStartedAt, detectedAt: detectedAt, acknowledgedAt: acknowledgedAt, mitigatedAt: mitigatedAt,
                resolvedAt: resolvedAt),
            roles: Roles(commander: commander, communications: communications, scribe: scribe), reopenCount: reopenCount,
            createdAt: createdAt, updatedAt: updatedAt, updates: updates, autoResolve: autoResolve, holdOpen: holdOpen,
            signalsClearedAt: signalsClearedAt)
    }
}

struct IncidentComponentRecord: BelayRecord {
    static let databaseTableName = "incident_component"
    var incidentId: Int64
    var componentSlug: String
    var impact: String
    var position: Int
}

struct IncidentUpdateRecord: IdentifiedRecord {
    static let databaseTableName = "incident_update"
    var id: Int64?
    var incidentId: Int64
    var status: String
    var body: String
    var author: String
    var createdAt: Date
    var displayAt: Date
    var affectedComponents: [AffectedComponent]

    init(_ value: StatusUpdate, incidentId: Int64) {
        id = value.id == 0 ? nil : value.id
        self.incidentId = incidentId
        status = value.status.rawValue
        body = value.body
        author = value.author
        createdAt = value.createdAt
        displayAt = value.displayAt
        affectedComponents = value.affectedComponents
    }

    func domain() throws -> StatusUpdate {
        StatusUpdate(
            id: id ?? 0, status: try decode(IncidentStatus.self, status), body: body, author: author, createdAt: createdAt,
            displayAt: displayAt, affectedComponents: affectedComponents)
    }
}

struct TimelineEntryRecord: IdentifiedRecord {
    static let databaseTableName = "timeline_entry"
    var id: Int64?
    var incidentId: Int64
    var kind: String
    var author: String
    var occurredAt: Date
    var recordedAt: Date
    var text: String
    /// Entries stored before v6 have only these flat strings; newer ones store the typed `fact` alone.
    var details: [String: String]
    /// The typed fact in `EventCoding`'s JSON (since v6).
    var fact: String?

    init(_ value: TimelineEntry, incidentId: Int64) throws {
        id = value.id == 0 ? nil : value.id
        self.incidentId = incidentId
        kind = value.kind.rawValue
        author = value.author
        occurredAt = value.occurredAt
        recordedAt = value.recordedAt
        text = value.text
        details = [:]
        fact = String(decoding: try EventCoding.encoder.encode(value.fact), as: UTF8.self)
    }

    func domain() throws -> TimelineEntry {
        let typed: TimelineFact =
            if let fact { try EventCoding.decoder.decode(TimelineFact.self, from: Data(fact.utf8)) } else {
                TimelineFact(legacyKind: try decode(TimelineKind.self, kind), details: details)
            }
        return TimelineEntry(
            id: id ?? 0, incidentID: incidentId, fact: typed, author: author, occurredAt: occurredAt, recordedAt: recordedAt, text: text)
    }
}

struct MaintenanceRecord: IdentifiedRecord {
    static let databaseTableName = "maintenance"
    var id: Int64?
    var title: String
    var description: String
    var scheduledStart: Date
    var scheduledEnd: Date
    var status: String
    var autoTransitions: Bool
    var isPublic: Bool
    var createdAt: Date
    var updatedAt: Date

    init(_ value: MaintenanceWindow) {
        id = value.id == 0 ? nil : value.id
        title = value.title
        description = value.description
        scheduledStart = value.scheduledStart
        scheduledEnd = value.scheduledEnd
        status = value.status.rawValue
        autoTransitions = value.autoTransitions
        isPublic = value.isPublic
        createdAt = value.createdAt
        updatedAt = value.updatedAt
    }

    func domain(components: [String], updates: [MaintenanceUpdate]) throws -> MaintenanceWindow {
        MaintenanceWindow(
            id: id ?? 0, title: title, description: description, components: components, scheduledStart: scheduledStart,
            scheduledEnd: scheduledEnd, status: try decode(MaintenanceStatus.self, status), autoTransitions: autoTransitions,
            isPublic: isPublic, createdAt: createdAt, updatedAt: updatedAt, updates: updates)
    }
}

struct MaintenanceComponentRecord: BelayRecord {
    static let databaseTableName = "maintenance_component"
    var maintenanceId: Int64
    var componentSlug: String
    var position: Int
}

struct MaintenanceUpdateRecord: IdentifiedRecord {
    static let databaseTableName = "maintenance_update"
    var id: Int64?
    var maintenanceId: Int64
    var status: String
    var body: String
    var author: String
    var createdAt: Date

    init(_ value: MaintenanceUpdate, maintenanceId: Int64) {
        id = value.id == 0 ? nil : value.id
        self.maintenanceId = maintenanceId
        status = value.status.rawValue
        body = value.body
        author = value.author
        createdAt = value.createdAt
    }

    func domain() throws -> MaintenanceUpdate {
        MaintenanceUpdate(id: id ?? 0, status: try decode(MaintenanceStatus.self, status), body: body, author: author, createdAt: createdAt)
    }
}

struct TokenRecord: IdentifiedRecord {
    static let databaseTableName = "api_token"
    var id: Int64?
    var name: String
    var role: String
    var tokenHash: String
    var createdAt: Date
    var revokedAt: Date?

    init(_ value: APIToken) {
        id = value.id == 0 ? nil : value.id
        name = value.name
        role = value.role.rawValue
        tokenHash = value.tokenHash
        createdAt = value.createdAt
        revokedAt = value.revokedAt
    }

    func domain() throws -> APIToken {
        APIToken(id: id ?? 0, name: name, role: try decode(AccessRole.self, role), tokenHash: tokenHash, createdAt: createdAt, revokedAt: revokedAt)
    }
}

/// A stored enum value Belay does not know means the file was written by a newer or broken version.
struct CorruptValue: Error, CustomStringConvertible {
    var type: String
    var value: String
    var description: String { "stored \(type) value '\(value)' is not recognised" }
}

func decode<T: RawRepresentable>(_ type: T.Type, _ raw: String) throws -> T where T.RawValue == String {
    guard let value = T(rawValue: raw) else { throw CorruptValue(type: String(describing: T.self), value: raw) }
    return value
}

struct EventRecord: BelayRecord {
    static let databaseTableName = "event"
    var sequence: Int64?
    var recordedAt: Date
    var type: String
    var subjectKind: String
    var subjectId: String
    var actorKind: String
    var actorId: Int64?
    var actorName: String
    var announce: Bool
    var payload: String

    init(_ event: DomainEvent, context: WriteContext, at date: Date) throws {
        sequence = nil
        recordedAt = date
        type = event.type
        subjectKind = event.subject.kind.rawValue
        subjectId = event.subject.id
        actorKind = context.actor.kind.rawValue
        actorId = context.actor.id
        actorName = context.actor.name
        announce = context.announce
        payload = try DomainEvent.encode(event)
    }

    func domain() throws -> StoredEvent {
        StoredEvent(
            sequence: sequence ?? 0, recordedAt: recordedAt,
            actor: Actor(kind: try decode(Actor.Kind.self, actorKind), id: actorId, name: actorName), announce: announce,
            event: try DomainEvent.decode(payload))
    }
}
