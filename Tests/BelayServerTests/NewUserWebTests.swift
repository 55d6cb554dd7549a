import BelayCore
@testable import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The web app's side of what a new user tripped over: an internal incident is made public with words for the
/// public (and offers no "public update" before), and the monitor page says what the public will see.
@Suite struct NewUserWebTests {
    @Test func anInternalIncidentOffersNoPublicUpdateAndIsMadePublicWithItsFirstWords() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, publisher in
            var browser = try await WebAppTests.setUp(client, harness)
            let form = try await browser.get("/app/incidents/new")
            let declared = try await browser.post(
                "/app/incidents", [("_csrf", try Browser.csrf(in: form)), ("title", "Disk filling on db-2"), ("severity", "sev3"), ("internal", "1")])
            let room = try #require(declared.headers[.location])
            var page = String(buffer: try await browser.get(room).body)
            #expect(!page.contains("Post a public update"))
            #expect(page.contains("Make public"))
            let csrf = try #require(page.range(of: #"name="_csrf" value="[^"]*""#, options: .regularExpression).map {
                String(page[$0].dropFirst(#"name="_csrf" value=""#.count).dropLast())
            })
            let empty = try await browser.post("\(room)/visibility", [("_csrf", csrf), ("public", "true"), ("message", " ")])
            #expect(empty.headers[.location]?.contains("error=") == true)
            #expect(try await harness.database.incidents(.init()).first?.isPublic == false)

            let published = try await browser.post("\(room)/visibility", [("_csrf", csrf), ("public", "true"), ("message", "Uploads may be slow")])
            #expect(published.headers[.location] == room)
            let incident = try #require(try await harness.database.incidents(.init()).first)
            #expect(incident.isPublic && incident.updates.last?.body == "Uploads may be slow")
            page = String(buffer: try await browser.get(room).body)
            #expect(page.contains("Post a public update") && page.contains("Make internal"))
            try await publisher.rebuild()
            #expect(String(buffer: try await client.execute(uri: "/incidents/\(incident.id)", method: .get).body).contains("Uploads may be slow"))

            #expect(try await browser.post("\(room)/visibility", [("_csrf", csrf), ("public", "false")]).headers[.location] == room)
            #expect(try await harness.database.incidents(.init()).first?.isPublic == false)
            #expect(try await browser.post("\(room)/visibility", [("_csrf", csrf), ("public", "maybe")]).headers[.location]?.contains("error=") == true)
        }
    }

    @Test func theMonitorPageSaysWhatThePublicWillSeeAndShowsAConfigurationProblem() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            var browser = try await WebAppTests.setUp(client, harness)
            let now = harness.clock.now
            _ = try await harness.database.createComponent(Component(slug: "api", name: "Public API", createdAt: now, updatedAt: now))
            var monitor = try await harness.database.createMonitor(
                Monitor(name: "api health", kind: .http, settings: MonitorSettings(url: "https://api.example.com/health"), component: "api", createdAt: now, updatedAt: now))
            var page = String(buffer: try await browser.get("/app/monitors/\(monitor.id)").body)
            #expect(page.contains("nothing until a responder makes the incident public"))
            #expect(!page.contains("Configuration problem"))

            _ = try await harness.database.updateComponent(slug: "api") { $0.automaticIncidentsPublic = true }
            monitor.state.configurationProblem = "10.0.0.1 is refused by the egress policy (denied by 10.0.0.0/8)"
            try await harness.database.recordChecks([MonitorCheck(monitorID: monitor.id, state: monitor.state)], policy: SignalPolicy(), now: now)
            page = String(buffer: try await browser.get("/app/monitors/\(monitor.id)").body)
            #expect(page.contains("the incident at once, with Public API shown as impaired"))
            #expect(page.contains("Configuration problem") && page.contains("denied by 10.0.0.0/8"))
        }
    }
}
