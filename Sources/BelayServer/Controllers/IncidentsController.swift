import BelayCore
import BelayFormats
import Foundation
import Hummingbird

/// /api/v1/incidents: declare and run incidents. Every change goes through the domain lifecycle and the
/// store's one-transaction update, so a rejected request leaves the incident as it was.
struct IncidentsController {
    let store: any IncidentStore & ComponentStore
    let clock: any WallClock
    let baseURL: String

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("incidents", use: list)
        group.post("incidents", use: declare)
        group.get("incidents/:id", use: show)
        group.patch("incidents/:id", use: patch)
        group.post("incidents/:id/updates", use: postUpdate)
        group.post("incidents/:id/status", use: changeStatus)
        group.put("incidents/:id/impact", use: setImpact)
        group.put("incidents/:id/milestones/:milestone", use: setMilestone)
        group.patch("incidents/:id/roles", use: setRoles)
        group.post("incidents/:id/resolve", use: resolve)
        group.post("incidents/:id/reopen", use: reopen)
        group.get("incidents/:id/timeline", use: timeline)
        group.post("incidents/:id/timeline", use: addNote)
    }

    func dto(_ incident: Incident) async throws -> IncidentDTO {
        let urgency = try await store.severityDefinitions().first { $0.level == incident.severity }?.urgency ?? .high
        return IncidentDTO(incident, urgency: urgency, baseURL: baseURL)
    }

    /// Runs one lifecycle change on the incident and answers with the incident as saved.
    func change(
        _ context: AppRequestContext, id: Int64, _ body: @escaping @Sendable (inout Incident, Set<String>, String, Date) throws -> [TimelineEntry]
    ) async throws -> IncidentDTO {
        let token = try context.require(.responder)
        let author = "token:\(token.name)"
        let now = clock.now
        let (incident, _) = try await store.updateIncident(id: id) { incident, known in
            try body(&incident, known, author, now)
        }
        return try await dto(incident)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> IncidentListDTO {
        _ = try context.require(.viewer)
        var query = IncidentQuery()
        switch request.uri.queryParameters["status"].map(String.init) {
        case nil, "all": break
        case "open": query.openOnly = true
        case let other?: throw APIError.badRequest("status must be 'open' or 'all', got '\(other.prefix(40))'")
        }
        if let raw = request.uri.queryParameters["limit"] {
            guard let limit = Int(raw), (1...1000).contains(limit) else { throw APIError.badRequest("limit must be a number from 1 to 1000") }
            query.limit = limit
        } else {
            query.limit = 100
        }
        let definitions = try await store.severityDefinitions()
        let incidents = try await store.incidents(query)
        return IncidentListDTO(
            incidents: incidents.map { incident in
                IncidentDTO(incident, urgency: definitions.first { $0.level == incident.severity }?.urgency ?? .high, baseURL: baseURL)
            })
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> IncidentDTO {
        _ = try context.require(.viewer)
        let id = try context.resourceID("incident")
        guard let incident = try await store.incident(id: id) else { throw DomainError.notFound(what: "incident", id: String(id)) }
        return try await dto(incident)
    }

    @Sendable func declare(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<IncidentDTO> {
        let token = try context.require(.responder)
        let input = try await request.decode(as: DeclareInput.self, context: context)
        let draft = IncidentDraft(
            title: input.title, severity: input.severity, status: input.status ?? .investigating, isPublic: input.isPublic ?? true,
            impacts: (input.components ?? []).map(\.value), message: input.message, roles: input.roles ?? Roles(),
            milestones: input.milestones ?? Milestones())
        let (incident, _) = try await store.declareIncident(draft, author: "token:\(token.name)", now: clock.now)
        return EditedResponse(status: .created, response: try await dto(incident))
    }

    @Sendable func patch(_ request: Request, context: AppRequestContext) async throws -> IncidentDTO {
        _ = try context.require(.responder)
        let id = try context.resourceID("incident")
        let input = try await request.decode(as: IncidentPatch.self, context: context)
        return try await change(context, id: id) { incident, _, author, now in
            var entries: [TimelineEntry] = []
            if let title = input.title { entries += try incident.retitle(title, author: author, now: now) }
            if let severity = input.severity { entries += try incident.setSeverity(severity, author: author, now: now) }
            if let isPublic = input.isPublic { entries += incident.setVisibility(isPublic: isPublic, author: author, now: now) }
            return entries
        }
    }

    @Sendable func postUpdate(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<IncidentDTO> {
        _ = try context.require(.responder)
        let id = try context.resourceID("incident")
        let input = try await request.decode(as: UpdateInput.self, context: context)
        let incident = try await change(context, id: id) { incident, known, author, now in
            try incident.postUpdate(
                status: input.status, message: input.message, impacts: input.components?.map(\.value), knownComponents: known,
                displayAt: input.displayAt, notifySubscribers: input.notifySubscribers ?? true, author: author, now: now)
        }
        return EditedResponse(status: .created, response: incident)
    }

    @Sendable func changeStatus(_ request: Request, context: AppRequestContext) async throws -> IncidentDTO {
        _ = try context.require(.responder)
        let id = try context.resourceID("incident")
        let input = try await request.decode(as: StatusInput.self, context: context)
        return try await change(context, id: id) { incident, _, author, now in
            try incident.changeStatus(to: input.status, at: input.at, author: author, now: now)
        }
    }

    @Sendable func setImpact(_ request: Request, context: AppRequestContext) async throws -> IncidentDTO {
        _ = try context.require(.responder)
        let id = try context.resourceID("incident")
        let input = try await request.decode(as: ImpactInput.self, context: context)
        return try await change(context, id: id) { incident, known, author, now in
            return try incident.setImpacts(input.components.map(\.value), knownComponents: known, author: author, now: now)
        }
    }

    @Sendable func setMilestone(_ request: Request, context: AppRequestContext) async throws -> IncidentDTO {
        _ = try context.require(.responder)
        let id = try context.resourceID("incident")
        let raw = try context.parameters.require("milestone")
        guard let milestone = Milestone(rawValue: raw) else {
            throw DomainError.notFound(what: "milestone", id: raw)
        }
        let input = try await request.decode(as: MilestoneInput.self, context: context)
        return try await change(context, id: id) { incident, _, author, now in
            try incident.setMilestone(milestone, to: input.at, author: author, now: now)
        }
    }

    @Sendable func setRoles(_ request: Request, context: AppRequestContext) async throws -> IncidentDTO {
        _ = try context.require(.responder)
        let id = try context.resourceID("incident")
        let input = try await request.decode(as: [String: String?].self, context: context)
        var assignments: [(Role, String?)] = []
        for (key, person) in input.sorted(by: { $0.key < $1.key }) {
            guard let role = Role(rawValue: key) else {
                throw DomainError.invalid(field: key, message: "not a role; roles are \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            assignments.append((role, person))
        }
        let chosen = assignments
        return try await change(context, id: id) { incident, _, author, now in
            try chosen.flatMap { try incident.assign($0.0, to: $0.1, author: author, now: now) }
        }
    }

    @Sendable func resolve(_ request: Request, context: AppRequestContext) async throws -> IncidentDTO {
        _ = try context.require(.responder)
        let id = try context.resourceID("incident")
        let input = try await decodeOptional(ResolveInput.self, request, context) ?? ResolveInput()
        return try await change(context, id: id) { incident, known, author, now in
            if let message = input.message {
                return try incident.postUpdate(status: .resolved, message: message, knownComponents: known, displayAt: input.at, author: author, now: now)
            }
            return try incident.changeStatus(to: .resolved, at: input.at, author: author, now: now)
        }
    }

    @Sendable func reopen(_ request: Request, context: AppRequestContext) async throws -> IncidentDTO {
        _ = try context.require(.responder)
        let id = try context.resourceID("incident")
        let input = try await decodeOptional(ReopenInput.self, request, context) ?? ReopenInput()
        return try await change(context, id: id) { incident, _, author, now in
            try incident.reopen(to: input.status ?? .investigating, reason: input.reason, author: author, now: now)
        }
    }

    @Sendable func timeline(_ request: Request, context: AppRequestContext) async throws -> TimelineDTO {
        _ = try context.require(.viewer)
        return TimelineDTO(entries: try await store.timeline(incidentID: try context.resourceID("incident")).map(TimelineEntryDTO.init))
    }

    @Sendable func addNote(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<TimelineEntryDTO> {
        let token = try context.require(.responder)
        let id = try context.resourceID("incident")
        let input = try await request.decode(as: NoteInput.self, context: context)
        let now = clock.now
        let (_, entries) = try await store.updateIncident(id: id) { incident, _ in
            [try incident.note(input.text, occurredAt: input.occurredAt, author: "token:\(token.name)", now: now)]
        }
        return EditedResponse(status: .created, response: TimelineEntryDTO(entries[0]))
    }
}

extension TimelineEntryDTO: ResponseEncodable {}

/// Decodes a body that may be left out entirely.
func decodeOptional<T: Decodable>(_ type: T.Type, _ request: Request, _ context: AppRequestContext) async throws -> T? {
    let body = try await request.body.collect(upTo: context.maxUploadSize)
    guard body.readableBytes > 0 else { return nil }
    do {
        return try JSONBody.decode(T.self, from: Data(buffer: body))
    } catch {
        throw APIError.badRequest(error.message)
    }
}
