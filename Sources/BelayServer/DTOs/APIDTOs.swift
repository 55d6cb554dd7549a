import BelayCore
import Foundation
import Hummingbird

// The shapes of the /api/v1 JSON. Handlers return these, never stored records; openapi.json documents them.

struct ComponentDTO: ResponseEncodable {
    var slug: String
    var name: String
    var description: String
    var group: String?
    var isPublic: Bool
    var automaticIncidentsPublic: Bool
    var position: Int
    var dependsOn: [String]
    var status: ComponentStatus
    var createdAt: Date
    var updatedAt: Date

    init(_ component: Component, status: ComponentStatus) {
        slug = component.slug
        name = component.name
        description = component.description
        group = component.group
        isPublic = component.isPublic
        automaticIncidentsPublic = component.automaticIncidentsPublic
        position = component.position
        dependsOn = component.dependsOn
        self.status = status
        createdAt = component.createdAt
        updatedAt = component.updatedAt
    }
}

struct ComponentInput: Decodable {
    var slug: String
    var name: String
    var description: String?
    var group: String?
    var isPublic: Bool?
    var automaticIncidentsPublic: Bool?
    var position: Int?
    var dependsOn: [String]?
}

struct ComponentPatch: Decodable {
    var name: String?
    var description: String?
    var group: String?
    var isPublic: Bool?
    var automaticIncidentsPublic: Bool?
    var position: Int?
    var dependsOn: [String]?
}

struct StatusUpdateDTO: Codable {
    var id: String
    var status: IncidentStatus
    var message: String
    var author: String
    var createdAt: Date
    var displayAt: Date
    var affectedComponents: [AffectedComponent]

    init(_ update: StatusUpdate) {
        id = String(update.id)
        status = update.status
        message = update.body
        author = update.author
        createdAt = update.createdAt
        displayAt = update.displayAt
        affectedComponents = update.affectedComponents
    }
}

struct IncidentDTO: ResponseEncodable {
    var id: String
    var title: String
    var severity: Severity
    var urgency: Urgency
    var status: IncidentStatus
    var isPublic: Bool
    var components: [ComponentImpact]
    var milestones: Milestones
    var roles: Roles
    var reopenCount: Int
    var createdAt: Date
    var updatedAt: Date
    var updates: [StatusUpdateDTO]
    var url: String
    /// Belay opened it from a signal and will resolve it after the quiet period unless held open.
    var autoResolve: Bool
    var holdOpen: Bool
    var signalsClearedAt: Date?

    init(_ incident: Incident, urgency: Urgency, baseURL: String) {
        id = String(incident.id)
        title = incident.title
        severity = incident.severity
        self.urgency = urgency
        status = incident.status
        isPublic = incident.isPublic
        components = incident.impacts
        milestones = incident.milestones
        roles = incident.roles
        reopenCount = incident.reopenCount
        createdAt = incident.createdAt
        updatedAt = incident.updatedAt
        updates = incident.updates.map(StatusUpdateDTO.init)
        url = "\(baseURL)/incidents/\(incident.id)"
        autoResolve = incident.autoResolve
        holdOpen = incident.holdOpen
        signalsClearedAt = incident.signalsClearedAt
    }
}

struct IncidentListDTO: ResponseEncodable {
    var incidents: [IncidentDTO]
}

struct ComponentListDTO: ResponseEncodable {
    var components: [ComponentDTO]
}

struct DeclareInput: Decodable {
    var title: String
    var severity: Severity
    var status: IncidentStatus?
    var isPublic: Bool?
    var components: [ComponentImpactInput]?
    var message: String?
    var roles: Roles?
    var milestones: Milestones?
}

/// A component named in a request, with its impact (major outage when left out).
struct ComponentImpactInput: Decodable {
    var slug: String
    var impact: Impact?

    var value: ComponentImpact { ComponentImpact(slug: slug, impact: impact ?? .majorOutage) }
}

struct IncidentPatch: Decodable {
    var title: String?
    var severity: Severity?
    var isPublic: Bool?
}

struct UpdateInput: Decodable {
    var status: IncidentStatus?
    var message: String
    var components: [ComponentImpactInput]?
    var displayAt: Date?
    /// Tell status page subscribers (default true; internal incidents never reach them).
    var notifySubscribers: Bool?
}

struct StatusInput: Decodable {
    var status: IncidentStatus
    var at: Date?
}

struct ImpactInput: Decodable {
    var components: [ComponentImpactInput]
}

struct MilestoneInput: Decodable {
    var at: Date
}

struct ResolveInput: Decodable {
    var message: String?
    var at: Date?
}

struct ReopenInput: Decodable {
    var reason: String?
    var status: IncidentStatus?
}

struct NoteInput: Decodable {
    var text: String
    var occurredAt: Date?
}

struct TimelineEntryDTO: Codable {
    var id: String
    var kind: TimelineKind
    var author: String
    var occurredAt: Date
    var recordedAt: Date
    var isBackdated: Bool
    var text: String
    var details: [String: String]

    init(_ entry: TimelineEntry) {
        id = String(entry.id)
        kind = entry.kind
        author = entry.author
        occurredAt = entry.occurredAt
        recordedAt = entry.recordedAt
        isBackdated = entry.isBackdated
        text = entry.text
        details = entry.fact.details
    }
}

struct TimelineDTO: ResponseEncodable {
    var entries: [TimelineEntryDTO]
}

struct MaintenanceDTO: ResponseEncodable {
    struct Update: Codable {
        var id: String
        var status: MaintenanceStatus
        var message: String
        var author: String
        var createdAt: Date
    }

    var id: String
    var title: String
    var description: String
    var components: [String]
    var scheduledStart: Date
    var scheduledEnd: Date
    /// The status now, with the schedule applied.
    var status: MaintenanceStatus
    var autoTransitions: Bool
    var isPublic: Bool
    var createdAt: Date
    var updatedAt: Date
    var updates: [Update]

    init(_ window: MaintenanceWindow, now: Date) {
        id = String(window.id)
        title = window.title
        description = window.description
        components = window.components
        scheduledStart = window.scheduledStart
        scheduledEnd = window.scheduledEnd
        status = window.effectiveStatus(at: now)
        autoTransitions = window.autoTransitions
        isPublic = window.isPublic
        createdAt = window.createdAt
        updatedAt = window.updatedAt
        updates = window.updates.map { Update(id: String($0.id), status: $0.status, message: $0.body, author: $0.author, createdAt: $0.createdAt) }
    }
}

struct MaintenanceListDTO: ResponseEncodable {
    var maintenances: [MaintenanceDTO]
}

struct MaintenanceInput: Decodable {
    var title: String
    var description: String?
    var components: [String]?
    var scheduledStart: Date
    var scheduledEnd: Date
    var autoTransitions: Bool?
    var isPublic: Bool?
}

struct MessageInput: Decodable {
    var message: String?
}

struct TokenDTO: ResponseEncodable {
    var id: String
    var name: String
    var role: AccessRole
    var createdAt: Date
    var revokedAt: Date?
    /// Present only in the response that created the token.
    var token: String?

    init(_ token: APIToken, secret: String? = nil) {
        id = String(token.id)
        name = token.name
        role = token.role
        createdAt = token.createdAt
        revokedAt = token.revokedAt
        self.token = secret
    }
}

struct TokenListDTO: ResponseEncodable {
    var tokens: [TokenDTO]
}

struct TokenInput: Decodable {
    var name: String
    var role: AccessRole
}

struct SeverityListDTO: ResponseEncodable {
    var severities: [SeverityDTO]
}

struct SeverityDTO: ResponseEncodable {
    var level: Severity
    var name: String
    var definition: String
    var urgency: Urgency

    init(_ definition: SeverityDefinition) {
        level = definition.level
        name = definition.name
        self.definition = definition.definition
        urgency = definition.urgency
    }
}

struct SeverityInput: Decodable {
    var name: String
    var definition: String
    var urgency: Urgency
}


struct HealthDTO: ResponseEncodable {
    var status: String
}
