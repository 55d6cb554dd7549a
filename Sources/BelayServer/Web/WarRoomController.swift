import BelayCore
import BelayFormats
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// Declaring incidents and the incident war room: status, severity, milestones, roles, timeline, updates,
/// and a server-sent event stream so other responders' changes appear without a reload.
struct WarRoomController {
    /// The whole store: the war room shows suspects, which read changes, the map, incidents and signals.
    let store: any BelayStore
    let clock: any WallClock
    let renderer: WebRenderer
    let configuration: ServerConfiguration
    var timeZone = TimeZone.utc

    func addRoutes(to app: RouterGroup<AppRequestContext>) {
        app.get("incidents/new", use: declarePage)
        app.post("incidents", use: declare)
        app.get("incidents/:id", use: warRoom)
        app.get("incidents/:id/live", use: liveFragment)
        app.get("incidents/:id/events", use: events)
        app.post("incidents/:id/updates", use: postUpdate)
        app.post("incidents/:id/status", use: changeStatus)
        app.post("incidents/:id/severity", use: changeSeverity)
        app.post("incidents/:id/milestones", use: saveMilestones)
        app.post("incidents/:id/roles", use: saveRoles)
        app.post("incidents/:id/notes", use: addNote)
        app.post("incidents/:id/reopen", use: reopen)
        app.post("incidents/:id/hold", use: hold)
        app.post("incidents/:id/visibility", use: changeVisibility)
    }

    // MARK: Declare

    func declareView(_ context: AppRequestContext, form: FormData? = nil, error: String? = nil) async throws -> DeclarePage {
        DeclarePage(
            chrome: AppChrome(context, title: "Declare incident", error: error), definitions: try await store.severityDefinitions(),
            components: try await store.components(), form: form)
    }

    @Sendable func declarePage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.responder, request: request)
        return try renderer.page(try await declareView(context))
    }

    @Sendable func declare(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser(.responder, request: request)
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        do {
            guard let severity = Severity(rawValue: form["severity"] ?? "") else {
                throw DomainError.invalid(field: "severity", message: "choose one of sev1 to sev4")
            }
            guard let impact = Impact(rawValue: form["impact"] ?? Impact.majorOutage.rawValue) else {
                throw DomainError.invalid(field: "impact", message: "choose an impact")
            }
            let draft = IncidentDraft(
                title: form["title"] ?? "", severity: severity, isPublic: form["internal"] == nil,
                impacts: form.all("components").map { ComponentImpact(slug: $0, impact: impact) }, message: form.text("message"),
                roles: Roles(commander: form.text("commander"), communications: form.text("communications"), scribe: form.text("scribe")))
            let (incident, _) = try await store.declareIncident(draft, author: user.name, now: clock.now)
            throw WebRedirect(location: "/app/incidents/\(incident.id)")
        } catch let error as DomainError {
            return try renderer.page(try await declareView(context, form: form, error: error.message), status: .unprocessableContent)
        }
    }

    // MARK: The war room

    func warRoomView(_ incident: Incident, _ context: AppRequestContext, request: Request) async throws -> WarRoomPage {
        let definitions = try await store.severityDefinitions()
        let names = Dictionary(uniqueKeysWithValues: try await store.components().map { ($0.slug, $0.name) })
        let signals = try await store.signals(SignalQuery(incidentID: incident.id, limit: 200))
        let report = try await store.suspects(incidentID: incident.id, now: clock.now, settings: SuspectRanking.Settings(timeZone: timeZone))
        var page = WarRoomPage(
            chrome: AppChrome(context, request, title: incident.title), incident: incident,
            live: try await liveView(incident, definitions: definitions, names: names), definitions: definitions, signals: signals, report: report,
            names: names, canRespond: context.user?.role.allows(.responder) ?? false)
        let deliveries = try await store.deliveries(DeliveryQuery(incidentID: incident.id, limit: 1000))
        let channels = Dictionary(try await store.channels().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        page.deliveries = deliveries.filter { if case .channel = $0.destination { true } else { false } }.map { .init($0, channels: channels) }
        var counts: [DeliveryState: Int] = [:]
        for delivery in deliveries { if case .subscriber = delivery.destination { counts[delivery.state, default: 0] += 1 } }
        page.subscriberDeliveries = DeliveryState.allCases.compactMap { state in counts[state].map { .init(state: state.rawValue, count: $0) } }
        page.hasDeliveries = !deliveries.isEmpty
        return page
    }

    func liveView(_ incident: Incident, definitions: [SeverityDefinition], names: [String: String]) async throws -> WarRoomLive {
        WarRoomLive(
            incident: WarRoomIncident(incident, definitions: definitions, names: names),
            timeline: try await store.timeline(incidentID: incident.id).reversed().map(TimelineLine.init))
    }

    func loadIncident(_ context: AppRequestContext) async throws -> Incident {
        let id = try context.resourceID("incident")
        guard let incident = try await store.incident(id: id) else { throw DomainError.notFound(what: "incident", id: String(id)) }
        return incident
    }

    @Sendable func warRoom(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.viewer, request: request)
        let incident = try await loadIncident(context)
        return try renderer.page(try await warRoomView(incident, context, request: request))
    }

    /// The live part of the war room (status line and timeline), fetched by the page's script when the
    /// event stream says the incident changed.
    @Sendable func liveFragment(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.viewer, request: request)
        let incident = try await loadIncident(context)
        let names = Dictionary(uniqueKeysWithValues: try await store.components().map { ($0.slug, $0.name) })
        return try renderer.fragment(try await liveView(incident, definitions: try await store.severityDefinitions(), names: names))
    }

    /// Server-sent events: one `changed` event whenever this incident's timeline grows or it is updated.
    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.viewer, request: request)
        let id = try context.resourceID("incident")
        guard try await store.incident(id: id) != nil else { throw DomainError.notFound(what: "incident", id: String(id)) }
        let store = self.store
        let changes = store.feed.committed()
        let sessionHash = context.session?.tokenHash
        let clock = self.clock
        let configuration = self.configuration
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-store", .xAccelBuffering: "no"],
            body: .init { writer in
                var last = try await Self.fingerprint(id, store)
                try await writer.write(ByteBuffer(string: "retry: 2000\nevent: ready\ndata: \(last)\n\n"))
                for await _ in changes.cancelOnGracefulShutdown() {
                    // Signing out, being disabled or the session expiring ends the stream: a session is
                    // checked at every request, and this one request lasts as long as the page is open.
                    guard try await Self.sessionIsValid(sessionHash, store, clock.now, configuration) else {
                        try await writer.write(ByteBuffer(string: "event: ended\ndata: signed out\n\n"))
                        break
                    }
                    let now = try await Self.fingerprint(id, store)
                    if now != last {
                        last = now
                        try await writer.write(ByteBuffer(string: "event: changed\ndata: \(now)\n\n"))
                    }
                }
                try await writer.finish(nil)
            })
    }

    static func sessionIsValid(_ tokenHash: String?, _ store: any AccountStore, _ now: Date, _ configuration: ServerConfiguration) async throws -> Bool {
        guard let tokenHash, let (session, user) = try await store.session(tokenHash: tokenHash) else { return false }
        return !user.isDisabled
            && session.isValid(at: now, idleTimeout: configuration.sessions.idleTimeout, absoluteTimeout: configuration.sessions.absoluteTimeout)
    }

    static func fingerprint(_ id: Int64, _ store: any IncidentStore) async throws -> String {
        let incident = try await store.incident(id: id)
        let entries = try await store.timeline(incidentID: id).count
        return "\(entries)-\(incident?.updatedAt.timeIntervalSince1970 ?? 0)"
    }

    // MARK: Actions

    /// Runs one lifecycle change from a form and returns to the war room, with the error shown if it was refused.
    func act(
        _ request: Request, _ context: AppRequestContext,
        _ change: @escaping @Sendable (inout Incident, Set<String>, FormData, String, Date) throws -> [TimelineEntry]
    ) async throws -> Response {
        let user = try context.requireUser(.responder, request: request)
        let id = try context.resourceID("incident")
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        let now = clock.now
        do {
            _ = try await store.updateIncident(id: id) { incident, known in try change(&incident, known, form, user.name, now) }
            throw WebRedirect(location: "/app/incidents/\(id)")
        } catch let error as DomainError {
            if case .notFound = error { throw error }
            let message = error.message.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            throw WebRedirect(location: "/app/incidents/\(id)?error=\(message)#actions")
        }
    }

    @Sendable func postUpdate(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context) { incident, known, form, author, now in
            let status = form.text("status").flatMap(IncidentStatus.init(rawValue:))
            // The checkbox sends nothing when unticked; the hidden field says the form offered it.
            let notify = form["notify-offered"] == nil || form["notify"] != nil
            return try incident.postUpdate(
                status: status, message: form["message"] ?? "", knownComponents: known, notifySubscribers: notify, author: author, now: now)
        }
    }

    @Sendable func changeStatus(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context) { incident, _, form, author, now in
            guard let status = IncidentStatus(rawValue: form["status"] ?? "") else {
                throw DomainError.invalid(field: "status", message: "unknown status")
            }
            return try incident.changeStatus(to: status, author: author, now: now)
        }
    }

    /// Making an incident public posts its first public words with it, so the status page never shows an
    /// incident nobody has described; making it internal takes it off the page.
    @Sendable func changeVisibility(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context) { incident, known, form, author, now in
            switch form["public"] {
            case "true":
                return try incident.publish(message: form.text("message"), knownComponents: known, author: author, now: now)
            case "false":
                return incident.setVisibility(isPublic: false, author: author, now: now)
            default:
                throw DomainError.invalid(field: "public", message: "expected true or false")
            }
        }
    }

    @Sendable func changeSeverity(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context) { incident, _, form, author, now in
            guard let severity = Severity(rawValue: form["severity"] ?? "") else {
                throw DomainError.invalid(field: "severity", message: "choose one of sev1 to sev4")
            }
            return try incident.setSeverity(severity, author: author, now: now)
        }
    }

    @Sendable func saveMilestones(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context) { incident, _, form, author, now in
            var entries: [TimelineEntry] = []
            // Earliest milestones first, so the order rule is checked against the new values.
            for milestone in Milestone.allCases {
                guard let text = form.text(milestone.rawValue) else { continue }
                let date = try DateInput.parse(text, field: milestone.rawValue)
                if let current = incident.milestones[milestone], abs(current.timeIntervalSince(date)) < 60 { continue }
                entries += try incident.setMilestone(milestone, to: date, author: author, now: now)
            }
            return entries
        }
    }

    @Sendable func saveRoles(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context) { incident, _, form, author, now in
            try Role.allCases.flatMap { role in try incident.assign(role, to: form[role.rawValue], author: author, now: now) }
        }
    }

    @Sendable func addNote(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context) { incident, _, form, author, now in
            [try incident.note(form["text"] ?? "", occurredAt: nil, author: author, now: now)]
        }
    }

    @Sendable func hold(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context) { incident, _, form, author, now in
            incident.setHoldOpen(form["hold"] == "true", author: author, now: now)
        }
    }

    @Sendable func reopen(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context) { incident, _, form, author, now in
            try incident.reopen(reason: form.text("reason"), author: author, now: now)
        }
    }
}
