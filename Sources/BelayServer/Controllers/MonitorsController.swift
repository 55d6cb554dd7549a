import BelayCore
import BelayMonitoring
import Foundation
import Hummingbird

/// /api/v1/monitors: synthetic checks, their results and rollups; /api/v1/monitoring/stats.
struct MonitorsController {
    let store: any DetectStore
    let clock: any WallClock
    let scheduler: MonitorScheduler
    let baseURL: String
    let certificateFiles: CertificateFileAccess
    let targetCheck: MonitorTargetCheck

    static let maxPage = 500

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("monitors", use: list)
        group.post("monitors", use: create)
        group.get("monitors/:id", use: show)
        group.patch("monitors/:id", use: update)
        group.delete("monitors/:id", use: delete)
        group.post("monitors/:id/pause", use: pause)
        group.post("monitors/:id/resume", use: resume)
        group.post("monitors/:id/rotate-heartbeat", use: rotateHeartbeat)
        group.get("monitors/:id/results", use: results)
        group.get("monitors/:id/rollups", use: rollups)
        group.get("monitoring/stats", use: stats)
    }

    /// The heartbeat endpoint takes no bearer token: the token in its path is the secret.
    func addHeartbeatRoutes(to router: Router<AppRequestContext>) {
        router.post("api/v1/heartbeats/:token", use: heartbeat)
        router.get("api/v1/heartbeats/:token", use: heartbeat)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> MonitorListDTO {
        _ = try context.require(.viewer)
        let query = request.uri.queryParameters
        var monitorQuery = MonitorQuery()
        if let raw = query["limit"] {
            guard let limit = Int(raw), (1...Self.maxPage).contains(limit) else {
                throw APIError.badRequest("limit: expected a number from 1 to \(Self.maxPage)")
            }
            monitorQuery.limit = limit
        }
        if let raw = query["after"] {
            guard let after = Int64(raw), after >= 0 else { throw APIError.badRequest("after: expected a monitor id") }
            monitorQuery.after = after
        }
        if let raw = query["status"] {
            guard let status = MonitorStatus(rawValue: String(raw)) else {
                throw APIError.badRequest("status: expected one of \(MonitorStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            monitorQuery.status = status
        }
        if let raw = query["kind"] {
            guard let kind = MonitorKind(rawValue: String(raw)) else {
                throw APIError.badRequest("kind: expected one of \(MonitorKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            monitorQuery.kind = kind
        }
        if let text = query["q"] { monitorQuery.text = String(text.prefix(200)) }
        // One extra row tells whether another page follows.
        var fetch = monitorQuery
        fetch.limit += 1
        var monitors = try await store.monitors(fetch)
        let more = monitors.count > monitorQuery.limit
        if more { monitors.removeLast() }
        return MonitorListDTO(monitors: monitors.map { MonitorDTO($0, baseURL: baseURL) }, nextAfter: more ? monitors.last?.id : nil)
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> MonitorDTO {
        _ = try context.require(.viewer)
        return MonitorDTO(try await find(context), baseURL: baseURL)
    }

    func find(_ context: AppRequestContext) async throws -> Monitor {
        let id = try context.resourceID("monitor")
        guard let monitor = try await store.monitor(id: id) else { throw DomainError.notFound(what: "monitor", id: String(id)) }
        return monitor
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<MonitorDTO> {
        let token = try context.require(.responder)
        let input = try await request.decode(as: MonitorInput.self, context: context)
        let now = clock.now
        let paused = input.paused ?? false
        let secret = input.kind == .heartbeat ? WebSecrets.random() : nil
        let new = Monitor(
            name: input.name, kind: input.kind, settings: input.settings ?? MonitorSettings(), intervalSeconds: input.intervalSeconds ?? 60,
            timeoutSeconds: input.timeoutSeconds ?? min(10, input.intervalSeconds ?? 60), failureThreshold: input.failureThreshold ?? 2,
            successThreshold: input.successThreshold ?? 1, component: input.component, severity: input.severity ?? .sev2, isPaused: paused,
            heartbeatTokenHash: secret.map(TokenSecrets.hash), createdAt: now, updatedAt: now)
        try certificateFiles.check(new, role: token.role)
        try await targetCheck.check(new)
        let monitor = try await store.createMonitor(new)
        scheduler.monitorsChanged()
        return EditedResponse(status: .created, response: MonitorDTO(monitor, baseURL: baseURL, heartbeatSecret: secret))
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> MonitorDTO {
        let token = try context.require(.responder)
        let certificateFiles = certificateFiles
        let id = try context.resourceID("monitor")
        let patch = try await request.decode(as: MonitorPatch.self, context: context)
        let now = clock.now
        if let settings = patch.settings, var candidate = try await store.monitor(id: id) {
            candidate.settings = settings
            try await targetCheck.check(candidate)
        }
        let monitor = try await store.updateMonitor(id: id) { monitor in
            if let name = patch.name { monitor.name = name }
            if let settings = patch.settings { monitor.settings = settings }
            if let value = patch.intervalSeconds { monitor.intervalSeconds = value }
            if let value = patch.timeoutSeconds { monitor.timeoutSeconds = value }
            if let value = patch.failureThreshold { monitor.failureThreshold = value }
            if let value = patch.successThreshold { monitor.successThreshold = value }
            if let component = patch.component { monitor.component = component.isEmpty ? nil : component }
            if let severity = patch.severity { monitor.severity = severity }
            if let paused = patch.paused { Self.setPaused(&monitor, paused, now: now) }
            monitor.updatedAt = now
            if patch.settings != nil { try certificateFiles.check(monitor, role: token.role) }
        }
        scheduler.monitorsChanged()
        return MonitorDTO(monitor, baseURL: baseURL)
    }

    static func setPaused(_ monitor: inout Monitor, _ paused: Bool, now: Date) {
        guard paused != monitor.isPaused else { return }
        monitor.isPaused = paused
        monitor.state.status = paused ? .paused : .pending
        monitor.state.since = now
        monitor.state.consecutiveFailures = 0
        monitor.state.consecutiveSuccesses = 0
        monitor.state.failingSince = nil
    }

    @Sendable func pause(_ request: Request, context: AppRequestContext) async throws -> MonitorDTO {
        try await setPaused(true, context)
    }

    @Sendable func resume(_ request: Request, context: AppRequestContext) async throws -> MonitorDTO {
        try await setPaused(false, context)
    }

    private func setPaused(_ paused: Bool, _ context: AppRequestContext) async throws -> MonitorDTO {
        _ = try context.require(.responder)
        let id = try context.resourceID("monitor")
        let now = clock.now
        let monitor = try await store.updateMonitor(id: id) { monitor in
            Self.setPaused(&monitor, paused, now: now)
            monitor.updatedAt = now
        }
        scheduler.monitorsChanged()
        return MonitorDTO(monitor, baseURL: baseURL)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.require(.responder)
        try await store.deleteMonitor(id: try context.resourceID("monitor"))
        scheduler.monitorsChanged()
        return Response(status: .noContent)
    }

    @Sendable func results(_ request: Request, context: AppRequestContext) async throws -> CheckResultListDTO {
        _ = try context.require(.viewer)
        let monitor = try await find(context)
        var limit = 100
        if let raw = request.uri.queryParameters["limit"] {
            guard let value = Int(raw), (1...1000).contains(value) else { throw APIError.badRequest("limit: expected a number from 1 to 1000") }
            limit = value
        }
        return CheckResultListDTO(results: try await store.results(monitorID: monitor.id, limit: limit))
    }

    @Sendable func rollups(_ request: Request, context: AppRequestContext) async throws -> RollupListDTO {
        _ = try context.require(.viewer)
        let monitor = try await find(context)
        let query = request.uri.queryParameters
        let granularity: RollupGranularity
        if let raw = query["granularity"] {
            guard let value = RollupGranularity(rawValue: String(raw)) else { throw APIError.badRequest("granularity: expected minute, hour or day") }
            granularity = value
        } else {
            granularity = .hour
        }
        let defaultSpan: TimeInterval = granularity == .minute ? 3600 : granularity == .hour ? 86400 : 90 * 86400
        var since = clock.now.addingTimeInterval(-defaultSpan)
        if let raw = query["since"] {
            guard let date = BelayJSON.parseDate(String(raw)) else { throw APIError.badRequest("since: expected an RFC 3339 date-time") }
            since = date
        }
        let rollups = try await store.rollups(monitorIDs: [monitor.id], granularity: granularity, since: since)
        return RollupListDTO(granularity: granularity, rollups: rollups.map(RollupDTO.init))
    }

    @Sendable func stats(_ request: Request, context: AppRequestContext) async throws -> SchedulerStatsDTO {
        _ = try context.require(.viewer)
        return SchedulerStatsDTO(scheduler.stats())
    }

    /// A new heartbeat token, in this answer only; the old URL stops working.
    @Sendable func rotateHeartbeat(_ request: Request, context: AppRequestContext) async throws -> MonitorDTO {
        _ = try context.require(.responder)
        let id = try context.resourceID("monitor")
        let secret = WebSecrets.random()
        let now = clock.now
        let monitor = try await store.updateMonitor(id: id) { monitor in
            guard monitor.kind == .heartbeat else { throw DomainError.invalid(field: "monitor", message: "only heartbeat monitors have a token") }
            monitor.heartbeatTokenHash = TokenSecrets.hash(secret)
            monitor.updatedAt = now
        }
        return MonitorDTO(monitor, baseURL: baseURL, heartbeatSecret: secret)
    }

    @Sendable func heartbeat(_ request: Request, context: AppRequestContext) async throws -> HeartbeatDTO {
        let token = try context.parameters.require("token")
        guard token.utf8.count <= 128 else { throw DomainError.notFound(what: "heartbeat", id: "with this token") }
        let now = clock.now
        let monitor = try await store.recordHeartbeat(tokenHash: TokenSecrets.hash(token), at: now)
        scheduler.heartbeat(monitorID: monitor.id, at: now)
        return HeartbeatDTO(status: "ok", monitorId: monitor.id)
    }
}
