import BelayCore
import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct EventsAPITests {
    /// A responder's writes through the API and an admin's through the web of tokens all land in the log, each
    /// with its actor; paging with `after` returns every event once; nothing secret is in it.
    @Test func theLogRecordsEveryWriteWithItsActorAndPagesWithoutRepeats() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            try await IncidentAPITests.addComponents(client, token: harness.admin)
            let id = try #require(try await client.send(
                .post, "/api/v1/incidents", token: harness.responder,
                json: ["title": "Errors", "severity": "sev2", "components": [["slug": "api", "impact": "major_outage"]], "message": "Looking"]
            ).object()["id"] as? String)
            #expect(try await client.send(.post, "/api/v1/incidents/\(id)/resolve", token: harness.responder).status == .ok)
            let token = try await client.send(.post, "/api/v1/tokens", token: harness.admin, json: ["name": "ci", "role": "viewer"])
            let secret = try #require(try token.object()["token"] as? String)

            var events: [[String: Any]] = []
            var after = 0
            while true {
                let page = try await client.send(.get, "/api/v1/events?after=\(after)&limit=3", token: harness.admin)
                #expect(page.status == .ok, "\(page.text)")
                #expect(!page.text.contains(secret))
                let object = try page.object()
                let batch = try #require(object["events"] as? [[String: Any]])
                guard !batch.isEmpty else {
                    #expect(object["next"] as? Int == after)
                    break
                }
                events += batch
                after = try #require(object["next"] as? Int)
            }
            let sequences = events.compactMap { $0["sequence"] as? Int }
            #expect(sequences == sequences.sorted() && Set(sequences).count == sequences.count)
            let types = events.compactMap { $0["type"] as? String }
            #expect(types.filter { $0 == "component.created" }.count == 3)
            let incident = events.filter { ($0["subject"] as? [String: Any])?["id"] as? String == id && ($0["subject"] as? [String: Any])?["kind"] as? String == "incident" }
            #expect(incident.compactMap { $0["type"] as? String } == [
                "incident.declared", "incident.update_posted", "incident.status_changed",
            ])
            for event in incident {
                let actor = try #require(event["actor"] as? [String: Any])
                #expect(actor["kind"] as? String == "token")
                #expect(actor["name"] as? String == "responder")
            }
            let statuses = events.filter { $0["type"] as? String == "component.status_changed" }.compactMap { $0["data"] as? [String: Any] }
            #expect(statuses.count == 2, "major outage, then operational again: \(statuses)")
            #expect(types.last == "token.created")
        }
    }

    @Test func badPagingIsA400AndOnlyAdminsMayRead() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            for query in ["after=-1", "after=x", "limit=0", "limit=1001", "limit=ten"] {
                let response = try await client.send(.get, "/api/v1/events?\(query)", token: harness.admin)
                #expect(response.status == .badRequest, "\(query): \(response.text)")
            }
            // A reader behind the retention is told, not left to skip what was pruned.
            _ = try await client.send(.post, "/api/v1/components", token: harness.admin, json: ["slug": "api", "name": "API"])
            _ = try await harness.database.pruneEvents(before: Date().addingTimeInterval(60))
            let pruned = try await harness.database.prunedThrough()
            #expect(pruned > 0)
            let gone = try await client.send(.get, "/api/v1/events?after=0", token: harness.admin)
            #expect(gone.status == .gone, "\(gone.text)")
            #expect(gone.text.contains("events_pruned") && gone.text.contains("after=\(pruned)"))
            #expect(try await client.send(.get, "/api/v1/events?after=\(pruned)", token: harness.admin).status == .ok)
            #expect(try await client.send(.get, "/api/v1/events", token: harness.responder).status == .forbidden)
            #expect(try await client.send(.get, "/api/v1/events", token: nil).status == .unauthorized)
        }
    }
}
