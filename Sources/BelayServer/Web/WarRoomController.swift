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
    let store: any BelayStore
    let clock: any WallClock
    let renderer: WebRenderer
    let configuration: ServerConfiguration
    var timeZone = TimeZone(identifier: "UTC")!

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
    }

    // MARK: Declare

    func declareContext(_ context: AppRequestContext, form: FormData? = nil, error: String? = nil) async throws -> [String: Any] {
        var page = WebPages.base(context, title: "Declare incident")
        let chosenSeverity = form?["severity"] ?? "sev2"
        page["severities"] = try await store.severityDefinitions().map { definition -> [String: Any] in
            [
                "level": definition.level.rawValue, "name": definition.name, "definition": definition.definition,
                "urgency": definition.urgency == .high ? "High urgency: pages the on-call responder" : "Low urgency: notifies, does not page",
                "checked": definition.level.rawValue == chosenSeverity,
            ]
        }
        let chosen = Set(form?.all("components") ?? [])
        page["components"] = try await store.components().map { ["slug": $0.slug, "name": $0.name, "checked": chosen.contains($0.slug)] }
        let impact = form?["impact"] ?? Impact.majorOutage.rawValue
        page["impacts"] = [Impact.majorOutage, .partialOutage, .degradedPerformance].map {
            ["value": $0.rawValue, "label": $0.componentStatus.label, "selected": $0.rawValue == impact]
        }
        for field in ["title", "message", "commander", "communications", "scribe"] { page[field] = form?[field] ?? "" }
        page["isInternal"] = form?["internal"] != nil
        page["error"] = error
        return page
    }

    @Sendable func declarePage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.responder, request: request)
        return try renderer.page("declare", try await declareContext(context))
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
            return try renderer.page("declare", try await declareContext(context, form: form, error: error.message), status: .unprocessableContent)
        }
    }

    // MARK: The war room

    func warRoomContext(_ incident: Incident, _ context: AppRequestContext, request: Request) async throws -> [String: Any] {
        var page = WebPages.base(context, title: incident.title)
        let definitions = try await store.severityDefinitions()
        let names = Dictionary(uniqueKeysWithValues: try await store.components().map { ($0.slug, $0.name) })
        page["incident"] = [
            "id": String(incident.id), "title": incident.title, "status": incident.status.label, "statusValue": incident.status.rawValue,
            "severity": incident.severity.rawValue,
            "severityName": definitions.first { $0.level == incident.severity }?.name ?? "",
            "urgency": (definitions.first { $0.level == incident.severity }?.urgency ?? .high).rawValue,
            "isPublic": incident.isPublic, "isResolved": !incident.isOpen, "publicURL": "/incidents/\(incident.id)",
            "impacts": incident.impacts.map { ["name": names[$0.slug] ?? $0.slug, "impact": $0.impact.componentStatus.label] },
        ] as [String: Any]
        page["canRespond"] = context.user?.role.allows(.responder) ?? false
        let signals = try await store.signals(SignalQuery(incidentID: incident.id, limit: 200))
        page["signals"] = signals.map { signal -> [String: Any] in
            [
                "summary": signal.summary, "source": signal.sourceName, "status": signal.status.rawValue,
                "statusClass": signal.status == .resolved ? "st-operational" : "st-major_outage", "severity": signal.severity.rawValue,
                "since": WebPages.when(signal.startsAt), "count": signal.eventCount, // Checked again here: a link stored before links were checked on the way in must still never be an href.
                "link": signal.links.lazy.compactMap { ExternalLink.validated($0.href) }.first ?? "",
            ]
        }
        page["hasSignals"] = !signals.isEmpty
        page["activeSignals"] = signals.filter { $0.status.isActive }.count
        let report = try await store.suspects(incidentID: incident.id, now: clock.now, settings: SuspectRanking.Settings(timeZone: timeZone))
        page["suspects"] = report.suspects.prefix(5).map { suspect -> [String: Any] in
            ["summary": suspect.summary, "kind": suspect.kind.rawValue, "score": String(format: "%.1f", suspect.score), "reasons": suspect.reasons.joined(separator: "; ")]
        }
        page["hasSuspects"] = !report.suspects.isEmpty
        page["possiblyAffected"] = report.possiblyAffected.map { names[$0] ?? $0 }.joined(separator: ", ")
        page["autoResolve"] = incident.autoResolve && incident.isOpen
        page["holdOpen"] = incident.holdOpen
        page["statusButtons"] = IncidentStatus.allCases.filter { $0 != incident.status && $0 != .investigating && incident.isOpen }.map { status in
            ["value": status.rawValue, "label": status == .resolved ? "Resolve" : "Mark \(status.rawValue)"]
        }
        page["statusOptions"] = IncidentStatus.allCases.filter { incident.isOpen || $0 == .resolved }.map {
            ["value": $0.rawValue, "label": $0.label]
        }
        page["severityOptions"] = definitions.map {
            ["value": $0.level.rawValue, "label": "\($0.level.rawValue) · \($0.name)", "selected": $0.level == incident.severity]
        }
        page["milestones"] = Milestone.allCases.map { milestone -> [String: Any] in
            let value = incident.milestones[milestone]
            return [
                "name": milestone.rawValue, "label": Self.milestoneLabel(milestone), "value": WebPages.localInput(value),
                "shown": value.map(WebPages.when) ?? "not yet",
            ]
        }
        page["roles"] = Role.allCases.map { ["name": $0.rawValue, "label": $0.rawValue.capitalized, "value": incident.roles[$0] ?? ""] }
        page["kinds"] = TimelineKind.allCases.map { ["value": $0.rawValue, "label": Self.kindLabel($0)] }
        page["timeline"] = try await timelineEntries(incident.id)
        page["error"] = request.uri.queryParameters["error"].map(String.init)
        return page
    }

    func timelineEntries(_ id: Int64) async throws -> [[String: Any]] {
        try await store.timeline(incidentID: id).reversed().map { entry in
            [
                "kind": entry.kind.rawValue, "kindLabel": Self.kindLabel(entry.kind), "text": entry.text, "author": entry.author,
                "when": WebPages.when(entry.occurredAt), "iso": BelayJSON.formatDate(entry.occurredAt), "isBackdated": entry.isBackdated,
                "recorded": WebPages.when(entry.recordedAt),
            ]
        }
    }

    static func kindLabel(_ kind: TimelineKind) -> String {
        switch kind {
        case .declared: return "Declared"
        case .statusChange: return "Status"
        case .update: return "Public update"
        case .note: return "Note"
        case .milestone: return "Milestone"
        case .severityChange: return "Severity"
        case .impactChange: return "Impact"
        case .roleChange: return "Role"
        case .visibilityChange: return "Visibility"
        case .signal: return "Signals"
        }
    }

    static func milestoneLabel(_ milestone: Milestone) -> String {
        switch milestone {
        case .impactStartedAt: return "Impact started"
        case .detectedAt: return "Detected"
        case .acknowledgedAt: return "Acknowledged"
        case .mitigatedAt: return "Mitigated"
        case .resolvedAt: return "Resolved"
        }
    }

    func loadIncident(_ context: AppRequestContext) async throws -> Incident {
        let id = try context.resourceID("incident")
        guard let incident = try await store.incident(id: id) else { throw DomainError.notFound(what: "incident", id: String(id)) }
        return incident
    }

    @Sendable func warRoom(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.viewer, request: request)
        let incident = try await loadIncident(context)
        return try renderer.page("war-room", try await warRoomContext(incident, context, request: request))
    }

    /// The live part of the war room (status line and timeline), fetched by the page's script when the
    /// event stream says the incident changed.
    @Sendable func liveFragment(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.viewer, request: request)
        let incident = try await loadIncident(context)
        return try renderer.page("war-room-live", try await warRoomContext(incident, context, request: request))
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
            headers: [.contentType: "text/event-stream", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no"],
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

    static func sessionIsValid(_ tokenHash: String?, _ store: any BelayStore, _ now: Date, _ configuration: ServerConfiguration) async throws -> Bool {
        guard let tokenHash, let (session, user) = try await store.session(tokenHash: tokenHash) else { return false }
        return !user.isDisabled
            && session.isValid(at: now, idleTimeout: configuration.sessionIdleTimeout, absoluteTimeout: configuration.sessionAbsoluteTimeout)
    }

    static func fingerprint(_ id: Int64, _ store: any BelayStore) async throws -> String {
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
            return try incident.postUpdate(status: status, message: form["message"] ?? "", knownComponents: known, author: author, now: now)
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
                let date = try WebPages.parseLocalInput(text, field: milestone.rawValue)
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
