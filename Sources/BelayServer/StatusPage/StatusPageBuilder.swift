import BelayCore
import Crypto
import Foundation
import HTTPTypes

/// The data a status page is drawn from, already filtered to what the public may see.
struct PublicData: Sendable {
    var components: [Component]
    /// Public incidents, open or resolved within the history span, newest first.
    var incidents: [Incident]
    var maintenances: [MaintenanceWindow]
    /// Monitor checks per component and day.
    var measured: [String: [Int64: MeasuredDay]] = [:]
    var now: Date
    var dataVersion: UInt64
}

/// Renders every public page from `PublicData`: HTML through mustache templates, the Statuspage v2 JSON,
/// and the Atom and RSS feeds. Runs when data changes, never per request.
struct StatusPageBuilder: Sendable {
    let configuration: ServerConfiguration
    let pageTemplates: TemplateLibrary
    let feedTemplates: TemplateLibrary
    let stylesheet: [UInt8]
    let script: [UInt8]

    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    static var pageViews: [any TemplateView.Type] { [StatusHomePage.self, HistoryPage.self, PublicIncidentPage.self, NotFoundPage.self] }
    static var feedViews: [any TemplateView.Type] { [AtomFeed.self, RSSFeed.self] }

    static func load(configuration: ServerConfiguration) async throws -> StatusPageBuilder {
        let resources = try ServerResources.directory()
        let templates = resources.appendingPathComponent("Templates")
        let css = try Data(contentsOf: resources.appendingPathComponent("Assets/belay.css"))
        let js = try Data(contentsOf: resources.appendingPathComponent("Assets/app.js"))
        return StatusPageBuilder(
            configuration: configuration, pageTemplates: try await TemplateLibrary.load(templates.appendingPathComponent("status"), views: pageViews),
            feedTemplates: try await TemplateLibrary.load(templates.appendingPathComponent("feeds"), views: feedViews), stylesheet: Array(css),
            script: Array(js))
    }

    var pageID: String { "belay" }

    static let stylesheetPath = "/assets/belay.css"
    static let scriptPath = "/assets/app.js"

    /// Asset addresses carrying a hash of their content, so browsers fetch a new version as soon as it ships.
    var stylesheetHref: String { "\(Self.stylesheetPath)?v=\(Self.version(stylesheet))" }
    var scriptHref: String { "\(Self.scriptPath)?v=\(Self.version(script))" }

    static func version(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    func build(_ data: PublicData) throws -> StatusSnapshot {
        let now = data.now
        let statuses = ServiceStatus.componentStatuses(
            components: data.components, incidents: data.incidents, maintenances: data.maintenances, now: now)
        let open = data.incidents.filter(\.isOpen)
        let overall = ServiceStatus.overall(statuses: statuses.values, openIncidents: open)
        let history = UptimeHistory.build(
            components: data.components, incidents: data.incidents, maintenances: data.maintenances, days: configuration.historyDays, now: now,
            measured: data.measured)

        var pages: [String: CachedPage] = [:]
        let cssPath = "/assets/belay.css"
        pages[cssPath] = CachedPage(
            bytes: stylesheet, contentType: "text/css; charset=utf-8", cacheControl: "public, max-age=300")
        let cssVersion = pages[cssPath]!.etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        pages[Self.scriptPath] = CachedPage(bytes: script, contentType: "text/javascript; charset=utf-8", cacheControl: "public, max-age=300")

        // HTML
        let views = StatusPageViews(
            configuration: configuration, data: data, statuses: statuses, overall: overall, history: history,
            cssHref: "\(cssPath)?v=\(cssVersion)")
        pages["/"] = try html(views.home())
        pages["/history"] = try html(views.historyPage())
        for incident in data.incidents {
            pages["/incidents/\(incident.id)"] = try html(views.incidentPage(incident))
        }
        pages["not-found"] = try html(views.notFoundPage())

        // Statuspage v2 JSON
        let v2 = StatuspageV2Builder(pageID: pageID, configuration: configuration, data: data, statuses: statuses, overall: overall)
        let summary = v2.summary()
        pages["/api/v2/summary.json"] = try json(summary)
        pages["/api/v2/status.json"] = try json(StatuspageV2.StatusDocument(page: summary.page, status: summary.status))
        pages["/api/v2/components.json"] = try json(StatuspageV2.ComponentsDocument(page: summary.page, components: summary.components))
        pages["/api/v2/incidents.json"] = try json(StatuspageV2.IncidentsDocument(page: summary.page, incidents: v2.recentIncidents()))
        pages["/api/v2/incidents/unresolved.json"] = try json(StatuspageV2.IncidentsDocument(page: summary.page, incidents: summary.incidents))
        pages["/api/v2/scheduled-maintenances.json"] = try json(
            StatuspageV2.MaintenancesDocument(page: summary.page, scheduled_maintenances: v2.maintenances { _ in true }))
        pages["/api/v2/scheduled-maintenances/upcoming.json"] = try json(
            StatuspageV2.MaintenancesDocument(page: summary.page, scheduled_maintenances: v2.maintenances { $0.isUpcoming(at: now) }))
        pages["/api/v2/scheduled-maintenances/active.json"] = try json(
            StatuspageV2.MaintenancesDocument(page: summary.page, scheduled_maintenances: v2.maintenances { $0.isActive(at: now) }))

        // Feeds
        pages["/history.atom"] = try feed(views.atomFeed(), contentType: "application/atom+xml; charset=utf-8")
        pages["/history.rss"] = try feed(views.rssFeed(), contentType: "application/rss+xml; charset=utf-8")

        return StatusSnapshot(pages: pages, builtAt: now, dataVersion: data.dataVersion)
    }

    /// Browsers revalidate every time (a cheap 304 while nothing changed), so a reload always shows the
    /// latest; shared caches and CDNs may serve a copy for up to 10 seconds, which absorbs a stampede.
    static let pageCacheControl = "public, max-age=0, s-maxage=10"

    static let htmlHeaders: HTTPFields = [
        .contentSecurityPolicy: contentSecurityPolicy,
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
        HTTPField.Name("X-Frame-Options")!: "DENY",
    ]

    static let jsonHeaders: HTTPFields = [
        .accessControlAllowOrigin: "*",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
    ]

    func html(_ view: some TemplateView) throws -> CachedPage {
        CachedPage(
            bytes: Array(try pageTemplates.render(view).utf8), contentType: "text/html; charset=utf-8", cacheControl: Self.pageCacheControl,
            extraHeaders: Self.htmlHeaders)
    }

    func feed(_ view: some TemplateView, contentType: String) throws -> CachedPage {
        CachedPage(bytes: Array(try feedTemplates.render(view).utf8), contentType: contentType, cacheControl: Self.pageCacheControl, extraHeaders: Self.jsonHeaders)
    }

    func json(_ value: some Encodable) throws -> CachedPage {
        CachedPage(
            bytes: Array(try BelayJSON.makeEncoder().encode(value)), contentType: "application/json; charset=utf-8",
            cacheControl: Self.pageCacheControl, extraHeaders: Self.jsonHeaders)
    }
}

/// Maps Belay's model to Statuspage's v2 documents.
struct StatuspageV2Builder {
    let pageID: String
    let configuration: ServerConfiguration
    let data: PublicData
    let statuses: [String: ComponentStatus]
    let overall: OverallIndicator
    /// Every component, groups included, in page order; incidents and maintenance reuse these objects.
    let listed: [StatuspageV2.Component]
    let bySlug: [String: StatuspageV2.Component]

    init(pageID: String, configuration: ServerConfiguration, data: PublicData, statuses: [String: ComponentStatus], overall: OverallIndicator) {
        self.pageID = pageID
        self.configuration = configuration
        self.data = data
        self.statuses = statuses
        self.overall = overall
        listed = Self.list(pageID: pageID, data: data, statuses: statuses)
        bySlug = Dictionary(listed.filter { !$0.group }.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    static let recentLimit = 50

    var page: StatuspageV2.Page {
        let stamps = data.components.map(\.updatedAt) + data.incidents.map(\.updatedAt) + data.maintenances.map(\.updatedAt)
        let latest = stamps.max() ?? data.now
        return StatuspageV2.Page(id: pageID, name: configuration.pageName, url: configuration.baseURL, time_zone: "Etc/UTC", updated_at: latest)
    }

    /// Groups have no id of their own; derive one from the exact name. The underscore keeps it apart from
    /// every component slug, which may not contain one.
    static func groupID(_ name: String) -> String {
        "grp_" + SHA256.hash(data: Data(name.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    static func component(_ component: Component, pageID: String, statuses: [String: ComponentStatus]) -> StatuspageV2.Component {
        StatuspageV2.Component(
            id: component.slug, name: component.name, status: (statuses[component.slug] ?? .operational).rawValue,
            created_at: component.createdAt, updated_at: component.updatedAt, position: component.position,
            description: component.description.isEmpty ? nil : component.description, showcase: true,
            start_date: Self.day(component.createdAt), group_id: component.group.map(Self.groupID), page_id: pageID, group: false,
            only_show_if_degraded: false, components: nil)
    }

    /// Components in page order, each group as a component of its own followed by its members.
    static func list(pageID: String, data: PublicData, statuses: [String: ComponentStatus]) -> [StatuspageV2.Component] {
        var result: [StatuspageV2.Component] = []
        var position = 0
        for group in ComponentGroup.grouped(data.components) {
            if let name = group.name {
                position += 1
                let worst = group.members.map { statuses[$0.slug] ?? .operational }.max { $0.badness < $1.badness } ?? .operational
                result.append(
                    StatuspageV2.Component(
                        id: Self.groupID(name), name: name, status: worst.rawValue,
                        created_at: group.members.map(\.createdAt).min()!, updated_at: group.members.map(\.updatedAt).max()!,
                        position: position, description: nil, showcase: false, start_date: nil, group_id: nil, page_id: pageID, group: true,
                        only_show_if_degraded: false, components: group.members.map(\.slug)))
            }
            for member in group.members {
                position += 1
                var item = component(member, pageID: pageID, statuses: statuses)
                item.position = position
                result.append(item)
            }
        }
        return result
    }

    static func day(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    func incident(_ incident: Incident) -> StatuspageV2.Incident {
        let id = String(incident.id)
        let updates = incident.updates.reversed().map { update in
            let affected = update.affectedComponents.compactMap { change -> StatuspageV2.AffectedComponent? in
                guard let component = bySlug[change.slug] else { return nil }
                return StatuspageV2.AffectedComponent(
                    code: change.slug, name: component.name, old_status: change.oldStatus.rawValue, new_status: change.newStatus.rawValue)
            }
            return StatuspageV2.IncidentUpdate(
                id: "\(id)-\(update.id)", status: update.status.rawValue, body: update.body, incident_id: id, created_at: update.createdAt,
                updated_at: update.createdAt, display_at: update.displayAt, affected_components: affected.isEmpty ? nil : affected,
                deliver_notifications: true, custom_tweet: nil, tweet_id: nil)
        }
        let monitoringAt = incident.updates.last { $0.status == .monitoring }?.displayAt ?? (incident.status == .monitoring ? incident.milestones.mitigatedAt : nil)
        return StatuspageV2.Incident(
            id: id, name: incident.title, status: incident.status.rawValue, created_at: incident.createdAt, updated_at: incident.updatedAt,
            monitoring_at: monitoringAt, resolved_at: incident.isOpen ? nil : incident.milestones.resolvedAt,
            impact: ServiceStatus.impactIndicator(of: incident).rawValue, shortlink: "\(configuration.baseURL)/incidents/\(id)",
            started_at: incident.impactStart, page_id: pageID, incident_updates: updates,
            components: incident.impacts.compactMap { bySlug[$0.slug] }, scheduled_for: nil, scheduled_until: nil,
            isMaintenance: false)
    }

    /// Statuspage has no "cancelled": a cancelled window is reported as completed, its last update saying so.
    static func v2Status(_ status: MaintenanceStatus) -> String {
        switch status {
        case .scheduled: return "scheduled"
        case .inProgress: return "in_progress"
        case .completed, .cancelled: return "completed"
        }
    }

    func maintenance(_ window: MaintenanceWindow) -> StatuspageV2.Incident {
        let id = "m\(window.id)"
        let status = window.effectiveStatus(at: data.now)
        let updates = window.updates.reversed().map { update in
            StatuspageV2.IncidentUpdate(
                id: "\(id)-\(update.id)", status: Self.v2Status(update.status), body: update.body, incident_id: id, created_at: update.createdAt,
                updated_at: update.createdAt, display_at: update.createdAt, affected_components: nil, deliver_notifications: true,
                custom_tweet: nil, tweet_id: nil)
        }
        let finishedAt = window.updates.last { $0.status.isFinished }?.createdAt
        let resolvedAt: Date? = status.isFinished ? (finishedAt ?? window.scheduledEnd) : nil
        return StatuspageV2.Incident(
            id: id, name: window.title, status: Self.v2Status(status), created_at: window.createdAt, updated_at: window.updatedAt,
            monitoring_at: nil, resolved_at: resolvedAt, impact: "maintenance", shortlink: "\(configuration.baseURL)/history#maintenance-\(window.id)",
            started_at: window.scheduledStart, page_id: pageID, incident_updates: updates,
            components: window.components.compactMap { bySlug[$0] }, scheduled_for: window.scheduledStart,
            scheduled_until: window.scheduledEnd, isMaintenance: true)
    }

    func recentIncidents() -> [StatuspageV2.Incident] {
        data.incidents.prefix(Self.recentLimit).map(incident)
    }

    func maintenances(_ filter: (MaintenanceWindow) -> Bool) -> [StatuspageV2.Incident] {
        data.maintenances.filter(filter).prefix(Self.recentLimit).map(maintenance)
    }

    func summary() -> StatuspageV2.SummaryDocument {
        let now = data.now
        let current = data.maintenances.filter { $0.isActive(at: now) || $0.isUpcoming(at: now) }
            .sorted { $0.scheduledStart < $1.scheduledStart }
        return StatuspageV2.SummaryDocument(
            page: page, components: listed, incidents: data.incidents.filter(\.isOpen).map(incident),
            scheduled_maintenances: current.map(maintenance), status: StatuspageV2.Status(indicator: overall.rawValue, description: overall.description))
    }
}
