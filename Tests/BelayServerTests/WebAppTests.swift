import BelayCore
@testable import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// A browser's cookie jar and form posting, enough to drive the web app through the router.
struct Browser {
    let client: any TestClientProtocol
    var cookies: [String: String] = [:]

    mutating func remember(_ response: TestResponse) {
        for field in response.headers[values: .setCookie] {
            let pair = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            let name = String(pair[0])
            let value = pair.count > 1 ? String(pair[1]) : ""
            if value.isEmpty || field.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
    }

    var cookieHeader: HTTPFields {
        cookies.isEmpty ? [:] : [.cookie: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
    }

    mutating func get(_ path: String) async throws -> TestResponse {
        let response = try await client.execute(uri: path, method: .get, headers: cookieHeader)
        remember(response)
        return response
    }

    mutating func post(_ path: String, _ fields: [(String, String)]) async throws -> TestResponse {
        var headers = cookieHeader
        headers[.contentType] = "application/x-www-form-urlencoded"
        let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        let response = try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
        remember(response)
        return response
    }

    /// The hidden CSRF value in the last page's first form.
    static func csrf(in page: TestResponse) throws -> String {
        let text = String(buffer: page.body)
        let range = try #require(text.range(of: #"name="_csrf" value="[^"]*""#, options: .regularExpression))
        return String(text[range].dropFirst(#"name="_csrf" value=""#.count).dropLast())
    }
}

@Suite struct WebAppTests {
    static let password = "correct horse battery"

    /// Sets Belay up through the first-run page and returns a browser signed in as the first admin.
    static func setUp(_ client: any TestClientProtocol, _ harness: Harness) async throws -> Browser {
        let code = try #require(try await BelayApp.firstRunSetupCode(store: harness.database, now: harness.clock.now))
        var browser = Browser(client: client)
        let page = try await browser.get("/app/setup?code=\(code)")
        #expect(page.status == .ok)
        let done = try await browser.post(
            "/app/setup", [("_csrf", try Browser.csrf(in: page)), ("code", code), ("name", "Dana Admin"), ("email", "Dana@Example.com"), ("password", password)])
        #expect(done.status == .seeOther, "\(String(buffer: done.body))")
        #expect(done.headers[.location] == "/app")
        return browser
    }

    @Test func setupCreatesTheFirstAdminOnceAndSignsThemIn() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            var browser = try await Self.setUp(client, harness)
            let cookie = try #require(try await client.execute(uri: "/app/sign-in", method: .get).headers[values: .setCookie].first)
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure"))
            let home = try await browser.get("/app")
            #expect(home.status == .ok)
            #expect(String(buffer: home.body).contains("Dana Admin"))
            #expect(try await harness.database.user(email: "dana@example.com")?.role == .admin)
            // The code is spent: the page now sends people to sign in.
            var stranger = Browser(client: client)
            #expect(try await stranger.get("/app/setup?code=anything").status == .seeOther)
        }
    }

    @Test func pagesNeedASessionAndFormsNeedTheSessionsCSRFToken() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            var anonymous = Browser(client: client)
            let redirected = try await anonymous.get("/app/incidents/new")
            #expect(redirected.status == .seeOther)
            #expect(redirected.headers[.location]?.hasPrefix("/app/sign-in") == true)
            #expect(try await anonymous.post("/app/incidents", [("title", "x"), ("severity", "sev1")]).status == .unauthorized)

            var browser = try await Self.setUp(client, harness)
            let forged = try await browser.post("/app/incidents", [("_csrf", "forged"), ("title", "x"), ("severity", "sev1")])
            #expect(forged.status == .forbidden)
            #expect(try await harness.database.incidents(.init()).isEmpty)
            let form = try await browser.get("/app/incidents/new")
            let declared = try await browser.post(
                "/app/incidents", [("_csrf", try Browser.csrf(in: form)), ("title", "Checkout failing"), ("severity", "sev1"), ("message", "Investigating")])
            #expect(declared.status == .seeOther)
            let location = try #require(declared.headers[.location])
            let room = try await browser.get(location)
            #expect(String(buffer: room.body).contains("Checkout failing"))
            #expect(room.headers[.contentSecurityPolicy]?.contains("unsafe-inline") == false)
            #expect(room.headers[.cacheControl] == "no-store")
        }
    }

    @Test func tenFailedSignInsForAnAccountAnswer429() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            _ = try await Self.setUp(client, harness)
            var browser = Browser(client: client)
            let page = try await browser.get("/app/sign-in")
            let csrf = try Browser.csrf(in: page)
            for _ in 0..<10 {
                let wrong = try await browser.post("/app/sign-in", [("_csrf", csrf), ("email", "dana@example.com"), ("password", "wrong password")])
                #expect(wrong.status == .unauthorized)
            }
            let blocked = try await browser.post("/app/sign-in", [("_csrf", csrf), ("email", "dana@example.com"), ("password", Self.password)])
            #expect(blocked.status == .tooManyRequests)
            // Fifteen minutes later the account may try again.
            harness.clock.advance(by: 15 * 60 + 1)
            let allowed = try await browser.post("/app/sign-in", [("_csrf", csrf), ("email", "dana@example.com"), ("password", Self.password)])
            #expect(allowed.status == .seeOther)
        }
    }

    @Test func signOutEndsEverySessionAndIdleSessionsExpire() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            var first = try await Self.setUp(client, harness)
            var second = Browser(client: client)
            let page = try await second.get("/app/sign-in")
            #expect(try await second.post("/app/sign-in", [("_csrf", try Browser.csrf(in: page)), ("email", "dana@example.com"), ("password", Self.password)]).status == .seeOther)
            #expect(try await second.get("/app").status == .ok)
            let home = try await first.get("/app")
            #expect(try await first.post("/app/sign-out", [("_csrf", try Browser.csrf(in: home))]).status == .seeOther)
            #expect(try await second.get("/app").status == .seeOther, "signing out in one browser signs out the other")

            var third = Browser(client: client)
            let again = try await third.get("/app/sign-in")
            _ = try await third.post("/app/sign-in", [("_csrf", try Browser.csrf(in: again)), ("email", "dana@example.com"), ("password", Self.password)])
            #expect(try await third.get("/app").status == .ok)
            harness.clock.advance(by: 13 * 3600)
            #expect(try await third.get("/app").status == .seeOther, "12 hours idle ends the session")
        }
    }

    @Test func roleAndPasswordChangesApplyToOpenSessionsAtOnce() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            var admin = try await Self.setUp(client, harness)
            let users = try await admin.get("/app/users")
            let invited = try await admin.post("/app/users", [("_csrf", try Browser.csrf(in: users)), ("name", "Lee Responder"), ("email", "lee@example.com"), ("role", "responder")])
            #expect(invited.status == .created)
            let body = String(buffer: invited.body)
            let link = try #require(body.range(of: #"/app/invite/[A-Za-z0-9_-]+"#, options: .regularExpression))
            let token = String(body[link].split(separator: "/").last!)
            #expect(body.contains("https://status.example.com/app/invite/\(token)"), "the link uses the public address")
            var lee = Browser(client: client)
            let welcome = try await lee.get("/app/invite/\(token)")
            #expect(welcome.status == .ok)
            #expect(try await lee.post("/app/invite/\(token)", [("_csrf", try Browser.csrf(in: welcome)), ("password", "another long password")]).status == .seeOther)
            #expect(try await lee.get("/app/incidents/new").status == .ok)
            #expect(try await lee.get("/app/invite/\(token)").status == .notFound, "an invitation works once")

            // Made a viewer: the very next request can no longer declare.
            let leeID = try #require(try await harness.database.user(email: "lee@example.com")?.id)
            let list = try await admin.get("/app/users")
            #expect(try await admin.post("/app/users/\(leeID)/role", [("_csrf", try Browser.csrf(in: list)), ("role", "viewer")]).status == .seeOther)
            #expect(try await lee.get("/app/incidents/new").status == .forbidden)

            // A new password signs out Lee's other sessions, but keeps the one that changed it.
            var leeElsewhere = Browser(client: client)
            let signIn = try await leeElsewhere.get("/app/sign-in")
            _ = try await leeElsewhere.post("/app/sign-in", [("_csrf", try Browser.csrf(in: signIn)), ("email", "lee@example.com"), ("password", "another long password")])
            #expect(try await leeElsewhere.get("/app").status == .ok)
            let account = try await lee.get("/app/account")
            let changed = try await lee.post(
                "/app/account/password", [("_csrf", try Browser.csrf(in: account)), ("current", "another long password"), ("password", "a third long password")])
            #expect(changed.status == .seeOther)
            #expect(try await lee.get("/app").status == .ok)
            #expect(try await leeElsewhere.get("/app").status == .seeOther)

            // Disabled: out at once.
            let list2 = try await admin.get("/app/users")
            _ = try await admin.post("/app/users/\(leeID)/disable", [("_csrf", try Browser.csrf(in: list2))])
            #expect(try await lee.get("/app").status == .seeOther)
        }
    }

    @Test func aResponderRunsAnIncidentFromTheWarRoom() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, publisher in
            var browser = try await Self.setUp(client, harness)
            let components = try await browser.get("/app/components")
            _ = try await browser.post("/app/components", [("_csrf", try Browser.csrf(in: components)), ("slug", "api"), ("name", "API"), ("group", "Core")])
            let form = try await browser.get("/app/incidents/new")
            let declared = try await browser.post(
                "/app/incidents",
                [("_csrf", try Browser.csrf(in: form)), ("title", "Elevated errors"), ("severity", "sev2"), ("components", "api"), ("impact", "partial_outage"), ("message", "Investigating errors")])
            let room = try #require(declared.headers[.location])
            var page = try await browser.get(room)
            let csrf = try Browser.csrf(in: page)
            #expect(try await browser.post("\(room)/updates", [("_csrf", csrf), ("status", "identified"), ("message", "Expired certificate")]).status == .seeOther)
            #expect(try await browser.post("\(room)/roles", [("_csrf", csrf), ("commander", "Dana"), ("communications", ""), ("scribe", "Lee")]).status == .seeOther)
            #expect(try await browser.post("\(room)/milestones", [("_csrf", csrf), ("impactStartedAt", "2026-09-21T13:00")]).status == .seeOther)
            #expect(try await browser.post("\(room)/notes", [("_csrf", csrf), ("text", "Rotating the certificate now")]).status == .seeOther)
            let refused = try await browser.post("\(room)/milestones", [("_csrf", csrf), ("mitigatedAt", "2020-01-01T00:00")])
            #expect(refused.headers[.location]?.contains("error=") == true, "an out-of-order milestone is refused with a reason")
            #expect(try await browser.post("\(room)/status", [("_csrf", csrf), ("status", "resolved")]).status == .seeOther)

            let incident = try #require(try await harness.database.incidents(.init()).first)
            #expect(incident.status == .resolved)
            #expect(incident.roles.commander == "Dana" && incident.roles.scribe == "Lee")
            #expect(incident.milestones.impactStartedAt == BelayJSON.parseDate("2026-09-21T13:00:00Z"))
            let timeline = try await harness.database.timeline(incidentID: incident.id)
            #expect(timeline.contains { $0.kind == .note && $0.author == "Dana Admin" })
            page = try await browser.get(room)
            #expect(String(buffer: page.body).contains("Reopen"))
            try await publisher.rebuild()
            #expect(String(buffer: try await client.execute(uri: "/incidents/\(incident.id)", method: .get).body).contains("Expired certificate"))
        }
    }
}

@Suite struct WebComponentTests {
    @Test func adminsEditDependenciesAndDeletionNeverLosesHistory() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            var browser = try await WebAppTests.setUp(client, harness)
            var page = try await browser.get("/app/components")
            var csrf = try Browser.csrf(in: page)
            for (slug, name) in [("database", "Database"), ("api", "API")] {
                #expect(try await browser.post("/app/components", [("_csrf", csrf), ("slug", slug), ("name", name)]).status == .seeOther)
            }
            page = try await browser.get("/app/components/api")
            #expect(page.status == .ok)
            csrf = try Browser.csrf(in: page)
            let saved = try await browser.post(
                "/app/components/api", [("_csrf", csrf), ("name", "Public API"), ("group", "Core"), ("position", "3"), ("dependsOn", "database")])
            #expect(saved.status == .seeOther)
            let api = try #require(try await harness.database.component(slug: "api"))
            #expect(api.name == "Public API" && api.group == "Core" && api.position == 3 && api.dependsOn == ["database"])
            // A cycle is refused with its reason, and nothing changes.
            let cycle = try await browser.post("/app/components/database", [("_csrf", csrf), ("name", "Database"), ("dependsOn", "api")])
            #expect(cycle.headers[.location]?.contains("error=") == true)
            #expect(try await harness.database.component(slug: "database")?.dependsOn == [])
            // The database cannot go while the API depends on it.
            let refused = try await browser.post("/app/components/database/delete", [("_csrf", csrf)])
            #expect(refused.headers[.location]?.contains("error=") == true)
            #expect(try await browser.post("/app/components/api/delete", [("_csrf", csrf)]).headers[.location] == "/app/components")
            #expect(try await harness.database.components().map(\.slug) == ["database"])
        }
    }
}
