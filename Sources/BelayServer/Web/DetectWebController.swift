import BelayCore
import BelayFormats
import BelayMonitoring
import Foundation
import Hummingbird

/// The app's monitor pages (list, detail with uptime and latency charts) and integration pages.
struct DetectWebController {
    let store: any DetectStore & ComponentStore
    let clock: any WallClock
    let configuration: ServerConfiguration
    let renderer: WebRenderer
    let scheduler: MonitorScheduler
    let targetCheck: MonitorTargetCheck

    static let pageSize = 50

    func addRoutes(to app: RouterGroup<AppRequestContext>) {
        app.get("monitors", use: monitorsPage)
        app.post("monitors", use: addMonitor)
        app.get("monitors/:id", use: monitorPage)
        app.post("monitors/:id/:action", use: monitorAction)
        app.get("integrations", use: integrationsPage)
        app.post("integrations", use: addIntegration)
        app.post("integrations/:id/:action", use: integrationAction)
    }

    // MARK: Monitors

    @Sendable func monitorsPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.viewer, request: request)
        let query = request.uri.queryParameters
        var monitorQuery = MonitorQuery(limit: Self.pageSize + 1)
        monitorQuery.after = query["after"].flatMap { Int64($0) }
        monitorQuery.status = query["status"].flatMap { MonitorStatus(rawValue: String($0)) }
        monitorQuery.text = query["q"].map { String($0.prefix(200)) }
        var monitors = try await store.monitors(monitorQuery)
        let more = monitors.count > Self.pageSize
        if more { monitors.removeLast() }
        var filters: [String] = []
        if let status = monitorQuery.status { filters.append("status=\(status.rawValue)") }
        if let text = monitorQuery.text, !text.isEmpty { filters.append("q=\(text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")") }
        let nextPage = more ? monitors.last.map { "/app/monitors?" + (filters + ["after=\($0.id)"]).joined(separator: "&") } : nil
        let total = try await store.monitorCount()
        let components = try await store.components()
        let stats = scheduler.stats()
        return try renderer.page(
            MonitorsPage(
                chrome: AppChrome(context, request, title: "Monitors"), monitors: monitors, nextPage: nextPage, query: monitorQuery, total: total,
                components: components,
                stats: "\(stats.monitors) scheduled, \(stats.inFlight) running, start lateness p99 \(Int(stats.latenessP99Ms)) ms over the last minute"))
    }

    @Sendable func addMonitor(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser(.responder, request: request)
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        do {
            guard let kind = MonitorKind(rawValue: form["kind"] ?? "") else { throw DomainError.invalid(field: "kind", message: "choose a kind") }
            let target = (form["target"] ?? "").trimmingCharacters(in: .whitespaces)
            var settings = MonitorSettings()
            func hostPort(defaultPort: Int?) throws {
                let parts = target.split(separator: ":")
                guard let host = parts.first, parts.count <= 2 else { throw DomainError.invalid(field: "target", message: "give host:port") }
                settings.host = String(host)
                settings.port = parts.count == 2 ? Int(parts[1]) : defaultPort
                if settings.port == nil { throw DomainError.invalid(field: "target", message: "give host:port") }
            }
            switch kind {
            case .http: settings.url = target
            case .tcp: try hostPort(defaultPort: nil)
            case .tls: try hostPort(defaultPort: 443)
            case .certificateFile: settings.path = target
            case .dns: settings.name = target
            case .heartbeat: settings.graceSeconds = Int(target) ?? 0
            }
            let interval = Int(form["interval"] ?? "") ?? 60
            let now = clock.now
            let secret = kind == .heartbeat ? WebSecrets.random() : nil
            let component = form["component"].flatMap { $0.isEmpty ? nil : $0 }
            let new = Monitor(
                name: form["name"] ?? "", kind: kind, settings: settings, intervalSeconds: interval, timeoutSeconds: min(Int(form["timeout"] ?? "") ?? 10, interval),
                component: component, severity: Severity(rawValue: form["severity"] ?? "") ?? .sev2,
                heartbeatTokenHash: secret.map(TokenSecrets.hash), createdAt: now, updatedAt: now)
            try CertificateFileAccess(directory: configuration.detect.certificateDirectory).check(new, role: user.role)
            try await targetCheck.check(new)
            let monitor = try await store.createMonitor(new)
            scheduler.monitorsChanged()
            // The heartbeat URL is shown in this answer only (Belay keeps its hash), so no redirect.
            guard let secret else { throw WebRedirect(location: "/app/monitors/\(monitor.id)") }
            return try await renderMonitor(monitor, request, context, heartbeatSecret: secret, status: .created)
        } catch let error as DomainError {
            throw AppController.failure("/app/monitors", error)
        }
    }

    @Sendable func monitorPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.viewer, request: request)
        let id = try context.resourceID("monitor")
        guard let monitor = try await store.monitor(id: id) else { throw DomainError.notFound(what: "monitor", id: String(id)) }
        return try await renderMonitor(monitor, request, context)
    }

    /// The monitor's page; `heartbeatSecret` is a token just made, shown this once.
    func renderMonitor(
        _ monitor: Monitor, _ request: Request, _ context: AppRequestContext, heartbeatSecret: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let id = monitor.id
        let now = clock.now
        let days = try await store.rollups(monitorIDs: [id], granularity: .day, since: now.addingTimeInterval(-89 * 86400))
        let hours = try await store.rollups(monitorIDs: [id], granularity: .hour, since: now.addingTimeInterval(-23 * 3600))
        let results = try await store.results(monitorID: id, limit: 20)
        var component: Component?
        if let slug = monitor.component { component = try await store.component(slug: slug) }
        let page = MonitorPage(
            chrome: AppChrome(context, request, title: monitor.name), monitor: monitor, component: component, days: days, hours: hours, results: results,
            heartbeatURL: heartbeatSecret.map { "\(configuration.baseURL)/api/v1/heartbeats/\($0)" }, now: now)
        return try renderer.page(page, status: status)
    }

    @Sendable func monitorAction(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.responder, request: request)
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        let id = try context.resourceID("monitor")
        let action = try context.parameters.require("action")
        let now = clock.now
        do {
            switch action {
            case "pause", "resume":
                _ = try await store.updateMonitor(id: id) { monitor in
                    MonitorsController.setPaused(&monitor, action == "pause", now: now)
                    monitor.updatedAt = now
                }
            case "rotate-heartbeat":
                let secret = WebSecrets.random()
                let monitor = try await store.updateMonitor(id: id) { monitor in
                    guard monitor.kind == .heartbeat else { throw DomainError.invalid(field: "monitor", message: "only heartbeat monitors have a token") }
                    monitor.heartbeatTokenHash = TokenSecrets.hash(secret)
                    monitor.updatedAt = now
                }
                return try await renderMonitor(monitor, request, context, heartbeatSecret: secret)
            case "delete":
                try await store.deleteMonitor(id: id)
                scheduler.monitorsChanged()
                throw WebRedirect(location: "/app/monitors")
            default:
                throw DomainError.notFound(what: "action", id: action)
            }
            scheduler.monitorsChanged()
            throw WebRedirect(location: "/app/monitors/\(id)")
        } catch let error as DomainError {
            throw AppController.failure("/app/monitors/\(id)", error)
        }
    }

    // MARK: Integrations

    func integrationsView(_ context: AppRequestContext, _ request: Request) async throws -> IntegrationsPage {
        IntegrationsPage(
            chrome: AppChrome(context, request, title: "Integrations"), integrations: try await store.integrations(),
            components: try await store.components())
    }

    @Sendable func integrationsPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        return try renderer.page(try await integrationsView(context, request))
    }

    @Sendable func addIntegration(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        do {
            var rules: [RoutingRule] = []
            if let text = form["rules"], !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                do { rules = try JSONBody.decode([RoutingRule].self, from: Data(text.utf8)) } catch {
                    throw DomainError.invalid(field: "rules", message: "must be a JSON array of {\"match\":{...},\"components\":[...],\"severity\":\"sev1\"}")
                }
            }
            let key = IngestController.newKey()
            let now = clock.now
            let integration = try await store.createIntegration(
                Integration(
                    name: form["name"] ?? "", kind: IntegrationKind(rawValue: form["kind"] ?? "") ?? .generic, keyHash: TokenSecrets.hash(key),
                    keyHint: String(key.prefix(6)),
                    routing: Routing(
                        rules: rules, defaultComponents: form.all("components").filter { !$0.isEmpty },
                        defaultSeverity: Severity(rawValue: form["severity"] ?? "") ?? .sev2),
                    publicIncidents: form["public"] != nil, createdAt: now, updatedAt: now))
            var page = try await integrationsView(context, request)
            page.reveal(IntegrationURLs(baseURL: configuration.baseURL, key: key), key: key, name: integration.name)
            return try renderer.page(page, status: .created)
        } catch let error as DomainError {
            throw AppController.failure("/app/integrations", error)
        }
    }

    @Sendable func integrationAction(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        let id = try context.resourceID("integration")
        let action = try context.parameters.require("action")
        let now = clock.now
        do {
            switch action {
            case "enable", "disable":
                _ = try await store.updateIntegration(id: id) { $0.isEnabled = action == "enable"; $0.updatedAt = now }
            case "delete":
                try await store.deleteIntegration(id: id)
            default:
                throw DomainError.notFound(what: "action", id: action)
            }
            throw WebRedirect(location: "/app/integrations")
        } catch let error as DomainError {
            throw AppController.failure("/app/integrations", error)
        }
    }
}
