import BelayCore
import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct ChangesAPITests {
    /// aws-account (node) → bucket (node) → api → website; exports on api.
    static func addMap(_ client: any TestClientProtocol, _ harness: Harness) async throws {
        #expect(try await client.send(.put, "/api/v1/map/nodes/aws-account", token: harness.admin, json: ["name": "AWS account", "kind": "aws_account"]).status == .ok)
        let bucket = try await client.send(.put, "/api/v1/map/nodes/bucket", token: harness.admin, json: ["name": "Bucket", "kind": "s3_bucket", "dependsOn": ["aws-account"]])
        #expect(bucket.status == .ok, "\(bucket.text)")
        for component in [
            ["slug": "api", "name": "API", "dependsOn": ["bucket"]], ["slug": "website", "name": "Website", "dependsOn": ["api"]],
            ["slug": "exports", "name": "Exports", "dependsOn": ["api"]],
        ] as [[String: Any]] {
            let created = try await client.send(.post, "/api/v1/components", token: harness.admin, json: component)
            #expect(created.status == .created, "\(created.text)")
        }
    }

    @Test func changesAreRankedAsSuspectsWithReasons() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            try await Self.addMap(client, harness)
            let twoHoursAgo = BelayJSON.formatDate(harness.clock.now.addingTimeInterval(-7200))
            let policy = try await client.send(
                .post, "/api/v1/changes", token: harness.responder,
                json: ["kind": "security_policy", "summary": "Block public ACLs account-wide", "targets": ["aws-account"], "startedAt": twoHoursAgo, "tested": false])
            #expect(policy.status == .created, "\(policy.text)")
            _ = try await client.send(
                .post, "/api/v1/changes", token: harness.responder,
                json: ["kind": "deploy", "summary": "Website copy update", "targets": ["website"], "startedAt": twoHoursAgo, "reviewedBy": "sam", "tested": true])
            let declared = try await client.send(
                .post, "/api/v1/incidents", token: harness.responder, json: ["title": "Exports failing", "severity": "sev2", "components": [["slug": "exports"]]])
            let id = try #require(try declared.object()["id"] as? String)
            let report = try await client.send(.get, "/api/v1/incidents/\(id)/suspects", token: harness.viewer).object()
            let suspects = try #require(report["suspects"] as? [[String: Any]])
            #expect(suspects.first?["summary"] as? String == "Block public ACLs account-wide")
            let reasons = suspects.first?["reasons"] as? [String] ?? []
            #expect(reasons.contains("security_policy on aws-account, upstream of exports via bucket, api"), "\(reasons)")
            #expect(reasons.contains("not reviewed") && reasons.contains("2 h before impact"))
            #expect(report["possiblyAffected"] as? [String] == ["api", "website"])

            let radius = try await client.send(.get, "/api/v1/map/blast-radius/bucket", token: harness.viewer).object()
            #expect(radius["components"] as? [String] == ["api", "exports", "website"])
            let map = try #require(try await client.send(.get, "/api/v1/map", token: harness.viewer).object()["nodes"] as? [[String: Any]])
            #expect(map.count == 5)
        }
    }

    @Test func theChangeGuardStopsAChangeUpstreamOfAnOpenIncidentOrDuringAFreeze() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            try await Self.addMap(client, harness)
            let clear = try await client.send(.get, "/api/v1/changes/check?target=bucket", token: harness.viewer)
            #expect(clear.status == .ok)
            #expect(try clear.object()["ok"] as? Bool == true)
            _ = try await client.send(
                .post, "/api/v1/incidents", token: harness.responder, json: ["title": "Website down", "severity": "sev1", "components": [["slug": "website"]]])
            let held = try await client.send(.get, "/api/v1/changes/check?target=bucket", token: harness.viewer)
            #expect(held.status == .conflict)
            let reasons = try held.object()["reasons"] as? [String] ?? []
            #expect(reasons.first?.contains("\"Website down\" is open on website (downstream via api)") == true, "\(reasons)")
            // Something not upstream of the incident may go ahead.
            #expect(try await client.send(.get, "/api/v1/changes/check?target=exports", token: harness.viewer).status == .ok)
            let freeze = try await client.send(.post, "/api/v1/freezes", token: harness.admin, json: ["reason": "Black Friday"])
            #expect(freeze.status == .created)
            let frozen = try await client.send(.get, "/api/v1/changes/check?target=exports", token: harness.viewer)
            #expect(frozen.status == .conflict && frozen.text.contains("Black Friday"))
            #expect(try await client.send(.get, "/api/v1/changes/check?target=nowhere", token: harness.viewer).status == .notFound)
            #expect(try await client.send(.get, "/api/v1/changes/check", token: harness.viewer).status == .badRequest)
        }
    }

    @Test func badChangesAndMapEditsAreRefusedAndChangeNothing() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            try await Self.addMap(client, harness)
            #expect(try await client.send(.post, "/api/v1/changes", token: harness.responder, json: ["kind": "deploy", "summary": "x", "targets": ["nope"]]).status == .unprocessableContent)
            #expect(try await client.send(.post, "/api/v1/changes", token: harness.responder, json: ["kind": "yolo", "summary": "x", "targets": ["api"]]).status == .badRequest)
            #expect(try await client.send(.post, "/api/v1/changes", token: harness.viewer, json: ["kind": "deploy", "summary": "x", "targets": ["api"]]).status == .forbidden)
            // A node may not clash with a component, depend on a component, or close a cycle.
            #expect(try await client.send(.put, "/api/v1/map/nodes/api", token: harness.admin, json: ["name": "x", "kind": "service"]).status == .conflict)
            #expect(try await client.send(.put, "/api/v1/map/nodes/lb", token: harness.admin, json: ["name": "x", "kind": "load_balancer", "dependsOn": ["api"]]).status == .unprocessableContent)
            #expect(try await client.send(.put, "/api/v1/map/nodes/aws-account", token: harness.admin, json: ["name": "x", "kind": "aws_account", "dependsOn": ["bucket"]]).status == .unprocessableContent)
            #expect(try await client.send(.delete, "/api/v1/map/nodes/bucket", token: harness.admin).status == .conflict)
            #expect(try await harness.database.changes(from: .distantPast, to: .distantFuture, limit: 10).isEmpty)
            #expect(try await harness.database.mapNodes().map(\.dependsOn) == [[], ["aws-account"]])
        }
    }

    @Test func aPipelineRecordsAChangeWithAnIntegrationKey() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            let key = try await DetectAPITests.integration(client, harness)
            let recorded = try await client.send(
                .post, "/api/v1/integrations/\(key)/changes", token: nil,
                json: ["kind": "deploy", "summary": "Release 42", "targets": ["api"], "commit": "abc123", "sourceURL": "https://ci.example.com/run/42"])
            #expect(recorded.status == .created, "\(recorded.text)")
            #expect(try recorded.object()["author"] as? String == "prometheus")
            #expect(try await client.send(.post, "/api/v1/integrations/00000000000000000000000000000000/changes", token: nil, json: ["kind": "deploy", "summary": "x", "targets": ["api"]]).status == .notFound)
        }
    }

    @Test func theMapPageHighlightsABlastRadiusAndTheWarRoomShowsSuspects() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            var browser = try await WebAppTests.setUp(client, harness)
            try await Self.addMap(client, harness)
            _ = try await client.send(
                .post, "/api/v1/changes", token: harness.responder,
                json: ["kind": "config", "summary": "Bucket <policy> tightened", "targets": ["bucket"], "startedAt": BelayJSON.formatDate(harness.clock.now.addingTimeInterval(-600))])
            let map = String(buffer: try await browser.get("/app/map?node=bucket").body)
            #expect(map.contains("<svg class=\"map\""))
            #expect(map.contains("Blast radius of Bucket: 3 components"))
            #expect(map.contains("class=\"box node selected\"") && map.contains("class=\"box component hot\""))
            #expect(map.contains("bucket → api → website"))
            let changes = String(buffer: try await browser.get("/app/changes").body)
            #expect(changes.contains("Bucket &lt;policy&gt; tightened"))
            let declared = try await client.send(
                .post, "/api/v1/incidents", token: harness.responder, json: ["title": "Exports failing", "severity": "sev2", "components": [["slug": "exports"]]])
            let id = try #require(try declared.object()["id"] as? String)
            let room = String(buffer: try await browser.get("/app/incidents/\(id)").body)
            #expect(room.contains("Suspect changes") && room.contains("Bucket &lt;policy&gt; tightened"))
            #expect(room.contains("config on bucket, upstream of exports via api"))
            #expect(room.contains("Possibly affected"))
        }
    }
}
