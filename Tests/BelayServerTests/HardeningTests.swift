import BelayCore
import BelaySQLite
@testable import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// What an outside probe found: each test here failed on the server before it was hardened.
@Suite struct HardeningTests {
    static func form(_ client: any TestClientProtocol, _ path: String, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: path, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: body))
    }

    static func nested(_ depth: Int) -> String {
        String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)
    }

    @Test func aMalformedFormBodyIsA400AndTheServerKeepsAnswering() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            // "email=a b" killed the whole process: URLComponents trapped on the raw body. Bytes a browser would
            // have escaped are read as they came (the WHATWG rule), so such a form goes on to its CSRF check.
            for path in ["/app/sign-in", "/app/setup"] {
                for body in ["email=a b", "email=\"x\"&password={}", "{", "a=<b>|"] {
                    let answer = try await Self.form(client, path, body)
                    #expect(answer.status == .forbidden, "\(path) \(body): \(answer.status)")
                }
                for body in ["a=%", "a=%zz", "email=%FF%FE", "x=%00", "x=%1B[2J"] {
                    let answer = try await Self.form(client, path, body)
                    #expect(answer.status == .badRequest, "\(path) \(body): \(answer.status)")
                    #expect(String(buffer: answer.body).contains("The form could not be read") || String(buffer: answer.body).contains("the form could not be read"))
                }
            }
            #expect(try await client.send(.get, "/", token: nil).status == .ok)
        }
    }

    @Test func anUnknownIntegrationKeyIsRefusedBeforeTheBodyIsRead() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let unknown = "0123456789abcdef0123456789abcdef"
            for path in ["/api/v1/integrations/\(unknown)/alertmanager", "/api/v1/integrations/\(unknown)/events"] {
                // Not even JSON: the key decides first.
                let answer = try await client.send(.post, path, token: nil, json: Self.nested(10_000))
                #expect(answer.status == .notFound && answer.errorCode == "not_found", "\(path): \(answer.status)")
            }
            // PagerDuty's key is in the body: a deep body is refused for its shape, never decoded whole.
            let deep = "{\"routing_key\":\"\(unknown)\",\"event_action\":\"trigger\",\"payload\":{\"custom_details\":\(Self.nested(500))}}"
            let pd = try await client.send(.post, "/v2/enqueue", token: nil, json: deep)
            #expect(pd.status == .badRequest)
            #expect(try (pd.object()["errors"] as? [String])?.first?.contains("nests deeper than 64") == true)
            let shallow = try await client.send(.post, "/v2/enqueue", token: nil, json: ["routing_key": unknown, "event_action": "trigger"])
            #expect(shallow.status == .notFound)
            #expect(try shallow.object()["errors"] as? [String] == ["Invalid routing key"])
        }
    }

    @Test func jsonNestedTooDeepIsRefusedOnEveryRoute() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let key = try await DetectAPITests.integration(client, harness)
            for path in ["/api/v1/integrations/\(key)/alertmanager", "/api/v1/integrations/\(key)/events", "/api/v1/incidents", "/api/v1/components"] {
                let answer = try await client.send(.post, path, token: harness.admin, json: Self.nested(10_000))
                #expect(answer.status == .badRequest, "\(path): \(answer.status) \(answer.text.prefix(200))")
                #expect(answer.text.contains("nests deeper than 64 levels"), "\(path)")
            }
            #expect(try await harness.database.signals(SignalQuery()).isEmpty)
        }
    }

    @Test func aDeliveryOverTheAlertLimitIsRefusedWhole() async throws {
        let harness = try await Harness.make { $0.detect.maxAlertsPerDelivery = 5 }
        try await harness.run { client, _ in
            let key = try await DetectAPITests.integration(client, harness)
            func delivery(_ count: Int) -> [String: Any] {
                var payload = DetectAPITests.alertmanagerPayload(status: "firing", startsAt: BelayJSON.formatDate(harness.clock.now))
                let alert = (payload["alerts"] as! [[String: Any]])[0]
                payload["alerts"] = (0..<count).map { index in alert.merging(["fingerprint": "f\(index)"]) { $1 } }
                return payload
            }
            let over = try await client.send(.post, "/api/v1/integrations/\(key)/alertmanager", token: nil, json: delivery(6))
            #expect(over.status == .contentTooLarge && over.errorCode == "too_many_alerts")
            #expect(over.text.contains("max_alerts"))
            #expect(try await harness.database.signals(SignalQuery()).isEmpty)
            let within = try await client.send(.post, "/api/v1/integrations/\(key)/alertmanager", token: nil, json: delivery(5))
            #expect(within.status == .ok, "\(within.text)")
            #expect(try await harness.database.signals(SignalQuery()).count == 5)
        }
    }

    @Test func aCatastrophicRoutingPatternGivesUpAndMatchesNothing() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            // Without a budget this pattern against 28 "a"s backtracks for minutes inside the write transaction.
            let routing: [String: Any] = [
                "rules": [["match": ["alertname": "/(a+)+b/"], "components": ["database"]]], "defaultComponents": ["api"], "defaultSeverity": "sev3",
            ]
            let key = try await DetectAPITests.integration(client, harness, routing: routing)
            var payload = DetectAPITests.alertmanagerPayload(status: "firing", startsAt: BelayJSON.formatDate(harness.clock.now))
            var alert = (payload["alerts"] as! [[String: Any]])[0]
            alert["labels"] = ["alertname": String(repeating: "a", count: 28)]
            payload["alerts"] = [alert]
            let answer = try await client.send(.post, "/api/v1/integrations/\(key)/alertmanager", token: nil, json: payload)
            #expect(answer.status == .ok, "\(answer.text)")
            let signal = try #require(try await harness.database.signals(SignalQuery()).first)
            #expect(signal.components == ["api"])
        }
    }

    @Test func linksFromSendersAreStoredOnlyWhenTheyAreHTTP() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let key = try await DetectAPITests.integration(client, harness)
            var payload = DetectAPITests.alertmanagerPayload(status: "firing", startsAt: BelayJSON.formatDate(harness.clock.now))
            var alert = (payload["alerts"] as! [[String: Any]])[0]
            alert["generatorURL"] = "javascript:alert(document.cookie)"
            payload["alerts"] = [alert]
            #expect(try await client.send(.post, "/api/v1/integrations/\(key)/alertmanager", token: nil, json: payload).status == .ok)
            let pd = try await client.send(
                .post, "/v2/enqueue", token: nil,
                json: [
                    "routing_key": key, "event_action": "trigger", "dedup_key": "pd-1",
                    "payload": ["summary": "Disk full", "source": "db-1", "severity": "error"],
                    "links": [["href": "javascript:alert(1)", "text": "x"], ["href": "https://runbooks.example.com/disk", "text": "runbook"]],
                    "client": "monitor", "client_url": "data:text/html,<script>alert(1)</script>",
                ])
            #expect(pd.status == .accepted, "\(pd.text)")
            let signals = try await harness.database.signals(SignalQuery())
            #expect(signals.count == 2)
            #expect(signals.flatMap(\.links).map(\.href) == ["https://runbooks.example.com/disk"])
            let generic = try await client.send(
                .post, "/api/v1/integrations/\(key)/events", token: nil,
                json: ["summary": "x", "links": [["href": " javascript:alert(1)"]]])
            #expect(generic.status == .badRequest && generic.text.contains("links[0].href"))
        }
    }

    @Test func everyFormatRefusesControlCharactersAndOversizedFields() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let key = try await DetectAPITests.integration(client, harness)
            func pd(_ payload: [String: Any]) async throws -> TestResponse {
                let base: [String: Any] = ["summary": "Disk full", "source": "db-1", "severity": "error"]
                return try await client.send(
                    .post, "/v2/enqueue", token: nil,
                    json: ["routing_key": key, "event_action": "trigger", "payload": base.merging(payload) { $1 }])
            }
            #expect(try await pd(["summary": "nul \u{0} here"]).status == .badRequest)
            #expect(try await pd(["source": "esc \u{1B}[31m"]).status == .badRequest)
            #expect(try await pd(["component": "evil\u{202E}gnp.exe"]).status == .badRequest)
            #expect(try await pd(["source": String(repeating: "s", count: 8 << 20)]).status == .badRequest)
            #expect(try await pd(["custom_details": ["key\u{7}": "bell"]]).status == .badRequest)
            #expect(try await pd(["custom_details": ["big": String(repeating: "d", count: 70_000)]]).status == .badRequest)

            var payload = DetectAPITests.alertmanagerPayload(status: "firing", startsAt: BelayJSON.formatDate(harness.clock.now))
            var alert = (payload["alerts"] as! [[String: Any]])[0]
            alert["annotations"] = ["description": String(repeating: "x", count: 1 << 20)]
            payload["alerts"] = [alert]
            #expect(try await client.send(.post, "/api/v1/integrations/\(key)/alertmanager", token: nil, json: payload).status == .badRequest)

            let generic = "/api/v1/integrations/\(key)/events"
            #expect(try await client.send(.post, generic, token: nil, json: ["summary": "x", "component": "a\u{0}b"]).status == .badRequest)
            #expect(try await client.send(.post, generic, token: nil, json: ["summary": "x", "details": String(repeating: "d", count: 70_000)]).status == .badRequest)
            #expect(try await harness.database.signals(SignalQuery()).isEmpty)
        }
    }

    @Test func heartbeatTokensAreShownOnceStoredHashedAndRotate() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let created = try await client.send(
                .post, "/api/v1/monitors", token: harness.responder, json: ["name": "nightly backup", "kind": "heartbeat", "intervalSeconds": 86400])
            let body = try created.object()
            let url = try #require(body["heartbeatURL"] as? String)
            let id = try #require(body["id"] as? Int)
            let path = String(url.dropFirst("https://status.example.com".count))
            let token = String(path.split(separator: "/").last ?? "")
            let stored = try #require(try await harness.database.monitor(id: Int64(id)))
            #expect(stored.heartbeatTokenHash == TokenSecrets.hash(token))
            #expect(stored.heartbeatTokenHash != token)
            // Nobody reading the monitor later sees the token, whatever their role.
            for reader in [harness.viewer, harness.responder, harness.admin] {
                let shown = try await client.send(.get, "/api/v1/monitors/\(id)", token: reader)
                #expect(try shown.object()["heartbeatURL"] == nil)
                #expect(!shown.text.contains(token))
                #expect(!(try await client.send(.get, "/api/v1/monitors", token: reader).text.contains(token)))
            }
            #expect(try await client.send(.post, path, token: nil).status == .ok)

            #expect(try await client.send(.post, "/api/v1/monitors/\(id)/rotate-heartbeat", token: harness.viewer).status == .forbidden)
            let rotated = try await client.send(.post, "/api/v1/monitors/\(id)/rotate-heartbeat", token: harness.responder)
            let newURL = try #require(try rotated.object()["heartbeatURL"] as? String)
            #expect(newURL != url)
            #expect(try await client.send(.post, path, token: nil).status == .notFound)
            #expect(try await client.send(.post, String(newURL.dropFirst("https://status.example.com".count)), token: nil).status == .ok)
        }
    }

    @Test func onlyAdminsMakeCertificateFileMonitorsAndOnlyUnderTheDirectory() async throws {
        let harness = try await Harness.make { $0.detect.certificateDirectory = "/etc/belay/certs" }
        try await harness.run { client, _ in
            func create(_ path: String, _ token: String) async throws -> TestResponse {
                try await client.send(.post, "/api/v1/monitors", token: token, json: ["name": "cert", "kind": "certificate_file", "settings": ["path": path]])
            }
            let responder = try await create("/etc/belay/certs/api.pem", harness.responder)
            #expect(responder.status == .unprocessableContent && responder.text.contains("only an admin"))
            for outside in ["/etc/shadow", "/etc/belay/certs/../../shadow", "/etc/belay/certsX/a.pem"] {
                let answer = try await create(outside, harness.admin)
                #expect(answer.status == .unprocessableContent && answer.text.contains("must be a file under /etc/belay/certs"), "\(outside)")
            }
            #expect(try await create("/etc/belay/certs/api.pem", harness.admin).status == .created)
        }
        let closed = try await Harness.make()
        try await closed.run { client, _ in
            let answer = try await client.send(
                .post, "/api/v1/monitors", token: closed.admin, json: ["name": "cert", "kind": "certificate_file", "settings": ["path": "/etc/hostname"]])
            #expect(answer.status == .unprocessableContent && answer.text.contains("--certificate-dir"))
        }
    }

    @Test func anInvitationLinkNeedsAKnownOrigin() async throws {
        let harness = try await Harness.make { $0.http.publicURL = nil }
        try await harness.run { client, _ in
            var admin = try await WebAppTests.setUp(client, harness)
            let users = try await admin.get("/app/users")
            var headers = admin.cookieHeader
            headers[.contentType] = "application/x-www-form-urlencoded"
            let fields = "_csrf=\(try Browser.csrf(in: users))&name=Lee&email=lee%40example.com&role=responder"
            // Without --public-url and with no verified listening address (LinkOriginTests has the Host cases).
            let refused = try await client.execute(uri: "/app/users", method: .post, headers: headers, body: ByteBuffer(string: fields))
            #expect(refused.status == .seeOther)
            #expect(refused.headers[.location]?.removingPercentEncoding?.contains("--public-url") == true)
            #expect(try await harness.database.user(email: "lee@example.com") == nil)
        }
    }

    @Test func theWarRoomStreamEndsWhenTheSessionDoes() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            var browser = try await WebAppTests.setUp(client, harness)
            let declared = try await client.send(.post, "/api/v1/incidents", token: harness.responder, json: ["title": "Checkout failing", "severity": "sev1"])
            let id = try #require(try declared.object()["id"] as? String)
            let cookies = browser.cookieHeader
            async let stream = client.execute(uri: "/app/incidents/\(id)/events", method: .get, headers: cookies)
            try await Task.sleep(for: .milliseconds(200))
            let home = try await browser.get("/app")
            #expect(try await browser.post("/app/sign-out", [("_csrf", try Browser.csrf(in: home))]).status == .seeOther)
            let events = try await stream
            #expect(String(buffer: events.body).contains("event: ended"))
        }
    }
}

@Suite struct SignInThrottleTests {
    @Test func concurrentAttemptsGetNoMoreChecksThanTheLimit() async throws {
        let throttle = SignInThrottle(store: try AppDatabase.inMemory(), limit: 10, window: 900)
        let now = Date()
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<40 { group.addTask { (try? await throttle.admit(account: "dana@example.com", client: "203.0.113.7", now: now)) != nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 10)
    }

    @Test func aGuesserElsewhereCannotLockTheOwnerOut() async throws {
        let throttle = SignInThrottle(store: try AppDatabase.inMemory(), limit: 10, window: 900)
        let now = Date()
        for _ in 0..<10 { _ = try await throttle.admit(account: "dana@example.com", client: "203.0.113.7", now: now) }
        #expect(try await throttle.admit(account: "dana@example.com", client: "203.0.113.7", now: now) == nil)
        let owner = try await throttle.admit(account: "dana@example.com", client: "198.51.100.2", now: now)
        #expect(owner != nil)
        // A success gives its slot back and forgets the pair's failures.
        if let owner { try await throttle.succeeded(owner) }
        for _ in 0..<10 { #expect(try await throttle.admit(account: "dana@example.com", client: "198.51.100.2", now: now) != nil) }
        // Fifteen minutes later the guesser may try again.
        #expect(try await throttle.admit(account: "dana@example.com", client: "203.0.113.7", now: now.addingTimeInterval(901)) != nil)
    }

    @Test func oneClientSprayingManyAccountsIsLimitedToo() async throws {
        let throttle = SignInThrottle(store: try AppDatabase.inMemory(), limit: 10, window: 900, clientLimit: 20)
        let now = Date()
        var admitted = 0
        for index in 0..<100 where try await throttle.admit(account: "user\(index)@example.com", client: "203.0.113.7", now: now) != nil { admitted += 1 }
        #expect(admitted == 20)
    }

    @Test func anIPv6ClientIsCountedByIts64() {
        #expect(SignInThrottle.clientKey("2001:db8:1:2::1") == SignInThrottle.clientKey("2001:db8:1:2:ffff::9"))
        #expect(SignInThrottle.clientKey("2001:db8:1:2::1") != SignInThrottle.clientKey("2001:db8:1:3::1"))
        #expect(SignInThrottle.clientKey("::ffff:203.0.113.7") == "203.0.113.7")
        #expect(SignInThrottle.clientKey(nil) == "unknown")
    }
}

@Suite struct LinkOriginTests {
    func origin(publicURL: String? = nil, listen: String = "127.0.0.1", port: Int? = 8080) -> LinkOrigin {
        let bound = BoundPort()
        if let port { bound.set(port) }
        var configuration = ServerConfiguration()
        configuration.http.host = listen
        configuration.http.port = port ?? 0
        configuration.http.publicURL = publicURL
        return LinkOrigin(publicURL: publicURL, baseURL: configuration.baseURL, listenHost: listen, boundPort: bound)
    }

    @Test func theConfiguredPublicAddressAlwaysWins() {
        #expect(origin(publicURL: "https://status.example.com/").resolve(authority: "evil.example") == .origin("https://status.example.com"))
    }

    @Test func aHostNamingTheListeningAddressIsTrusted() {
        #expect(origin().resolve(authority: "127.0.0.1:8080") == .origin("http://127.0.0.1:8080"))
        #expect(origin().resolve(authority: "localhost:8080") == .origin("http://localhost:8080"))
        #expect(origin(listen: "belay.internal").resolve(authority: "belay.internal:8080") == .origin("http://belay.internal:8080"))
    }

    @Test(arguments: ["evil.example", "evil.example:8080", "127.0.0.1:9999", "127.0.0.1", ""])
    func anyOtherHostIsRefusedWithTheReason(authority: String) {
        guard case .refused(let reason) = origin().resolve(authority: authority) else {
            Issue.record("\(authority) was trusted")
            return
        }
        #expect(reason.contains("--public-url"))
    }

    @Test func beforeTheServerListensNothingIsTrusted() {
        #expect(origin(port: nil).resolve(authority: "127.0.0.1:8080") != .origin("http://127.0.0.1:8080"))
        #expect(origin(listen: "0.0.0.0").resolve(authority: "203.0.113.9:8080") != .origin("http://203.0.113.9:8080"))
    }
}

@Suite struct LogRedactionTests {
    @Test(arguments: [
        ("/api/v1/integrations/0123456789abcdef/alertmanager", "/api/v1/integrations/[redacted]/alertmanager"),
        ("/api/v1/integrations/0123456789abcdef/events", "/api/v1/integrations/[redacted]/events"),
        ("/api/v1/integrations/0123456789abcdef/changes", "/api/v1/integrations/[redacted]/changes"),
        ("/api/v1/heartbeats/secret-token", "/api/v1/heartbeats/[redacted]"),
        ("/app/invite/secret-token", "/app/invite/[redacted]"),
        ("/api/v1/integrations/12", "/api/v1/integrations/12"),
        ("/api/v1/integrations/12/rotate-key", "/api/v1/integrations/12/rotate-key"),
        ("/api/v1/incidents/4", "/api/v1/incidents/4"),
    ])
    func secretSegmentsAreReplaced(path: String, logged: String) {
        #expect(LogRedaction.path(path) == logged)
    }
}
