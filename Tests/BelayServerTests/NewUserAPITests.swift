import BelayCore
import BelayFormats
import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// What a new user tripped over, through the API: a refused monitor target, reopening in public, components
/// whose automatic incidents are public, and a more severe alert joining an incident.
@Suite struct NewUserAPITests {
    @Test func aMonitorWhoseTargetTheEgressPolicyRefusesIsNotSaved() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            for (kind, settings, field) in [
                ("http", ["url": "http://127.0.0.1:8080/health"], "settings.url"),
                ("http", ["url": "http://169.254.169.254/latest/meta-data/"], "settings.url"),
                ("tcp", ["host": "127.0.0.1", "port": 5432] as [String: Any], "settings.host"),
                ("tls", ["host": "[::1]"], "settings.host"),
            ] as [(String, [String: Any], String)] {
                let refused = try await client.send(
                    .post, "/api/v1/monitors", token: harness.responder, json: ["name": "local", "kind": kind, "settings": settings])
                #expect(refused.status == .unprocessableContent, "\(kind) \(settings): \(refused.text)")
                #expect(refused.text.contains("refused by the egress policy") && refused.text.contains(field) && refused.text.contains("--egress-allow"))
            }
            #expect((try await client.send(.get, "/api/v1/monitors", token: harness.viewer).object()["monitors"] as? [Any])?.isEmpty == true)

            let saved = try await client.send(
                .post, "/api/v1/monitors", token: harness.responder, json: ["name": "db", "kind": "tcp", "settings": ["host": "10.0.0.1", "port": 5432]])
            #expect(saved.status == .created, "\(saved.text)")
            let id = try #require(try saved.object()["id"] as? Int)
            let moved = try await client.send(.patch, "/api/v1/monitors/\(id)", token: harness.responder, json: ["settings": ["host": "127.0.0.1", "port": 5432]])
            #expect(moved.status == .unprocessableContent, "\(moved.text)")
            let kept = try await client.send(.get, "/api/v1/monitors/\(id)", token: harness.viewer).object()
            #expect((kept["settings"] as? [String: Any])?["host"] as? String == "10.0.0.1")
        }
    }

    @Test func anAllowedNetworkMayBeMonitored() async throws {
        let harness = try await Harness.make { configuration in configuration.egress.allow = (try? CIDR.parseList("127.0.0.0/8")) ?? [] }
        try await harness.run { client, _ in
            let saved = try await client.send(
                .post, "/api/v1/monitors", token: harness.responder, json: ["name": "local", "kind": "http", "settings": ["url": "http://127.0.0.1:9/"]])
            #expect(saved.status == .created, "\(saved.text)")
        }
    }

    @Test func reopeningAPublicIncidentPostsItsReasonPublicly() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let id = try await IncidentAPITests.resolvedIncident(client, harness)
            let reopened = try await client.send(
                .post, "/api/v1/incidents/\(id)/reopen", token: harness.responder, json: ["reason": "Errors are back", "status": "identified"])
            #expect(reopened.status == .ok, "\(reopened.text)")
            let updates = try #require(try reopened.object()["updates"] as? [[String: Any]])
            #expect(updates.last?["message"] as? String == "Errors are back")
            #expect(updates.last?["status"] as? String == "identified")
        }
    }

    @Test func aComponentMayMakeItsAutomaticIncidentsPublicAndASevereAlertRaisesSeverity() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            try await IncidentAPITests.addComponents(client, token: harness.admin)
            let created = try await client.send(
                .post, "/api/v1/integrations", token: harness.admin,
                json: ["name": "ci", "kind": "generic", "routing": ["defaultComponents": ["api"], "defaultSeverity": "sev2"]])
            let key = try #require(try created.object()["key"] as? String, "\(created.text)")
            let component = try await client.send(.get, "/api/v1/components/api", token: harness.viewer).object()
            #expect(component["automaticIncidentsPublic"] as? Bool == false)
            let patched = try await client.send(.patch, "/api/v1/components/api", token: harness.admin, json: ["automaticIncidentsPublic": true])
            #expect(try patched.object()["automaticIncidentsPublic"] as? Bool == true)

            func send(_ name: String, severity: String) async throws {
                let event = ["dedupKey": name, "action": "trigger", "summary": "\(name) failing", "severity": severity, "component": "api"]
                let response = try await client.send(.post, "/api/v1/integrations/\(key)/events", token: nil, json: event)
                #expect(response.status == .accepted || response.status == .ok, "\(response.text)")
            }
            try await send("latency", severity: "warning")
            var incidents: [[String: Any]] = []
            for _ in 0..<200 where incidents.isEmpty {
                incidents = try await DetectAPITests.incidents(client, harness)
                if incidents.isEmpty { try await Task.sleep(for: .milliseconds(25)) }
            }
            let opened = try #require(incidents.first)
            #expect(opened["isPublic"] as? Bool == true)
            let severity = try #require(opened["severity"] as? String)
            try await send("outage", severity: "critical")
            var raised: [String: Any] = [:]
            for _ in 0..<200 {
                raised = try await client.send(.get, "/api/v1/incidents/\(opened["id"] ?? "")", token: harness.viewer).object()
                if raised["severity"] as? String == "sev1" { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(severity != "sev1")
            #expect(raised["severity"] as? String == "sev1")
            let timeline = try await client.send(.get, "/api/v1/incidents/\(opened["id"] ?? "")/timeline", token: harness.viewer).text
            #expect(timeline.contains("Severity raised from \(severity) to sev1"))
        }
    }
}
