import BelayCore
@testable import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Every route the router has, against every kind of caller: who may use it is written down here once,
/// and a route added without an entry fails the test, so nobody adds an endpoint without deciding.
@Suite struct AuthorizationMatrixTests {
    /// Who may use a route.
    enum Access: Equatable {
        /// Anyone, signed in or not (the status page, sign-in pages).
        case everyone
        /// The secret is in the path or body (alert endpoints, heartbeats): no bearer token or session
        /// helps, and a wrong secret is a 404 or 400 for everyone.
        case secret
        /// A bearer token (API) or a session (app) with at least this role.
        case role(AccessRole)
    }

    /// "METHOD path" as the router writes it.
    static let table: [String: Access] = [
        // Public pages, feeds and the Statuspage JSON.
        "GET /": .everyone, "GET /history.atom": .everyone, "GET /history.rss": .everyone,
        "GET /api/v2/summary.json": .everyone, "GET /api/v2/status.json": .everyone, "GET /api/v2/components.json": .everyone,
        "GET /api/v2/incidents.json": .everyone, "GET /api/v2/incidents/unresolved.json": .everyone,
        "GET /api/v2/scheduled-maintenances.json": .everyone, "GET /api/v2/scheduled-maintenances/upcoming.json": .everyone,
        "GET /api/v2/scheduled-maintenances/active.json": .everyone, "GET /assets/app.js": .everyone, "GET /assets/belay.css": .everyone,
        "GET /assets/local-time.js": .everyone, "GET /assets/favicon.svg": .everyone, "GET /assets/{name}": .everyone,
        "GET /incidents/{id}": .everyone, "GET /history": .everyone,
        // Belay watched like any service: liveness and readiness for anyone; metrics with any token (or from
        // --metrics-allow addresses, which the harness has none of).
        "GET /healthz": .everyone, "GET /readyz": .everyone, "GET /metrics": .role(.viewer),
        "GET /api/v1/openapi.json": .everyone, "GET /api/v1/health": .everyone,
        // Secrets in the request.
        "POST /api/v1/integrations/{id}/alertmanager": .secret, "POST /api/v1/integrations/{id}/events": .secret,
        "POST /api/v1/integrations/{id}/changes": .secret, "POST /v2/enqueue": .secret,
        "GET /api/v1/heartbeats/{token}": .secret, "POST /api/v1/heartbeats/{token}": .secret,
        // The API.
        "GET /api/v1/components": .role(.viewer), "POST /api/v1/components": .role(.admin), "GET /api/v1/components/{slug}": .role(.viewer),
        "PATCH /api/v1/components/{slug}": .role(.admin), "DELETE /api/v1/components/{slug}": .role(.admin),
        "GET /api/v1/incidents": .role(.viewer), "POST /api/v1/incidents": .role(.responder), "GET /api/v1/incidents/{id}": .role(.viewer),
        "PATCH /api/v1/incidents/{id}": .role(.responder), "POST /api/v1/incidents/{id}/updates": .role(.responder),
        "POST /api/v1/incidents/{id}/timeline": .role(.responder), "POST /api/v1/incidents/{id}/resolve": .role(.responder),
        "POST /api/v1/incidents/{id}/status": .role(.responder), "PUT /api/v1/incidents/{id}/impact": .role(.responder),
        "POST /api/v1/incidents/{id}/reopen": .role(.responder), "PATCH /api/v1/incidents/{id}/roles": .role(.responder),
        "PUT /api/v1/incidents/{id}/milestones/{milestone}": .role(.responder), "GET /api/v1/incidents/{id}/timeline": .role(.viewer),
        "POST /api/v1/incidents/{id}/hold": .role(.responder), "GET /api/v1/incidents/{id}/signals": .role(.viewer),
        "GET /api/v1/incidents/{id}/suspects": .role(.viewer),
        "GET /api/v1/maintenance": .role(.viewer), "POST /api/v1/maintenance": .role(.responder), "GET /api/v1/maintenance/{id}": .role(.viewer),
        "POST /api/v1/maintenance/{id}/updates": .role(.responder), "POST /api/v1/maintenance/{id}/start": .role(.responder),
        "POST /api/v1/maintenance/{id}/complete": .role(.responder), "POST /api/v1/maintenance/{id}/cancel": .role(.responder),
        "GET /api/v1/severities": .role(.viewer), "PUT /api/v1/severities/{level}": .role(.admin),
        "GET /api/v1/events": .role(.admin),
        "GET /api/v1/tokens": .role(.admin), "POST /api/v1/tokens": .role(.admin), "DELETE /api/v1/tokens/{id}": .role(.admin),
        "GET /api/v1/monitors": .role(.viewer), "POST /api/v1/monitors": .role(.responder), "GET /api/v1/monitors/{id}": .role(.viewer),
        "PATCH /api/v1/monitors/{id}": .role(.responder), "DELETE /api/v1/monitors/{id}": .role(.responder),
        "POST /api/v1/monitors/{id}/pause": .role(.responder), "POST /api/v1/monitors/{id}/resume": .role(.responder),
        "POST /api/v1/monitors/{id}/rotate-heartbeat": .role(.responder), "GET /api/v1/monitors/{id}/results": .role(.viewer),
        "GET /api/v1/monitors/{id}/rollups": .role(.viewer), "GET /api/v1/monitoring/stats": .role(.viewer),
        "GET /api/v1/integrations": .role(.admin), "POST /api/v1/integrations": .role(.admin), "GET /api/v1/integrations/{id}": .role(.admin),
        "PATCH /api/v1/integrations/{id}": .role(.admin), "DELETE /api/v1/integrations/{id}": .role(.admin),
        "POST /api/v1/integrations/{id}/rotate-key": .role(.admin), "GET /api/v1/signals": .role(.viewer),
        "GET /api/v1/changes": .role(.viewer), "POST /api/v1/changes": .role(.responder), "GET /api/v1/changes/{id}": .role(.viewer),
        "PATCH /api/v1/changes/{id}": .role(.responder), "GET /api/v1/changes/check": .role(.viewer),
        "GET /api/v1/map": .role(.viewer), "PUT /api/v1/map/nodes/{slug}": .role(.admin), "DELETE /api/v1/map/nodes/{slug}": .role(.admin),
        "GET /api/v1/map/blast-radius/{slug}": .role(.viewer), "GET /api/v1/freezes": .role(.viewer), "POST /api/v1/freezes": .role(.admin),
        "POST /api/v1/freezes/{id}/end": .role(.admin),
        "GET /api/v1/channels": .role(.admin), "POST /api/v1/channels": .role(.admin), "GET /api/v1/channels/{id}": .role(.admin),
        "PATCH /api/v1/channels/{id}": .role(.admin), "DELETE /api/v1/channels/{id}": .role(.admin),
        "POST /api/v1/channels/{id}/test": .role(.admin), "POST /api/v1/channels/{id}/rotate-secret": .role(.admin),
        "GET /api/v1/deliveries": .role(.admin), "GET /api/v1/deliveries/{id}": .role(.admin), "POST /api/v1/deliveries/{id}/resend": .role(.admin),
        "GET /api/v1/notifications/health": .role(.viewer), "GET /api/v1/status-mirror": .role(.admin),
        "GET /api/v1/subscribers": .role(.admin), "POST /api/v1/subscribers": .role(.admin), "DELETE /api/v1/subscribers/{id}": .role(.admin),
        "GET /api/v1/subscribers/export": .role(.admin), "POST /api/v1/subscribers/import": .role(.admin),
        "POST /api/v1/subscribers/bounces": .role(.admin),
        // Status page subscriptions: anyone may ask; the links in emails carry the subscriber's token.
        "POST /subscribe": .everyone, "GET /subscriptions/confirm": .secret, "POST /subscriptions/confirm": .secret,
        "GET /subscriptions/manage": .secret, "POST /subscriptions/manage": .secret, "GET /subscriptions/unsubscribe": .secret,
        "POST /subscriptions/unsubscribe": .secret,
        // The web app.
        "GET /app/setup": .everyone, "POST /app/setup": .everyone, "GET /app/sign-in": .everyone, "POST /app/sign-in": .everyone,
        "POST /app/sign-out": .everyone, "GET /app/invite/{token}": .secret, "POST /app/invite/{token}": .secret,
        "GET /app/account": .role(.viewer), "POST /app/account/password": .role(.viewer),
        "GET /app": .role(.viewer), "GET /app/components": .role(.viewer), "POST /app/components": .role(.admin),
        "GET /app/components/{slug}": .role(.admin), "POST /app/components/{slug}": .role(.admin), "POST /app/components/{slug}/delete": .role(.admin),
        "GET /app/maintenance": .role(.viewer), "POST /app/maintenance": .role(.responder), "POST /app/maintenance/{id}/{action}": .role(.responder),
        "GET /app/users": .role(.admin), "POST /app/users": .role(.admin), "POST /app/users/{id}/role": .role(.admin),
        "POST /app/users/{id}/disable": .role(.admin), "POST /app/users/{id}/enable": .role(.admin),
        "GET /app/tokens": .role(.admin), "POST /app/tokens": .role(.admin), "POST /app/tokens/{id}/revoke": .role(.admin),
        "GET /app/incidents/new": .role(.responder), "POST /app/incidents": .role(.responder), "GET /app/incidents/{id}": .role(.viewer),
        "GET /app/incidents/{id}/live": .role(.viewer), "GET /app/incidents/{id}/events": .role(.viewer),
        "POST /app/incidents/{id}/updates": .role(.responder), "POST /app/incidents/{id}/notes": .role(.responder),
        "POST /app/incidents/{id}/roles": .role(.responder), "POST /app/incidents/{id}/milestones": .role(.responder),
        "POST /app/incidents/{id}/hold": .role(.responder), "POST /app/incidents/{id}/status": .role(.responder),
        "POST /app/incidents/{id}/severity": .role(.responder),
        "POST /app/incidents/{id}/reopen": .role(.responder), "POST /app/incidents/{id}/visibility": .role(.responder), "GET /app/map": .role(.viewer), "GET /app/changes": .role(.viewer),
        "GET /app/monitors": .role(.viewer), "POST /app/monitors": .role(.responder), "GET /app/monitors/{id}": .role(.viewer),
        "POST /app/monitors/{id}/{action}": .role(.responder), "GET /app/integrations": .role(.admin), "POST /app/integrations": .role(.admin),
        "POST /app/integrations/{id}/{action}": .role(.admin), "GET /app/notifications": .role(.admin),
        "POST /app/notifications/channels": .role(.admin), "POST /app/notifications/channels/{id}/{action}": .role(.admin),
        "POST /app/notifications/deliveries/{id}/resend": .role(.admin),
    ]

    /// A HEAD route is the public page's GET without its body: the same entry.
    static func access(_ route: String) -> Access? {
        route.hasPrefix("HEAD ") ? table["GET " + route.dropFirst(5)] : table[route]
    }

    /// Who calls.
    enum Caller: String, CaseIterable {
        case anonymous, viewer, responder, admin, revokedToken, disabledUser, integrationKey

        var role: AccessRole? {
            switch self {
            case .viewer: return .viewer
            case .responder: return .responder
            case .admin: return .admin
            case .anonymous, .revokedToken, .disabledUser, .integrationKey: return nil
            }
        }
    }

    /// Fills a route's parameters with values that exist nowhere, so an allowed call ends in 404 or 422
    /// after its role check and changes nothing the next call depends on.
    static func concrete(_ path: String) -> String {
        path.replacingOccurrences(of: "{id}", with: "999999").replacingOccurrences(of: "{slug}", with: "no-such-thing")
            .replacingOccurrences(of: "{token}", with: "no-such-token").replacingOccurrences(of: "{action}", with: "pause")
            .replacingOccurrences(of: "{milestone}", with: "detectedAt").replacingOccurrences(of: "{level}", with: "sev1")
            .replacingOccurrences(of: "{file}", with: "belay.css")
    }

    @Test func everyRouteHasAnEntryAndEveryCallerGetsWhatTheEntrySays() async throws {
        let harness = try await Harness.make()
        let now = harness.clock.now
        let database = harness.database
        // A session per role for the app, a token per role for the API (the harness has those).
        var users: [Caller: User] = [:]
        for caller in [Caller.viewer, .responder, .admin, .disabledUser] {
            users[caller] = try await database.createUser(
                User(name: caller.rawValue, email: "\(caller.rawValue)@example.com", role: caller.role ?? .admin, passwordHash: "x", createdAt: now, updatedAt: now))
        }
        let disabled = try #require(users[.disabledUser])
        let sessionUsers = users
        let revoked = try await TokenSecrets.issue(name: "gone", role: .admin, store: database, now: now)
        _ = try await database.revokeToken(id: revoked.0.id, now: now)
        let integrationKey = String(repeating: "ab", count: 16)
        _ = try await database.createIntegration(
            Integration(name: "prom", kind: .alertmanager, keyHash: TokenSecrets.hash(integrationKey), keyHint: "abab", createdAt: now, updatedAt: now))

        try await harness.run { client, _ in
            let app = try await BelayApp.build(store: database, configuration: harness.configuration, clock: harness.clock, logger: harness.logger)
            let routes = app.router.routes.map { "\($0.method.rawValue) \($0.path.description)" }
            let missing = routes.filter { Self.access($0) == nil }.sorted()
            #expect(missing == [], "routes without an entry in the authorization table: decide who may use them")
            let gone = Set(Self.table.keys).subtracting(routes.map { $0.replacingOccurrences(of: "HEAD ", with: "GET ") }).sorted()
            #expect(gone == [], "entries for routes the server no longer has")

            /// Signs the user in afresh for each request, since some requests (sign-out) end every session.
            func session(_ user: User) async throws -> (cookie: String, csrf: String) {
                let secret = WebSecrets.random()
                let csrf = WebSecrets.random()
                _ = try await database.createSession(
                    WebSession(tokenHash: TokenSecrets.hash(secret), userID: user.id, csrfToken: csrf, createdAt: now, lastSeenAt: now))
                return ("\(WebSecrets.sessionCookie)=\(secret)", csrf)
            }
            _ = try await database.updateUser(id: disabled.id, keepingSession: nil) { $0.disabledAt = now }

            var checked = 0
            for route in routes.sorted() {
                guard let access = Self.access(route) else { continue }
                let parts = route.split(separator: " ", maxSplits: 1)
                let method = HTTPRequest.Method(String(parts[0]))!
                let path = Self.concrete(String(parts[1]))
                let isApp = path.hasPrefix("/app")
                for caller in Caller.allCases {
                    var headers: HTTPFields = [:]
                    var body: ByteBuffer?
                    if isApp {
                        var csrf = "none"
                        if let user = sessionUsers[caller] {
                            let signedIn = try await session(user)
                            headers[.cookie] = signedIn.cookie
                            csrf = signedIn.csrf
                        }
                        if method == .post {
                            headers[.contentType] = "application/x-www-form-urlencoded"
                            body = ByteBuffer(string: "_csrf=\(csrf)")
                        }
                    } else {
                        switch caller {
                        case .viewer: headers[.authorization] = "Bearer \(harness.viewer)"
                        case .responder: headers[.authorization] = "Bearer \(harness.responder)"
                        case .admin: headers[.authorization] = "Bearer \(harness.admin)"
                        case .revokedToken: headers[.authorization] = "Bearer \(revoked.1)"
                        case .integrationKey: headers[.authorization] = "Bearer \(integrationKey)"
                        case .anonymous, .disabledUser: break
                        }
                        if method != .get && method != .delete {
                            headers[.contentType] = "application/json"
                            body = ByteBuffer(string: "{}")
                        }
                    }
                    // No incident 999999 exists, so even the war room's event stream answers at once.
                    let response = try await client.execute(uri: path, method: method, headers: headers, body: body)
                    let status = response.status.code
                    let deniedStatuses: Set<Int> = [401, 403]
                    let toSignIn = status == 303 && (response.headers[.location]?.hasPrefix("/app/sign-in") ?? false)
                    let denied = deniedStatuses.contains(status) || toSignIn
                    let label = "\(route) as \(caller.rawValue): \(status)"
                    #expect(status < 500, Comment(rawValue: "\(label) \(String(buffer: response.body).prefix(200))"))
                    switch access {
                    case .everyone:
                        // Credentials that are no good may be refused on the API even where none are needed. The app's
                        // pages before signing in have no role check, but gates of their own (setup is done once; their
                        // forms need the CSRF cookie they set), so only the server's health is checked there.
                        if !isApp && (caller == .anonymous || caller.role != nil) { #expect(!denied, Comment(rawValue: label)) }
                    case .secret:
                        #expect(!deniedStatuses.contains(status) || (!isApp && caller.role == nil && caller != .anonymous), Comment(rawValue: label))
                    case .role(let needed):
                        if let role = caller.role, role.allows(needed) {
                            #expect(!denied, Comment(rawValue: label))
                        } else {
                            #expect(denied, Comment(rawValue: label + " should have been refused"))
                        }
                    }
                    checked += 1
                }
            }
            #expect(checked >= routes.count * Caller.allCases.count)
        }
    }
}
