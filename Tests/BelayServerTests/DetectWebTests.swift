import BelayCore
@testable import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct DetectWebTests {
    @Test func monitorPagesListAddAndChartAMonitor() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            var browser = try await WebAppTests.setUp(client, harness)
            try await IncidentAPITests.addComponents(client, token: harness.admin)
            let list = try await browser.get("/app/monitors")
            #expect(list.status == .ok)
            let added = try await browser.post(
                "/app/monitors",
                [("_csrf", try Browser.csrf(in: list)), ("name", "db <port>"), ("kind", "tcp"), ("target", "10.9.8.7:5432"), ("interval", "30"),
                 ("timeout", "5"), ("component", "database"), ("severity", "sev1")])
            #expect(added.status == .seeOther, "\(String(buffer: added.body))")
            let location = try #require(added.headers[.location])
            let id = try #require(Int64(location.split(separator: "/").last!))
            let monitor = try #require(try await harness.database.monitor(id: id))
            #expect(monitor.settings.host == "10.9.8.7" && monitor.settings.port == 5432 && monitor.component == "database" && monitor.severity == .sev1)

            let now = harness.clock.now
            try await harness.database.recordChecks(
                [.up, .down, .up].enumerated().map { index, outcome in
                    MonitorCheck(
                        result: CheckResult(monitorID: id, checkedAt: now.addingTimeInterval(Double(-index * 30)), outcome: outcome, latencyMs: outcome == .up ? 12 : nil, message: "m\(index)"),
                        state: MonitorState(status: .up, since: now), transition: nil)
                }, policy: harness.configuration.detect.signalPolicy, now: now)
            let detail = String(buffer: try await browser.get(location).body)
            #expect(detail.contains("db &lt;port&gt;"))
            #expect(detail.contains("<svg class=\"bars\""))
            #expect(detail.contains("66.67%"))
            // One hour measured: a line needs two, so the page gives the numbers in words.
            #expect(detail.contains("Not enough data yet"))
            #expect(detail.contains("average 12.0 ms"))

            let listed = String(buffer: try await browser.get("/app/monitors?q=port").body)
            #expect(listed.contains("10.9.8.7:5432"))
            #expect(!String(buffer: try await browser.get("/app/monitors?q=nothing-like-it").body).contains("10.9.8.7"))

            let paused = try await browser.post("\(location)/pause", [("_csrf", try Browser.csrf(in: try await browser.get(location)))])
            #expect(paused.status == .seeOther)
            #expect(try await harness.database.monitor(id: id)?.isPaused == true)
            let bad = try await browser.post("/app/monitors", [("_csrf", try Browser.csrf(in: list)), ("name", "x"), ("kind", "http"), ("target", "javascript:alert(1)")])
            #expect(bad.status == .seeOther && bad.headers[.location]?.contains("error=") == true)
        }
    }

    @Test func anAdminCreatesAnIntegrationAndSeesItsKeyOnce() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            var browser = try await WebAppTests.setUp(client, harness)
            try await IncidentAPITests.addComponents(client, token: harness.admin)
            let page = try await browser.get("/app/integrations")
            let created = try await browser.post(
                "/app/integrations",
                [("_csrf", try Browser.csrf(in: page)), ("name", "prometheus"), ("kind", "alertmanager"), ("severity", "sev2"), ("components", "api"),
                 ("rules", #"[{"match":{"team":"db"},"components":["database"],"severity":"sev1"}]"#)])
            #expect(created.status == .created)
            let text = String(buffer: created.body)
            let range = try #require(text.range(of: #"<code id="new-key">[0-9a-f]{32}</code>"#, options: .regularExpression))
            let key = String(text[range].dropFirst(#"<code id="new-key">"#.count).prefix(32))
            // The key works: an alert routed by the rule opens a sev1 incident on the database.
            let alert: [String: Any] = ["version": "4", "alerts": [["status": "firing", "labels": ["alertname": "DBDown", "team": "db"], "fingerprint": "f1"]]]
            #expect(try await client.send(.post, "/api/v1/integrations/\(key)/alertmanager", token: nil, json: alert).status == .ok)
            let incident = try #require(try await harness.database.incidents(IncidentQuery()).first)
            #expect(incident.severity == .sev1 && incident.impacts.map(\.slug) == ["database"])
            // The list never shows the key again, only its first characters.
            let again = String(buffer: try await browser.get("/app/integrations").body)
            #expect(!again.contains(key) && again.contains(String(key.prefix(6))))
            // The war room shows the signal and offers to hold the incident open.
            let room = String(buffer: try await browser.get("/app/incidents/\(incident.id)").body)
            #expect(room.contains("DBDown") && room.contains("Hold open"))
            let held = try await browser.post("/app/incidents/\(incident.id)/hold", [("_csrf", try Browser.csrf(in: try await browser.get("/app/incidents/\(incident.id)"))), ("hold", "true")])
            #expect(held.status == .seeOther)
            #expect(try await harness.database.incident(id: incident.id)?.holdOpen == true)
        }
    }
}
