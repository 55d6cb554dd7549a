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
    /// The public page's own script: times in the reader's zone.
    var localTimeScript: [UInt8] = []

    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    static var pageViews: [any TemplateView.Type] { [StatusHomePage.self, HistoryPage.self, PublicIncidentPage.self, NotFoundPage.self, SubscriptionPage.self] }
    static var feedViews: [any TemplateView.Type] { [AtomFeed.self, RSSFeed.self] }

    static func load(configuration: ServerConfiguration) async throws -> StatusPageBuilder {
        let resources = try ServerResources.directory()
        let templates = resources.appendingPathComponent("Templates")
        let css = try Data(contentsOf: resources.appendingPathComponent("Assets/belay.css"))
        let js = try Data(contentsOf: resources.appendingPathComponent("Assets/app.js"))
        let localTime = try Data(contentsOf: resources.appendingPathComponent("Assets/local-time.js"))
        return StatusPageBuilder(
            configuration: configuration, pageTemplates: try await TemplateLibrary.load(templates.appendingPathComponent("status"), views: pageViews),
            feedTemplates: try await TemplateLibrary.load(templates.appendingPathComponent("feeds"), views: feedViews), stylesheet: Array(css),
            script: Array(js), localTimeScript: Array(localTime))
    }

    var pageID: String { "belay" }

    static let stylesheetPath = "/assets/belay.css"
    static let scriptPath = "/assets/app.js"
    static let localTimePath = "/assets/local-time.js"
    static let accentPath = "/assets/accent.css"

    /// The public pages' policy: the shared one, with a remote logo's origin (and nothing more of its
    /// address) allowed as an image source.
    var pageContentSecurityPolicy: String {
        guard case .remote(_, let origin)? = configuration.statusPage.logo else { return Self.contentSecurityPolicy }
        return Self.contentSecurityPolicy.replacingOccurrences(of: "img-src 'self' data:", with: "img-src 'self' data: \(origin)")
    }

    /// Asset addresses carrying a hash of their content, so browsers fetch a new version as soon as it ships.
    var stylesheetHref: String { "\(Self.stylesheetPath)?v=\(Self.version(stylesheet))" }
    var scriptHref: String { "\(Self.scriptPath)?v=\(Self.version(script))" }

    static func version(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).prefix(8).hexString
    }

    var logoVersion: String {
        if case .file(_, let bytes, _)? = configuration.statusPage.logo { return Self.version(bytes) }
        return ""
    }

    func build(_ data: PublicData) throws -> StatusSnapshot {
        let now = data.now
        let statuses = ServiceStatus.componentStatuses(
            components: data.components, incidents: data.incidents, maintenances: data.maintenances, now: now)
        let open = data.incidents.filter(\.isOpen)
        let overall = ServiceStatus.overall(statuses: statuses.values, openIncidents: open)
        let history = UptimeHistory.build(
            components: data.components, incidents: data.incidents, maintenances: data.maintenances, days: configuration.statusPage.historyDays, now: now,
            measured: data.measured)

        var pages: [String: CachedPage] = [:]
        let cssPath = "/assets/belay.css"
        pages[cssPath] = CachedPage(
            bytes: stylesheet, contentType: "text/css; charset=utf-8", cacheControl: "public, max-age=300")
        let cssVersion = pages[cssPath]!.etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        pages[Self.scriptPath] = CachedPage(bytes: script, contentType: "text/javascript; charset=utf-8", cacheControl: "public, max-age=300")
        pages[Self.localTimePath] = CachedPage(bytes: localTimeScript, contentType: "text/javascript; charset=utf-8", cacheControl: "public, max-age=300")
        var accentHref: String?
        if let accent = configuration.statusPage.accent {
            let css = Array(AccentStylesheet.css(accent).utf8)
            pages[Self.accentPath] = CachedPage(bytes: css, contentType: "text/css; charset=utf-8", cacheControl: "public, max-age=300")
            accentHref = "\(Self.accentPath)?v=\(Self.version(css))"
        }
        var logoSource: String?
        if let logo = configuration.statusPage.logo {
            if case .file(_, let bytes, let kind) = logo {
                var headers: HTTPFields = [.xContentTypeOptions: "nosniff"]
                if kind == .svg { headers[.contentSecurityPolicy] = PageLogo.svgContentSecurityPolicy }
                pages[PageLogo.assetPath(kind)] = CachedPage(
                    bytes: bytes, contentType: kind.contentType, cacheControl: "public, max-age=300", extraHeaders: headers)
            }
            logoSource = logo.source(version: logoVersion)
        }

        // HTML
        let views = StatusPageViews(
            configuration: configuration, data: data, statuses: statuses, overall: overall, history: history,
            cssHref: "\(cssPath)?v=\(cssVersion)", scriptHref: "\(Self.localTimePath)?v=\(Self.version(localTimeScript))", accentHref: accentHref,
            logoSource: logoSource)
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

    var htmlHeaders: HTTPFields {
        var headers = Self.htmlHeaders
        headers[.contentSecurityPolicy] = pageContentSecurityPolicy
        return headers
    }

    static let htmlHeaders: HTTPFields = [
        .contentSecurityPolicy: contentSecurityPolicy,
        .xContentTypeOptions: "nosniff",
        .referrerPolicy: "no-referrer",
        .xFrameOptions: "DENY",
    ]

    static let jsonHeaders: HTTPFields = [
        .accessControlAllowOrigin: "*",
        .xContentTypeOptions: "nosniff",
    ]

    func html(_ view: some TemplateView) throws -> CachedPage {
        CachedPage(
            bytes: Array(try pageTemplates.render(view).utf8), contentType: "text/html; charset=utf-8", cacheControl: Self.pageCacheControl,
            extraHeaders: htmlHeaders)
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
