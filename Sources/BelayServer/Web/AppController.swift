import BelayCore
import Foundation
import Hummingbird
import HummingbirdBcrypt

/// The web app's other pages: home, components, maintenance, users and API tokens.
struct AppController {
    let store: any ComponentStore & IncidentStore & MaintenanceStore & AccountStore & TokenStore & NotificationStore
    let clock: any WallClock
    let configuration: ServerConfiguration
    let renderer: WebRenderer
    let linkOrigin: LinkOrigin
    /// What the status page mirror last did; nil without `--status-mirror`.
    var statusMirror: StatusMirrorHealth? = nil

    func addRoutes(to app: RouterGroup<AppRequestContext>) {
        app.get("", use: home)
        app.get("components", use: componentsPage)
        app.post("components", use: addComponent)
        app.get("components/:slug", use: componentPage)
        app.post("components/:slug", use: saveComponent)
        app.post("components/:slug/delete", use: deleteComponent)
        app.get("maintenance", use: maintenancePage)
        app.post("maintenance", use: schedule)
        app.post("maintenance/:id/:action", use: moveMaintenance)
        app.get("users", use: usersPage)
        app.post("users", use: invite)
        app.post("users/:id/role", use: changeRole)
        app.post("users/:id/disable", use: disable)
        app.post("users/:id/enable", use: enable)
        app.get("tokens", use: tokensPage)
        app.post("tokens", use: createToken)
        app.post("tokens/:id/revoke", use: revokeToken)
    }

    /// Shows a refused form's reason on the page it came back to.
    static func failure(_ path: String, _ error: DomainError) -> WebRedirect {
        WebRedirect(location: "\(path)?error=\(error.message.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
    }

    // MARK: Home

    @Sendable func home(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.viewer, request: request)
        let now = clock.now
        let open = try await store.incidents(IncidentQuery(openOnly: true)).sorted { ($0.severity, $1.createdAt) < ($1.severity, $0.createdAt) }
        let statuses = try await store.componentStatuses(at: clock.now)
        let degraded = try await store.components().filter { (statuses[$0.slug] ?? .operational) != .operational }
        let upcoming = try await store.maintenances(MaintenanceQuery(endingAfter: now)).filter { !$0.effectiveStatus(at: now).isFinished }
            .sorted { $0.scheduledStart < $1.scheduledStart }
        let recent = try await store.incidents(IncidentQuery(limit: 20)).filter { !$0.isOpen }
        var page = AppHomePage(
            chrome: AppChrome(context, request, title: "Incidents"), open: open, degraded: degraded, statuses: statuses, upcoming: upcoming,
            recent: recent, now: now)
        page.notificationProblems = try await notificationProblems()
        page.hasNotificationProblems = !page.notificationProblems.isEmpty
        page.statusMirrorProblems = statusMirror?.current.problems ?? []
        page.hasStatusMirrorProblems = !page.statusMirrorProblems.isEmpty
        return try renderer.page(page)
    }

    /// Never silent: a channel that fails, a dead letter, or a missing public URL shows on the home page.
    func notificationProblems() async throws -> [String] {
        let health = try await NotificationHealth.read(store: store, configuration: configuration)
        var problems = health.failingChannels.map { "Channel \($0.name) is failing: \($0.reason)" }
        if health.deadLetters > 0 {
            problems.append("\(health.deadLetters) \(health.deadLetters == 1 ? "message was" : "messages were") not delivered after every retry.")
        }
        if !health.publicURLConfigured {
            problems.append("Notifications are off: start Belay with --public-url so messages can link back to it.")
        }
        return problems
    }

    // MARK: Components

    @Sendable func componentsPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.viewer, request: request)
        let statuses = try await store.componentStatuses(at: clock.now)
        let components = try await store.components()
        return try renderer.page(ComponentsPage(chrome: AppChrome(context, request, title: "Components"), components: components, statuses: statuses))
    }

    @Sendable func addComponent(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        let now = clock.now
        do {
            _ = try await store.createComponent(
                Component(
                    slug: form["slug"] ?? "", name: form["name"] ?? "", description: form["description"] ?? "", group: form.text("group"),
                    isPublic: form["internal"] == nil, automaticIncidentsPublic: form["automaticPublic"] != nil, dependsOn: form.all("dependsOn"),
                    createdAt: now, updatedAt: now))
        } catch let error as DomainError {
            throw Self.failure("/app/components", error)
        }
        throw WebRedirect(location: "/app/components")
    }

    @Sendable func componentPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        let slug = try context.parameters.require("slug")
        let all = try await store.components()
        guard let component = all.first(where: { $0.slug == slug }) else { throw DomainError.notFound(what: "component", id: slug) }
        return try renderer.page(ComponentEditPage(chrome: AppChrome(context, request, title: "Edit \(component.name)"), component: component, all: all))
    }

    @Sendable func saveComponent(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        let slug = try context.parameters.require("slug")
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        let now = clock.now
        do {
            let position = Int(form["position"] ?? "0") ?? Int.max
            _ = try await store.updateComponent(slug: slug) { component in
                component.name = form["name"] ?? ""
                component.description = form["description"] ?? ""
                component.group = form.text("group")
                component.isPublic = form["internal"] == nil
                component.automaticIncidentsPublic = form["automaticPublic"] != nil
                component.position = position
                component.dependsOn = form.all("dependsOn")
                component.updatedAt = now
            }
        } catch let error as DomainError {
            if case .notFound = error { throw error }
            throw Self.failure("/app/components/\(slug)", error)
        }
        throw WebRedirect(location: "/app/components")
    }

    @Sendable func deleteComponent(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        let slug = try context.parameters.require("slug")
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        do {
            try await store.deleteComponent(slug: slug)
        } catch let error as DomainError {
            if case .notFound = error { throw error }
            throw Self.failure("/app/components/\(slug)", error)
        }
        throw WebRedirect(location: "/app/components")
    }

    // MARK: Maintenance

    @Sendable func maintenancePage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.viewer, request: request)
        let now = clock.now
        let names = Dictionary(uniqueKeysWithValues: try await store.components().map { ($0.slug, $0.name) })
        let windows = try await store.maintenances(MaintenanceQuery())
        return try renderer.page(MaintenancePage(chrome: AppChrome(context, request, title: "Maintenance"), windows: windows, names: names, now: now))
    }

    @Sendable func schedule(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser(.responder, request: request)
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        do {
            let draft = MaintenanceDraft(
                title: form["title"] ?? "", description: form["description"] ?? "", components: form.all("components"),
                scheduledStart: try DateInput.parse(form["start"] ?? "", field: "start"),
                scheduledEnd: try DateInput.parse(form["end"] ?? "", field: "end"), isPublic: form["internal"] == nil)
            _ = try await store.scheduleMaintenance(draft, author: user.name, now: clock.now)
        } catch let error as DomainError {
            throw Self.failure("/app/maintenance", error)
        }
        throw WebRedirect(location: "/app/maintenance")
    }

    @Sendable func moveMaintenance(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser(.responder, request: request)
        let id = try context.resourceID("maintenance")
        let target: MaintenanceStatus
        switch try context.parameters.require("action") {
        case "start": target = .inProgress
        case "complete": target = .completed
        case "cancel": target = .cancelled
        case let other: throw DomainError.notFound(what: "action", id: other)
        }
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        let now = clock.now
        do {
            _ = try await store.updateMaintenance(id: id) { window in
                try window.transition(to: target, message: form.text("message"), author: user.name, now: now)
            }
        } catch let error as DomainError {
            if case .notFound = error { throw error }
            throw Self.failure("/app/maintenance", error)
        }
        throw WebRedirect(location: "/app/maintenance")
    }

    // MARK: Users

    @Sendable func usersPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        return try renderer.page(try await usersView(context, request))
    }

    /// The user list and invite form; `inviteLink` is an invitation just made.
    func usersView(_ context: AppRequestContext, _ request: Request, inviteLink: String? = nil) async throws -> UsersPage {
        UsersPage(chrome: AppChrome(context, request, title: "Users"), users: try await store.users(), me: context.user?.id, inviteLink: inviteLink)
    }

    @Sendable func invite(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        let now = clock.now
        do {
            guard let role = AccessRole(rawValue: form["role"] ?? "") else { throw DomainError.invalid(field: "role", message: "choose a role") }
            // Decided before anyone is created, so a refused link leaves no invitation nobody can accept.
            let origin: String
            switch linkOrigin.resolve(authority: request.head.authority) {
            case .origin(let value): origin = value
            case .refused(let reason): throw DomainError.invalid(field: "invitation", message: reason)
            }
            let secret = WebSecrets.random()
            // The user and their invitation are one write: a failure leaves neither behind.
            _ = try await store.inviteUser(
                User(name: form["name"] ?? "", email: form["email"] ?? "", role: role, createdAt: now, updatedAt: now),
                tokenHash: TokenSecrets.hash(secret), expiresAt: now.addingTimeInterval(7 * 86400))
            // The link is shown once, in this response (never in a URL that lands in history); only its hash is stored.
            return try renderer.page(try await usersView(context, request, inviteLink: "\(origin)/app/invite/\(secret)"), status: .created)
        } catch let error as DomainError {
            throw Self.failure("/app/users", error)
        }
    }

    func updateUser(_ request: Request, _ context: AppRequestContext, _ change: @escaping @Sendable (inout User, FormData, Date) throws -> Void) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        let id = try context.resourceID("user")
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        let now = clock.now
        do {
            _ = try await store.updateUser(id: id, keepingSession: nil) { user in try change(&user, form, now) }
        } catch let error as DomainError {
            if case .notFound = error { throw error }
            throw Self.failure("/app/users", error)
        }
        throw WebRedirect(location: "/app/users")
    }

    @Sendable func changeRole(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await updateUser(request, context) { user, form, now in
            guard let role = AccessRole(rawValue: form["role"] ?? "") else { throw DomainError.invalid(field: "role", message: "choose a role") }
            user.role = role
            user.updatedAt = now
        }
    }

    @Sendable func disable(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await updateUser(request, context) { user, _, now in
            user.disabledAt = now
            user.updatedAt = now
        }
    }

    @Sendable func enable(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await updateUser(request, context) { user, _, now in
            user.disabledAt = nil
            user.updatedAt = now
        }
    }

    // MARK: API tokens

    @Sendable func tokensPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        return try renderer.page(TokensPage(chrome: AppChrome(context, request, title: "API tokens"), tokens: try await store.tokens()))
    }

    @Sendable func createToken(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        do {
            guard let role = AccessRole(rawValue: form["role"] ?? "") else { throw DomainError.invalid(field: "role", message: "choose a role") }
            let (token, secret) = try await TokenSecrets.issue(name: form["name"] ?? "", role: role, store: store, now: clock.now)
            // Shown in the response itself, never in a URL, and never again.
            let page = TokensPage(
                chrome: AppChrome(context, request, title: "API tokens"), tokens: try await store.tokens(), newToken: secret, newTokenName: token.name)
            return try renderer.page(page, status: .created)
        } catch let error as DomainError {
            throw Self.failure("/app/tokens", error)
        }
    }

    @Sendable func revokeToken(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        let id = try context.resourceID("token")
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        do {
            _ = try await store.revokeToken(id: id, now: clock.now)
        } catch let error as DomainError {
            if case .notFound = error { throw error }
            throw Self.failure("/app/tokens", error)
        }
        throw WebRedirect(location: "/app/tokens")
    }
}
